"""MultiTaskEstimator as a skl2onnx operator: its parser, shape calculator and converter.

Registered with skl2onnx (:func:`register`), the estimator converts like any
scikit-learn model, alone or as the last step of a Pipeline: skl2onnx converts
the preprocessing, then :func:`convert` adds the estimator's own encoding of
``X`` (:mod:`._encoder`), the network with each task's decoding
(:mod:`._network`) and the class labels. The graph's outputs, declared by the
parser, are per task ``<task>`` (labels, a multilabel task's 0/1 matrix, or
values in the target's units), for a classification task
``<task>_proba`` and for a quantile regression task ``<task>_quantiles``.
"""

import numpy as np
from onnx import TensorProto

from .._estimator import MultiTaskEstimator
from ._encoder import encode_features
from ._network import TaskPredictions, export_network, insert_graph, output_kind

ALIAS = "SklearnMtlMultiTaskEstimator"


def register():
    """Register the estimator's parser, shape calculator and converter with skl2onnx."""
    from skl2onnx import update_registered_converter

    update_registered_converter(MultiTaskEstimator, ALIAS, _shapes, convert, parser=_parse)


def output_names(estimator):
    """The graph's output names, in order: ``<task>``, then ``_proba`` or ``_quantiles`` if any."""
    return [name for name, _ in _outputs(estimator)]


def _outputs(estimator):
    """``(name, skl2onnx type)`` of each output of the graph, in task order."""
    from skl2onnx.common.data_types import DoubleTensorType, Int64TensorType

    outputs = []
    for name, task in estimator._predictor.tasks.items():
        kind = output_kind(name, task)
        if kind == "values":
            outputs.append((name, DoubleTensorType([None])))
            if task.quantiles is not None:
                outputs.append((f"{name}_quantiles", DoubleTensorType([None, len(task.quantiles)])))
            continue
        width = len(estimator.classes_[name])
        if kind == "multilabel":
            outputs.append((name, Int64TensorType([None, width])))
        else:
            classes, _ = _labels(name, estimator.classes_[name])
            outputs.append((name, _tensor_type(classes)([None])))
        outputs.append((f"{name}_proba", DoubleTensorType([None, width])))
    return outputs


def _labels(name, classes):
    """A task's classes as an array ONNX can hold, and its ONNX element type."""
    values = np.array(list(classes))
    kind = values.dtype.kind
    if kind in "US" or (kind == "O" and all(isinstance(v, str) for v in values)):
        return values.astype(str).astype(object), TensorProto.STRING
    if kind == "b":
        return values, TensorProto.BOOL
    if kind in "iu":
        return values.astype(np.int64), TensorProto.INT64
    if kind == "f":
        return values.astype(np.float64), TensorProto.DOUBLE
    raise ValueError(
        f"to_onnx: the classes of task {name!r} are {list(classes)[:5]} (dtype "
        f"{values.dtype}); ONNX labels are strings, integers, booleans or floats. Refit "
        "with labels of one of these types."
    )


def _tensor_type(values):
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        Int64TensorType,
        StringTensorType,
    )

    return {"O": StringTensorType, "b": BooleanTensorType, "i": Int64TensorType}.get(
        values.dtype.kind, DoubleTensorType
    )


def _parse(scope, model, inputs, custom_parsers=None):
    """Declare the operator: the inputs it reads, an output variable per graph output."""
    operator = scope.declare_local_operator(ALIAS, model)
    operator.inputs = list(inputs)
    for name, tensor_type in _outputs(model):
        operator.outputs.append(scope.declare_local_variable(name, tensor_type))
    return list(operator.outputs)


def _shapes(operator):
    """The parser has set every output's type and shape; nothing is left to infer."""


def convert(scope, operator, container):
    """Add the estimator's encoding, network, decoding and labels to ``container``."""
    estimator = operator.raw_operator
    features = encode_features(scope, container, estimator, operator.inputs)
    outputs = iter(operator.outputs)
    graph_outputs, labels = [], []
    for name, task in estimator._predictor.tasks.items():
        main = next(outputs).onnx_name
        if output_kind(name, task) == "labels":
            codes = scope.get_unique_variable_name(f"{name}_codes")
            labels.append((name, codes, main))
            main = codes
        graph_outputs.append(main)
        if task.is_classifier or task.quantiles is not None:
            graph_outputs.append(next(outputs).onnx_name)
    network = export_network(
        TaskPredictions(estimator), estimator._feature_encoder.layout_.n_features
    )
    insert_graph(scope, container, network, [features], graph_outputs)
    for name, codes, output in labels:
        classes, element_type = _labels(name, estimator.classes_[name])
        table = scope.get_unique_variable_name(f"{name}_classes")
        container.add_initializer(table, element_type, [len(classes)], classes.tolist())
        container.add_node(
            "Gather",
            [table, codes],
            [output],
            axis=0,
            name=scope.get_unique_operator_name("Gather"),
        )
