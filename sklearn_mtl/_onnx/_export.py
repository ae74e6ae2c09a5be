"""to_onnx: a fitted model, its Pipeline included, as one ONNX graph."""

import importlib.util
import re
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from .._features import is_categorical_dtype
from .._pipeline import fitted_final_estimator
from .._task_view import _TaskView

#: Packages the export needs, by import name, and the extra that installs them.
REQUIRED = ("onnx", "onnxscript", "skl2onnx")
EXTRA = "sklearn_mtl[onnx]"


def to_onnx(model, X_sample):
    """A fitted model as one ONNX graph: preprocessing, encoding, network, decoding.

    The graph computes what ``model.predict`` and ``model.predict_proba``
    give, in onnxruntime or any ONNX runtime, without Python, torch or
    scikit-learn. skl2onnx converts the Pipeline's preprocessing steps; the
    estimator adds its own encoding of ``X`` (categorical columns, missing
    values), its network, exported by torch's ONNX exporter whatever its
    architecture (after ``early_stopping="per_task"``, each task with its own
    best epoch's parameters), and each task's decoding. Needs the ``onnx``
    extra: ``pip install "sklearn_mtl[onnx]"``.

    Parameters
    ----------
    model : MultiTaskEstimator or Pipeline
        A fitted :class:`~sklearn_mtl.MultiTaskEstimator`, or a fitted
        Pipeline (possibly nested) ending in one whose steps skl2onnx can
        convert (ColumnTransformer, OneHotEncoder, StandardScaler,
        SimpleImputer and most of scikit-learn's transformers).
    X_sample : DataFrame or array-like of shape (n_samples, n_features)
        A few rows of ``X`` as ``model.predict`` takes it. Its columns and
        dtypes set the graph's inputs: one ``(batch, 1)`` input per column of
        a DataFrame, named after it (strings for category, object and string
        columns, and for the estimator's own categorical columns when it is
        exported alone; int64, float32 or bool for numeric ones, as their
        dtype), or one input ``"X"`` for an array, of its dtype.

    Returns
    -------
    onnx_model : onnx.ModelProto
        Outputs per task, in task order: ``<task>`` (class labels, of the
        classes' type; a multilabel task's int64 0/1 matrix; float64 values
        in the target's units, expected counts for a count task) and, for a
        classification task, ``<task>_proba`` (float64, columns in the order
        of ``classes_[task]``; a multilabel task's per-label probabilities),
        for a task with a ``"quantile"`` loss ``<task>_quantiles`` (float64,
        ``predict_quantiles``'s columns; ``<task>`` is then the median).
        Opset 18 (``ai.onnx.ml`` 3), with a dynamic batch size. Save it with
        ``onnx.save(onnx_model, path)``.

    Raises
    ------
    ImportError
        Without the packages of the ``onnx`` extra.
    TypeError
        When ``model`` is not a MultiTaskEstimator or a Pipeline ending in one,
        or has a step that skl2onnx cannot convert.
    ValueError
        When ``X_sample`` does not have the columns of fit, or an output name
        would repeat another.

    See Also
    --------
    onnx_inputs : The graph's inputs from ``X``.

    Notes
    -----
    A missing value in a string input is written ``"nan"`` (what
    :func:`onnx_inputs` writes for NaN, None and pandas NA; a category
    spelled ``"nan"`` it writes ``"nan~"``); a missing value
    in a numeric input is NaN, so a column that may have missing values needs
    a float input (pass it as float in ``X_sample``). The export follows
    ``predict`` to about 1e-7 on probabilities (float32 arithmetic in another
    order); labels differ only where a probability sits at a decision
    threshold to that precision. A task view of :func:`for_task` is exported
    through its model: ``to_onnx(view.model, X)``, then read the outputs of
    ``view.task``. See :ref:`single_task_tools` and :ref:`saving`.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime as ort
    >>> from sklearn_mtl import MultiTaskEstimator, onnx_inputs, to_onnx
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3)).astype(np.float32)
    >>> Y = {"pos": np.where(X[:, 0] > 0, "yes", "no"), "val": X[:, 1]}
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=5,
    ...                          random_state=0).fit(X, Y)
    >>> onnx_model = to_onnx(est, X[:5])
    >>> [output.name for output in onnx_model.graph.output]
    ['pos', 'pos_proba', 'val']
    >>> session = ort.InferenceSession(onnx_model.SerializeToString())
    >>> labels, proba, values = session.run(None, onnx_inputs(onnx_model, X))
    >>> bool((labels == est.predict(X)["pos"]).all())
    True
    >>> bool(np.abs(proba - est.predict_proba(X)["pos"]).max() < 1e-5)
    True
    """
    _require_packages()
    if isinstance(model, _TaskView):
        raise TypeError(
            f"to_onnx exports a whole model; for_task's view of {model.task!r} is exported "
            f"through it: to_onnx(view.model, X_sample), then read the outputs "
            f"{model.task!r} and {model.task + '_proba'!r}."
        )
    _, estimator = fitted_final_estimator(model)
    initial_types = _input_types(
        model, X_sample, estimator.is_categorical_ if model is estimator else None
    )
    _check_names(estimator, [name for name, _ in initial_types])

    from skl2onnx import convert_sklearn
    from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator

    from ._converter import register
    from ._network import OPSET

    register()
    try:
        onnx_model = convert_sklearn(
            model, initial_types=initial_types, target_opset={"": OPSET, "ai.onnx.ml": 3}
        )
    except (MissingConverter, MissingShapeCalculator) as exc:
        found = re.search(r"<class '([^']+)'>", str(exc))
        step = found.group(1) if found else "a step of the model"
        problem = f"{step}: skl2onnx has no converter for it"
    except (NotImplementedError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not _raised_in(exc, "skl2onnx"):
            raise
        problem = f"a step of the model: skl2onnx says: {str(exc).splitlines()[0].rstrip('.')}"
    else:
        _check_output_names(onnx_model, estimator)
        return onnx_model
    raise TypeError(
        f"to_onnx cannot convert {problem}. Use preprocessing that skl2onnx converts "
        "(ColumnTransformer, OneHotEncoder, StandardScaler, SimpleImputer, ...), register a "
        "converter for it with skl2onnx.update_registered_converter, or apply it before "
        "the model."
    )


def _check_output_names(onnx_model, estimator):
    """Raise when skl2onnx renamed an output (its name was taken by a preprocessing step)."""
    from ._converter import output_names

    names, expected = [o.name for o in onnx_model.graph.output], output_names(estimator)
    if names != expected:
        taken = [name for name, got in zip(expected, names) if name != got]
        raise ValueError(
            f"to_onnx: the outputs {taken} were renamed by skl2onnx, whose preprocessing "
            "steps use those names for their own results; rename those tasks."
        )


def _raised_in(exc, package):
    """Whether ``exc`` was raised inside ``package`` (e.g. a skl2onnx converter refusing a step)."""
    origin = Path(traceback.extract_tb(exc.__traceback__)[-1].filename).resolve()
    return origin.is_relative_to(Path(importlib.util.find_spec(package).origin).parent)


def _require_packages():
    missing = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"to_onnx needs the packages {missing}, which are not installed; install the "
            f'ONNX extra: pip install "{EXTRA}" (onnx, onnxscript, skl2onnx and '
            "onnxruntime to run the graph)."
        )


