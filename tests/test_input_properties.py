"""Any input either works or is refused clearly (hypothesis).

Random small feature tables (DataFrames, arrays, sparse matrices; int, float,
bool, category, string and mixed columns; missing and extreme values; int,
tuple, unicode and duplicate column names) and random targets of every
supported kind and container go through ``fit``, ``predict``,
``predict_proba`` and ``score``. Each call must either work (predictions in
the container of the targets, finite, labels among the fitted classes;
probabilities that sum to 1) or raise a ``ValueError`` / ``TypeError`` that
the package or scikit-learn's validation raised on purpose, never anything
else; and no call may change its inputs. The helpers below state one
property each.

Random raw frames (numbers with NaN, integer codes, strings and categories
with rare, unseen, missing and "nan"-spelled levels) check the feature
encoder: ``predict`` is unchanged when a column comes at predict in another
dtype holding the same values, and the ONNX graph agrees with ``predict``.
"""

import itertools
import re
import tempfile
import traceback
import warnings
from pathlib import Path

import narwhals
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sklearn_mtl
from sklearn_mtl import MultiTaskEstimator, TargetDict

#: Values at the edges: signed zero, subnormals, the float32 limit and beyond.
EXTREMES = [0.0, -0.0, 1e-45, 5e-324, 1e-300, 3e38, -1e38, 1e39, -1e200, np.inf, np.nan]
NAMES = st.one_of(
    st.integers(0, 3),
    st.sampled_from(["a", "ü名", "a b", "", "task_0"]),
    st.tuples(st.integers(0, 1), st.sampled_from(["x", "y"])),
)
#: Where a deliberate refusal is raised: the package, scikit-learn, or narwhals,
#: through which scikit-learn reads DataFrame column names (duplicates).
ORIGINS = [Path(m.__file__).resolve().parent for m in (sklearn_mtl, sklearn, narwhals)]
#: Messages of accidental errors seen before issue 18 (sorting, indexing, torch).
ACCIDENTAL = re.compile(
    r"not supported between instances|did not match indexed array|unhashable type|"
    r"must be tuple of ints|has no len\(\)|index \d+ is out of bounds"
)
#: Where memory-mapped feature tables are saved (removed at exit).
MAPS = tempfile.TemporaryDirectory(prefix="sklearn_mtl_properties_")
MAP_NUMBERS = itertools.count()
TEXT_KINDS = ["category", "string", "mixed"]
TARGET_KINDS = [
    "regression",
    "extreme",
    "binary",
    "bool",
    "multiclass",
    "strings",
    "category",
    "mixed",
]
FAST = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = settings(FAST, max_examples=1500)


def with_missing(draw, values, missing=None):
    """``values`` (a list) with some entries replaced by ``missing`` markers."""
    if not draw(st.booleans()):
        return values
    marks = draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    marker = draw(st.sampled_from([None, np.nan])) if missing is None else missing
    return [marker if mark else value for value, mark in zip(values, marks)]


def with_extreme(draw, values):
    """``values`` (a list of floats), one of them an extreme value one time in three."""
    if draw(st.integers(0, 2)) == 0:
        values[draw(st.integers(0, len(values) - 1))] = draw(st.sampled_from(EXTREMES))
    return values


@st.composite
def feature_column(draw, n):
    """One feature column of ``n`` rows, of a random kind (numeric more often)."""
    kind = draw(st.sampled_from(["float"] * 4 + ["int", "bool", "nullable"] + TEXT_KINDS))
    if kind == "float":
        values = with_extreme(draw, draw(st.lists(st.floats(-10, 10), min_size=n, max_size=n)))
        dtype = draw(st.sampled_from([np.float64, np.float32]))
        with np.errstate(over="ignore"):
            return np.array(values, dtype=dtype)
    if kind == "int":
        return np.array(draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n)))
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if kind == "nullable":
        return pd.array(with_missing(draw, list(range(n)), pd.NA), dtype="Int64")
    words = draw(st.lists(st.sampled_from(["red", "blue", "ü"]), min_size=n, max_size=n))
    if kind == "category":
        return pd.Categorical(with_missing(draw, words))
    if kind == "string":
        return np.array(with_missing(draw, words, None), dtype=object)
    return np.array([w if i % 2 else i for i, w in enumerate(words)], dtype=object)


