"""ONNX export: a fitted model, preprocessing included, as one ONNX graph.

:func:`to_onnx` converts; :func:`onnx_inputs` builds the graph's inputs from
``X``. Only ``_export`` and ``_inputs`` are imported with the package: the other modules
import onnx, skl2onnx and torch's exporter, which the ``onnx`` extra installs.
"""

from ._export import to_onnx
from ._inputs import onnx_inputs

__all__ = ["onnx_inputs", "to_onnx"]
