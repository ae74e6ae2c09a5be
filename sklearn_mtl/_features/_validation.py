"""Checking ``X`` as ``validate_data`` does: numeric arrays, sparse matrices, memory maps."""

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.validation import validate_data

#: The largest float32. Features, encoded targets and weights are float32 in
#: training: a finite float64 beyond this becomes inf there.
FLOAT32_MAX = float(np.finfo(np.float32).max)

#: Up to this many rows, categories are read value by value (a dict, no pandas Index).
FEW_ROWS = 32

#: Bytes of a memory-mapped X read at once.
CHUNK_BYTES = 1 << 22


def is_memmap(X):
    """Whether ``X`` is a NumPy memory map (``np.memmap`` or a view of one)."""
    return isinstance(X, np.memmap)


def chunk_rows(X):
    """Rows of ``X`` in about :data:`CHUNK_BYTES`."""
    return max(1, CHUNK_BYTES // max(1, X.shape[1] * X.dtype.itemsize))


def validate_features(estimator, X, *, reset):
    """Dense float32 features, checked like ``validate_data`` does.

    NaN is a missing value and allowed; infinity is not. Sparse input (e.g.
    one-hot columns) is densified. A memory map is checked in chunks and left on
    disk. Sets (``reset=True``) or checks ``n_features_in_`` and
    ``feature_names_in_`` of ``estimator``.
    """
    if is_memmap(X):
        return _validate_mapped(estimator, X, reset=reset)
    checked = None if reset else _finite_float32(estimator, X)
    if checked is not None:
        return checked
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=np.float32,
            accept_sparse=("csr", "csc", "coo"),
            ensure_all_finite="allow-nan",
        )
    except ValueError as exc:
        # NumPy's message for strings, pandas' for categorical columns of strings.
        if not any(cause in str(exc) for cause in ("could not convert", "Cannot cast")):
            raise
        raise ValueError(
            f"X must be numeric, but {exc}. Pass a pandas DataFrame (its category, object "
            "and string columns are then encoded as categories), name the categorical "
            "columns in categorical_features, or encode them first, e.g. with a "
            "OneHotEncoder in a Pipeline."
        ) from None
    return X.toarray() if sp.issparse(X) else X


def _finite_float32(estimator, X):
    """``X`` as float32 when it is a finite float array of the fitted width, else None.

    What ``validate_data`` gives for such an array (nothing to convert but
    the precision, no names to compare), checked in one pass without its fixed
    cost per call, most of the time of a small predict. Anything else (NaN
    included) takes the general path, which also words the errors.
    """
    if not (type(X) is np.ndarray and X.ndim == 2 and X.dtype.kind == "f" and len(X)):
        return None
    if X.shape[1] != getattr(estimator, "n_features_in_", None):
        return None
    if hasattr(estimator, "feature_names_in_"):
        return None  # validate_data warns about an array without them
    with np.errstate(over="ignore", invalid="ignore"):
        X = X.astype(np.float32, copy=False)
        return X if is_finite(X) else None


#: From this many entries on, torch sums a float array faster than NumPy (about
#: 6 us more per call, 2.5 times the speed).
TORCH_SUM_SIZE = 1 << 16


def is_finite(X):
    """Whether every entry of the float array ``X`` is finite: one sum, NaN and inf stick.

    torch's sum for a large ``X`` it can read in place: 0.35 against NumPy's
    0.86 ms for 100,000 x 50 (one thread), a tenth of a small network's
    predict; NumPy's for a few rows, where torch's call costs more.
    """
    if X.size >= TORCH_SUM_SIZE and X.flags.c_contiguous and X.flags.writeable:
        return bool(torch.isfinite(torch.from_numpy(X).sum()))
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(X.sum()))


def _validate_mapped(estimator, X, *, reset):
    """Check a memory-mapped ``X`` without copying it; returns ``X`` itself."""
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D memory-mapped X, got {X.ndim} dimension(s) of shape "
            f"{X.shape}; reshape it to (n_samples, n_features)."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"The memory-mapped X has dtype {X.dtype}; it must be numeric (e.g. float32)."
        )
    # The first row through validate_data: sample and feature counts, n_features_in_.
    validate_data(estimator, X[:1], reset=reset, dtype=np.float32, ensure_all_finite="allow-nan")
    step = chunk_rows(X)
    wider = X.dtype.kind == "f" and X.dtype.itemsize > 4
    for start in range(0, X.shape[0], step):
        chunk = X[start : start + step]
        rows = f"rows {start} to {start + len(chunk) - 1} of the memory map"
        if np.isinf(chunk).any():
            raise ValueError(
                f"Input X contains infinity in {rows}; replace it (NaN is read as a "
                "missing value) or drop those rows first."
            )
        if wider and (np.abs(chunk) > FLOAT32_MAX).any():
            raise ValueError(
                "Input X contains infinity or a value too large for dtype('float32') in "
                f"{rows}, which the network reads as float32; replace or rescale those "
                "values first."
            )
    return X


def has_columns_of_fit(estimator, X):
    """Whether DataFrame ``X`` has exactly the (string) column names of fit, in their order.

    ``validate_data`` would then find nothing to warn or raise about, so a
    small predict skips its fixed cost.
    """
    fitted = getattr(estimator, "feature_names_in_", None)
    return fitted is not None and X.columns.tolist() == fitted.tolist()


def check_column_order(estimator, X):
    """A clear error when X has the columns of fit in another order (sklearn names the others)."""
    fitted = getattr(estimator, "feature_names_in_", None)
    columns = [str(c) for c in X.columns]
    if fitted is None or sorted(columns) != sorted(fitted) or columns == list(fitted):
        return
    moved = [name for name, expected in zip(columns, fitted) if name != expected]
    raise ValueError(
        "Feature names must be in the same order as they were in fit: X has the columns "
        f"of fit, but {moved} are not where fit had them. Reorder them as in fit, e.g. "
        "X[estimator.feature_names_in_]."
    )
