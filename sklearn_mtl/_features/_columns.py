"""A DataFrame column's values as the encoder reads them: category texts, float32 numbers.

A category is known by its text, the same in fit and at predict whatever the
column's dtype; a numeric column becomes float32 with NaN where missing. Both
refuse, with the column's name, values that cannot be read so.
"""

import numbers
from collections.abc import Hashable

import numpy as np
import pandas as pd

from ._validation import FEW_ROWS


def category_strings(column):
    """A column as an ``(n, 1)`` object array of category texts, NaN where missing.

    A category is known by its text, so that it reads the same in fit and at
    predict whatever the column's dtype: a string as itself, a number by its
    value (``10``, ``10.0`` and ``np.int8(10)`` are all ``"10"``; ``0.5`` is
    ``"0.5"``), a bool as ``"True"`` or ``"False"``, anything else as ``str``
    writes it. A column mixing strings with other values is refused, as
    scikit-learn's encoders refuse it: ``1`` and ``"1"`` would be one category;
    so is one holding lists, dicts or arrays, which no category can be.
    """
    if len(column) <= FEW_ROWS:  # a request to a service: Python beats pandas' machinery
        values = _few_values(column)
        _check_hashable(column, values)
        missing = [value is None or pd.isna(value) for value in values]
        _check_one_kind(column, [v for v, m in zip(values, missing) if not m])
        texts = [np.nan if m else _category_text(v) for v, m in zip(values, missing)]
        return np.array(texts, dtype=object).reshape(-1, 1)
    try:
        codes, uniques = pd.factorize(column)
    except TypeError:
        _check_hashable(column, column.tolist())
        raise
    uniques = list(uniques)
    _check_one_kind(column, uniques)
    texts = np.array([_category_text(value) for value in uniques] + [np.nan], dtype=object)
    return texts[codes].reshape(-1, 1)  # code -1, a missing value, reads the NaN at the end


def _few_values(column):
    """A short column's values as a list (a categorical one's read through its codes)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        # Series.tolist converts every category of the column first.
        categories = column.dtype.categories
        return [categories[code] if code >= 0 else np.nan for code in column.array.codes.tolist()]
    return column.tolist()


def _check_one_kind(column, values):
    """Raise when a categorical column's (non-missing) values mix strings with others."""
    is_string = [isinstance(value, str) for value in values]
    if any(is_string) and not all(is_string):
        examples = [values[is_string.index(True)], values[is_string.index(False)]]
        raise TypeError(
            f"Column {column.name!r} of X is categorical and mixes strings with other values "
            f"(e.g. {examples[0]!r} and {examples[1]!r}); categories are compared as text, so "
            "1 and '1' would be one category. Give the column values of one type, e.g. "
            f"X[{column.name!r}].astype(str)."
        )


def _check_hashable(column, values):
    """Raise when a categorical column holds values that cannot be categories (lists, dicts)."""
    for value in values:
        if not isinstance(value, Hashable):
            raise TypeError(
                f"Column {column.name!r} of X holds {type(value).__name__} values (e.g. "
                f"{value!r}), which cannot be categories. Give each row one value, e.g. "
                f"X[{column.name!r}].astype(str), or spread the column into columns of its "
                "own (a MultiLabelBinarizer for lists of labels)."
            )


def _category_text(value):
    """The text of one category (see :func:`category_strings`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def numeric_values(column):
    """A numeric or bool column as float32, NaN where missing; clear errors for other values."""
    try:
        with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, refused below
            if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
                # NumPy's own dtypes hold no pd.NA: a plain cast, not pandas' na_value pass.
                values = column.to_numpy().astype(np.float32)
            else:
                values = column.to_numpy(dtype=np.float32, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError(
            f"Column {column.name!r} of X is treated as numeric but holds values that are not "
            "numbers; list it in categorical_features, or convert it to numbers."
        ) from None
    if np.isinf(values).any():
        raise ValueError(
            f"Input X contains infinity or a value too large for float32 in column "
            f"{column.name!r}; replace it (NaN is read as a missing value)."
        )
    return values