@st.composite
def features(draw, n):
    """A feature table of ``n`` rows: a DataFrame, an array, a sparse matrix or a memory map."""
    columns = draw(st.lists(feature_column(n), min_size=1, max_size=4))
    container = draw(st.sampled_from(["frame", "frame", "array", "sparse", "memmap"]))
    if container == "frame":
        frame = pd.concat([pd.Series(column) for column in columns], axis=1)
        if draw(st.booleans()):  # odd names: ints, tuples, unicode, empty, duplicates
            frame.columns = draw(st.lists(NAMES, min_size=len(columns), max_size=len(columns)))
        else:
            frame.columns = [f"x{i}" for i in range(len(columns))]
        return frame
    numeric = [c for c in columns if isinstance(c, np.ndarray) and c.dtype.kind in "biuf"]
    if container == "sparse" and numeric:
        return sp.csr_matrix(np.column_stack(numeric).astype(np.float64))
    if container == "memmap" and numeric:
        path = Path(MAPS.name) / f"X{next(MAP_NUMBERS)}.npy"
        np.save(path, np.column_stack(numeric).astype(np.float64))
        return np.load(path, mmap_mode="r")
    return np.column_stack([np.asarray(column) for column in columns])


@st.composite
def target_column(draw, n):
    """One task's labels, ``n`` rows, of a random kind, with missing labels."""
    kind = draw(st.sampled_from(TARGET_KINDS))
    if kind == "regression":
        values = draw(st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n))
        return np.array(with_missing(draw, values, np.nan), dtype=float)
    if kind == "extreme":
        values = draw(st.lists(st.floats(-1e3, 1e3), min_size=n - 1, max_size=n - 1))
        return np.array(values + [draw(st.sampled_from(EXTREMES + [1e300, 1e305]))])
    if kind in ("binary", "multiclass"):
        k = 2 if kind == "binary" else draw(st.integers(3, 4))
        return np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    if kind == "bool":
        return pd.array(
            with_missing(draw, draw(st.lists(st.booleans(), min_size=n, max_size=n)), pd.NA),
            dtype="boolean",
        )
    words = draw(st.lists(st.sampled_from(["lo", "mid", "hi"]), min_size=n, max_size=n))
    if kind == "strings":
        return np.array(with_missing(draw, words, None), dtype=object)
    if kind == "category":
        return pd.Series(pd.Categorical(with_missing(draw, words, np.nan)))
    return np.array([w if i % 3 else i for i, w in enumerate(words)], dtype=object)


@st.composite
def targets(draw, n):
    """Targets of ``n`` rows in a random container: what ``fit`` should give back."""
    columns = draw(st.lists(target_column(n), min_size=1, max_size=3))
    names = [f"t{i}" for i in range(len(columns))]
    container = draw(st.sampled_from(["1d", "dict", "targetdict", "frame", "2d", "rows"]))
    if container == "1d":
        return columns[0], np.ndarray
    if container == "dict":
        return dict(zip(names, columns)), dict
    if container == "targetdict":
        return TargetDict(zip(names, columns)), TargetDict
    if container == "frame":
        return pd.DataFrame(dict(zip(names, columns))), pd.DataFrame
    arrays = [np.asarray(column, dtype=object) for column in columns]
    if container == "2d":
        return np.column_stack(arrays), np.ndarray
    return np.column_stack(arrays).tolist(), np.ndarray


@st.composite
def problems(draw):
    n = draw(st.integers(4, 12))
    params = dict(
        hidden_layer_sizes=(4,),
        max_epochs=draw(st.integers(1, 2)),
        batch_size=draw(st.integers(2, 8)),
        standardize_targets=draw(st.booleans()),
        early_stopping=draw(st.booleans()),
        validation_fraction=0.25,
        n_bags=draw(st.sampled_from([1, 2])),
        random_state=0,
    )
    Y, container = draw(targets(n))
    return draw(features(n)), Y, container, params


def assert_refused_clearly(exc):
    """``exc`` is a ValueError/TypeError raised on purpose, with a message that says why."""
    assert isinstance(exc, ValueError | TypeError), f"{type(exc).__name__}: {exc}"
    origin = Path(traceback.extract_tb(exc.__traceback__)[-1].filename).resolve()
    assert any(origin.is_relative_to(root) for root in ORIGINS), f"raised in {origin}: {exc}"
    assert len(str(exc)) > 20 and not ACCIDENTAL.search(str(exc)), str(exc)


