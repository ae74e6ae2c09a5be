"""Numeric embeddings: each numeric column to a learned vector before the body.

``MultiTaskEstimator(numeric_embedding=...)`` takes None (the standardised
values as they are), a name from :data:`EMBEDDINGS` or an instance of one of
these classes; hyper-parameters are grid-searchable as
``numeric_embedding__<name>``. The embedding sits in the network's input layer,
so it works with every architecture, on DataFrames and numeric arrays alike.
See :ref:`numeric-embeddings`.
"""

from ._base import BaseNumericEmbedding
from .mixed import MixedEmbedding
from .periodic import PeriodicEmbedding
from .piecewise_linear import PiecewiseLinearEmbedding

#: Registry: name accepted by ``numeric_embedding=`` -> class.
EMBEDDINGS = {
    "mixed": MixedEmbedding,
    "periodic": PeriodicEmbedding,
    "piecewise_linear": PiecewiseLinearEmbedding,
}

__all__ = [
    "EMBEDDINGS",
    "BaseNumericEmbedding",
    "MixedEmbedding",
    "PeriodicEmbedding",
    "PiecewiseLinearEmbedding",
]