def _input_types(model, X, categorical=None):
    """skl2onnx's ``initial_types`` for X: one per DataFrame column, or one matrix ``"X"``.

    ``categorical`` is the estimator's ``is_categorical_`` when ``model`` is the
    estimator itself: its categorical columns are strings and the others
    numbers whatever their dtype in ``X`` (a Pipeline's steps take ``X``'s dtypes).
    """
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    fitted_names = getattr(model, "feature_names_in_", None)
    if isinstance(X, pd.DataFrame):
        columns = [str(c) for c in X.columns]
        if fitted_names is not None and columns != list(fitted_names):
            raise ValueError(
                f"to_onnx: X_sample has the columns {columns}, but the model was fitted on "
                f"{list(fitted_names)}; pass rows of X as the model's predict takes them."
            )
        if len(set(columns)) != len(columns):
            raise ValueError(f"to_onnx: X_sample repeats column names: {columns}.")
        types = []
        if categorical is None:
            categorical = [is_categorical_dtype(dtype) for dtype in X.dtypes]
        for name, dtype, is_categorical in zip(columns, X.dtypes, categorical):
            if is_categorical:
                tensor_type = StringTensorType
            elif pd.api.types.is_bool_dtype(dtype):
                tensor_type = BooleanTensorType
            elif isinstance(dtype, np.dtype) and dtype.kind in "iu":
                tensor_type = Int64TensorType
            else:  # floats, nullable integers whose NA becomes NaN, numbers as objects
                tensor_type = FloatTensorType
            types.append((name, tensor_type([None, 1])))
        return types
    if fitted_names is not None:
        raise ValueError(
            "to_onnx: the model was fitted on a DataFrame; pass X_sample as a DataFrame with "
            f"its columns {list(fitted_names)}."
        )
    if hasattr(X, "toarray"):
        raise TypeError(
            "to_onnx: X_sample is a sparse matrix; ONNX inputs are dense: pass a few rows "
            "as a dense array (X_sample[:5].toarray())."
        )
    values = np.asarray(X)
    if values.ndim != 2:
        raise ValueError(f"to_onnx: X_sample must be 2-D, got shape {values.shape}.")
    kinds = {"f": FloatTensorType, "i": Int64TensorType, "u": Int64TensorType}
    tensor_type = {**kinds, "b": BooleanTensorType}.get(values.dtype.kind)
    if tensor_type is None:
        raise TypeError(
            f"to_onnx: X_sample is an array of dtype {values.dtype}; pass a numeric array, "
            "or a DataFrame for columns of strings."
        )
    return [("X", tensor_type([None, values.shape[1]]))]


def _check_names(estimator, input_names):
    """Raise when two graph inputs or outputs would share a name."""
    from ._converter import output_names

    outputs = output_names(estimator)
    repeated = sorted(
        {n for n in outputs if outputs.count(n) > 1} | (set(outputs) & set(input_names))
    )
    if repeated:
        raise ValueError(
            f"to_onnx: the names {repeated} would name two of the graph's inputs and outputs "
            "(outputs are '<task>', '<task>_proba' and '<task>_quantiles', inputs are X's "
            "columns); rename the "
            "tasks or the columns."
        )