def assert_predictions(est, pred, container):
    """Predictions come in the targets' container, finite, labels among the classes."""
    assert type(pred) is container, type(pred)
    if isinstance(pred, pd.DataFrame | dict):
        columns = [np.asarray(pred[key]) for key in pred]
    else:
        columns = [pred] if pred.ndim == 1 else list(pred.T)
    assert len(columns) == len(est.tasks_)
    for column, (task, task_type) in zip(columns, est.tasks_.items()):
        if task_type == "regression":
            assert np.isfinite(column.astype(float)).all(), (task, column)
        else:
            assert set(column.tolist()) <= set(est.classes_[task].tolist()), (task, column)


def assert_probabilities(proba):
    for p in proba.values() if isinstance(proba, dict) else [proba]:
        assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1.0)


def contents(obj):
    """What ``obj`` holds, type and dtypes included, comparable with ``==``.

    Not ``pickle.dumps``: pandas keeps caches that reading a frame fills in.
    """
    if isinstance(obj, tuple):
        return tuple(map(contents, obj))
    if isinstance(obj, dict):
        return type(obj), [(key, contents(value)) for key, value in obj.items()]
    if sp.issparse(obj):
        return type(obj), contents(obj.toarray())
    if isinstance(obj, pd.DataFrame):
        return list(map(repr, obj.columns)), list(obj.dtypes), contents(obj.to_numpy(object))
    if isinstance(obj, list):
        return repr(obj)
    array = np.asarray(obj, dtype=object)
    return type(obj), str(getattr(obj, "dtype", "")), array.shape, list(map(repr, array.flat))


def check_fit_predict_score(X, Y, container, params):
    """Run fit, predict, predict_proba and score; each works or is refused clearly."""
    before = contents((X, Y))
    est = MultiTaskEstimator(**params)
    calls = [
        ("fit", lambda: est.fit(X, Y)),
        ("predict", lambda: assert_predictions(est, est.predict(X), container)),
        (
            "predict_proba",
            lambda: hasattr(est, "predict_proba") and assert_probabilities(est.predict_proba(X)),
        ),
        ("score", lambda: isinstance(est.score(X, Y), float) or pytest.fail("not a float")),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, call in calls:
            try:
                call()
            except AssertionError:
                raise
            except Exception as exc:  # noqa: BLE001 - what was raised is the property
                assert_refused_clearly(exc)
                if name == "fit":
                    break
    assert contents((X, Y)) == before, "a call changed its inputs"


@FAST
@given(problems())
def test_any_input_works_or_is_refused_clearly(problem):
    check_fit_predict_score(*problem)


@pytest.mark.slow
@SLOW
@given(problems())
def test_any_input_works_or_is_refused_clearly_many_examples(problem):
    check_fit_predict_score(*problem)


# -- the feature encoder: a category reads the same whatever its dtype, in predict and ONNX --

#: Column kinds of a raw frame, and dtypes each may take at predict that keep its values.
CONVERSIONS = {
    "float": ["float64", "Float64", object],
    "int": ["float64", "Int64", "int32", object],
    "codes": ["float64", "Int64", object, "category"],  # integer codes declared categorical
    "text": [object, "string", "category"],
    "category": [object, "string"],
}
#: Levels of the text columns, skewed so that some are rare; "nan" is a category.
LEVELS = ["red", "blue", "nan", "ü", "10", "nan~"]
WEIGHTS = [40, 30, 10, 4, 1, 1]
ENCODER_SETTINGS = settings(FAST, max_examples=30)
ONNX_SETTINGS = settings(FAST, max_examples=6)


@st.composite
def raw_column(draw, kind, n):
    """A column of ``kind`` for fit, and its values at predict (unseen levels, missing)."""
    rows = st.lists(st.integers(0, sum(WEIGHTS) - 1), min_size=n, max_size=n)
    picks = np.searchsorted(np.cumsum(WEIGHTS), draw(rows), side="right")
    missing = np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))) == 0
    if kind == "float":
        values = pd.Series(draw(st.lists(st.floats(-5, 5), min_size=n, max_size=n)))
        return values.mask(missing), values.mask(missing | (np.arange(n) % 4 == 0))
    if kind == "int":
        values = pd.Series(draw(st.lists(st.integers(-50, 50), min_size=n, max_size=n)))
        return values, values[::-1].reset_index(drop=True)
    if kind == "codes":
        codes = pd.Series(np.array([10, 20, 30, 40, 1000, 7])[picks], dtype="Int64")
        fit = codes.mask(missing) if draw(st.booleans()) else codes
        return fit, codes.mask(np.arange(n) % 5 == 0).mask(np.arange(n) % 7 == 0, 99)
    text = pd.Series(np.array(LEVELS, dtype=object)[picks]).mask(missing)
    new = text.mask(np.arange(n) % 5 == 0).mask(np.arange(n) % 7 == 0, "unseen")
    if kind == "category":
        return text.astype("category"), new.astype(pd.CategoricalDtype(LEVELS + ["unseen"]))
    return text, new


