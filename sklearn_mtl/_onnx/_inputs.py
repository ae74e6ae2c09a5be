"""onnx_inputs: the inputs of an exported graph, made from ``X`` as ``predict`` takes it."""

import numpy as np
import pandas as pd

from .._features import category_strings

#: How a missing value is written in a string input: pandas' ``astype(str)``
#: of NaN, which skl2onnx's encoders also read as the category NaN.
MISSING_STRING = "nan"

#: A category spelled like a missing value (``"nan"``, ``"nan~"``, ...), which
#: a string input writes with one more ``"~"``, so that it stays a category.
SPELLED_MISSING = r"^(nan~*)$"


def input_strings(texts):
    """Category texts (:func:`category_strings`, NaN where missing) as a string input holds them.

    A missing value is :data:`MISSING_STRING`; a category spelled like it
    (:data:`SPELLED_MISSING`) gets one more ``"~"``; any other text stays as it is.
    """
    strings = pd.Series(np.asarray(texts, dtype=object).ravel(), dtype=object)
    present = strings.notna()
    strings[present] = strings[present].str.replace(SPELLED_MISSING, r"\1~", regex=True)
    return strings.fillna(MISSING_STRING).to_numpy(dtype=object).reshape(np.shape(texts))


def onnx_inputs(onnx_model, X):
    """The inputs of a graph of :func:`to_onnx` from ``X``: name -> array, for onnxruntime.

    Parameters
    ----------
    onnx_model : onnx.ModelProto
        A graph made by :func:`to_onnx`.
    X : DataFrame or array-like of shape (n_samples, n_features)
        Rows as the exported model's ``predict`` takes them.

    Returns
    -------
    inputs : dict of str -> ndarray
        Per input of the graph, its array: a DataFrame's column ``(n_samples,
        1)`` of the input's type (strings: each category's text, missing
        values as ``"nan"``, a category spelled ``"nan"`` as ``"nan~"``;
        numbers with NaN where missing), or ``X`` whole,
        of the input's type, for a graph with one input ``"X"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn_mtl import MultiTaskEstimator, onnx_inputs, to_onnx
    >>> X = pd.DataFrame({"city": ["Oslo", "Rome", None, "Oslo"] * 10,
    ...                   "age": [31, 45, 52, 27] * 10})
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=1,
    ...                          random_state=0).fit(X, {"old": X["age"] > 40})
    >>> inputs = onnx_inputs(to_onnx(est, X[:5]), X[:3])
    >>> inputs["city"].ravel().tolist(), inputs["age"].dtype
    (['Oslo', 'Rome', 'nan'], dtype('int64'))
    """
    from onnx import helper

    graph_inputs = [graph_input.name for graph_input in onnx_model.graph.input]
    types = {
        graph_input.name: helper.tensor_dtype_to_np_dtype(graph_input.type.tensor_type.elem_type)
        for graph_input in onnx_model.graph.input
    }
    if isinstance(X, pd.DataFrame):
        columns = [str(c) for c in X.columns]
        if set(graph_inputs) <= set(columns):
            return {
                name: _column_values(X.iloc[:, columns.index(name)], types[name])
                for name in graph_inputs
            }
        if len(graph_inputs) > 1:
            raise ValueError(
                f"onnx_inputs: the graph's inputs are the columns {graph_inputs}, but X has "
                f"the columns {columns}; pass X as the exported model's predict takes it."
            )
    (name,) = graph_inputs
    dtype = types[name]
    values = X.toarray() if hasattr(X, "toarray") else np.asarray(X)
    return {name: values.astype(str if dtype.kind == "O" else dtype, copy=False)}


def _column_values(column, dtype):
    """One DataFrame column as the ``(n, 1)`` array of an ONNX input of ``dtype``."""
    if dtype.kind == "O":
        return input_strings(category_strings(column))
    if dtype.kind == "f":
        return column.to_numpy(dtype=dtype, na_value=np.nan).reshape(-1, 1)
    if column.isna().any():
        raise ValueError(
            f"onnx_inputs: column {column.name!r} has missing values, but its ONNX input is "
            f"{dtype}, which has none; export with that column as float in X_sample."
        )
    return column.to_numpy(dtype=dtype).reshape(-1, 1)
