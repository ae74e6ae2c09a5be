"""``X`` on its way in: validated, encoded to one float32 matrix, its statistics learned.

- ``_validation``: numeric arrays, sparse matrices and memory maps checked as
  ``validate_data`` does (NaN allowed, infinity not);
- ``_columns``: a DataFrame column's category texts or float32 numbers;
- ``_encoder``: :class:`FeatureEncoder`, learned in fit: categorical columns to
  slot numbers, a DataFrame encoded batch by batch at predict;
- ``_statistics``: each numeric column's centre and scale for the input layer.
"""

from ._columns import category_strings
from ._encoder import FeatureEncoder, FeatureLayout, is_categorical_dtype
from ._statistics import CLIP, numeric_sample, statistics_rows
from ._validation import CHUNK_BYTES, FLOAT32_MAX, is_memmap, validate_features

__all__ = [
    "CHUNK_BYTES",
    "CLIP",
    "FLOAT32_MAX",
    "FeatureEncoder",
    "FeatureLayout",
    "category_strings",
    "is_categorical_dtype",
    "is_memmap",
    "numeric_sample",
    "statistics_rows",
    "validate_features",
]