@st.composite
def raw_frames(draw):
    """Fit and predict frames of random column kinds, and other dtypes for their columns."""
    n = draw(st.integers(30, 60))
    kinds = draw(st.lists(st.sampled_from(list(CONVERSIONS)), min_size=1, max_size=4))
    fit, new, dtypes = {}, {}, {}
    for j, kind in enumerate(kinds):
        name = f"{kind}{j}"
        fit[name], new[name] = draw(raw_column(kind, n))
        dtypes[name] = draw(st.sampled_from(CONVERSIONS[kind]))
    categorical = [name for name, kind in zip(fit, kinds) if kind not in ("float", "int")]
    params = dict(
        categorical_features=categorical,
        min_frequency=draw(st.sampled_from([1, 5])),
        hidden_layer_sizes=(8,),
        max_epochs=1,
        early_stopping=False,
        n_bags=draw(st.sampled_from([1, 2])),
        random_state=draw(st.integers(0, 3)),
    )
    return pd.DataFrame(fit), pd.DataFrame(new), dtypes, params


def fit_raw(X, params):
    rng = np.random.RandomState(0)
    Y = {"value": rng.normal(size=len(X)), "label": np.arange(len(X)) % 3}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MultiTaskEstimator(**params).fit(X, Y)


def assert_same_predictions(est, X, X_other):
    """predict and predict_proba give exactly the same on two frames of the same values."""
    for method in (est.predict, est.predict_proba):
        expected, got = method(X), method(X_other)
        for task in expected:
            np.testing.assert_array_equal(got[task], expected[task], err_msg=task)


def assert_onnx_agrees(est, onnx_model, X):
    """onnxruntime's outputs on X are predict's and predict_proba's, to 1e-5."""
    import onnxruntime

    session = onnxruntime.InferenceSession(onnx_model.SerializeToString())
    names = [output.name for output in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, sklearn_mtl.onnx_inputs(onnx_model, X))))
    np.testing.assert_allclose(outputs["value"], est.predict(X)["value"], atol=1e-5, rtol=0)
    np.testing.assert_allclose(outputs["label_proba"], est.predict_proba(X)["label"], atol=1e-5)


@ENCODER_SETTINGS
@given(raw_frames())
def test_predict_is_unchanged_by_dtype_changes_that_keep_the_values(frames):
    check_dtype_changes(*frames)


@pytest.mark.slow
@SLOW
@given(raw_frames())
def test_predict_is_unchanged_by_dtype_changes_that_keep_the_values_many_examples(frames):
    check_dtype_changes(*frames)


def check_dtype_changes(X, X_new, dtypes, params):
    est = fit_raw(X, params)
    assert_same_predictions(est, X_new, X_new.astype(dtypes))
    assert_same_predictions(est, X, X.astype(dtypes))


@ONNX_SETTINGS
@given(raw_frames())
def test_the_onnx_graph_agrees_with_predict_on_raw_frames(frames):
    check_onnx_agrees(*frames)


@pytest.mark.slow
@settings(SLOW, max_examples=50)
@given(raw_frames())
def test_the_onnx_graph_agrees_with_predict_on_raw_frames_many_examples(frames):
    check_onnx_agrees(*frames)


# 50 more frames (each test draws its own, seeded by its name): two tests of 50
# rather than one of 100, because an export takes about a second and the slow
# suite's workers can share two tests but not one.
@pytest.mark.slow
@settings(SLOW, max_examples=50)
@given(raw_frames())
def test_the_onnx_graph_agrees_with_predict_on_other_raw_frames(frames):
    check_onnx_agrees(*frames)


def check_onnx_agrees(X, X_new, dtypes, params):
    pytest.importorskip("onnxruntime")
    est = fit_raw(X, params)
    onnx_model = sklearn_mtl.to_onnx(est, X[:5])
    assert_onnx_agrees(est, onnx_model, X_new)
    assert_onnx_agrees(est, onnx_model, X_new.astype(dtypes))
