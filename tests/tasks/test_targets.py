import datetime
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import KFold, train_test_split
from sklearn.utils.multiclass import type_of_target

from sklearn_mtl import TargetDict
from sklearn_mtl._tasks import (
    TASK_TYPES,
    MulticlassTask,
    distinct_labels,
    encode_targets,
    infer_task_type,
    labelled_values,
    read_targets,
    resolve_tasks,
    wrap_like,
)


def test_targetdict_has_sample_shape_and_slices_by_row():
    Y = TargetDict(a=np.arange(5.0), b=["x", "y", "x", "y", "x"])
    assert Y.shape == (5, 2)
    assert isinstance(Y["b"], np.ndarray)
    part = Y.iloc[[0, 3]]
    assert isinstance(part, TargetDict)
    np.testing.assert_array_equal(part["a"], [0.0, 3.0])
    np.testing.assert_array_equal(part["b"], ["x", "y"])


def test_targetdict_splits_with_sklearn():
    Y = TargetDict(a=np.arange(10.0), b=pd.Series(list("ababababab")))
    X = np.arange(20.0).reshape(10, 2)
    X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=3, random_state=0)
    assert Y_train.shape == (7, 2) and Y_test.shape == (3, 2)
    np.testing.assert_array_equal(Y_test["a"], X_test[:, 0] / 2)


def test_targetdict_unequal_lengths_are_reported():
    with pytest.raises(ValueError, match="different numbers of rows"):
        _ = TargetDict(a=[1, 2], b=[1, 2, 3]).shape


def test_targetdict_pickles_as_targetdict():
    import pickle

    Y = TargetDict(a=np.arange(3))
    assert isinstance(pickle.loads(pickle.dumps(Y)), TargetDict)


@pytest.mark.parametrize(
    "Y, container, names",
    [
        ({"p": [1.0, 2.0], "q": ["a", "b"]}, "dict", ["p", "q"]),
        (TargetDict(p=[1.0, 2.0]), "targetdict", ["p"]),
        (pd.DataFrame({"p": [1.0, 2.0], 3: ["a", "b"]}), "frame", ["p", "3"]),
        (np.zeros((2, 3)), "array2d", ["task_0", "task_1", "task_2"]),
        (np.zeros(2), "array1d", ["task_0"]),
        ([0.0, 1.0], "array1d", ["task_0"]),
    ],
)
def test_read_targets_containers(Y, container, names):
    targets = read_targets(Y)
    assert targets.container == container
    assert targets.names == names
    assert targets.n_samples == 2


def test_missing_values_of_every_kind():
    column = pd.Series([1.0, None, np.nan, pd.NA, 2.0], dtype=object)
    targets = read_targets({"t": column})
    np.testing.assert_array_equal(targets.missing(0), [False, True, True, True, False])
    masked = np.ma.array([1.0, 2.0, 3.0], mask=[False, True, False])
    targets = read_targets({"t": masked})
    np.testing.assert_array_equal(targets.missing(0), [False, True, False])


def _types(targets, declared):
    """Task -> the type name that resolve_tasks gives it."""
    return {name: task.type_name for name, task in resolve_tasks(targets, declared).items()}


def test_task_types_are_inferred_and_declared():
    targets = read_targets(
        {"r": [0.5, 1.5, 2.25], "b": ["no", "yes", "no"], "m": [1, 2, 3], "d": [1, 2, 3]}
    )
    types = _types(targets, {"d": "regression"})
    assert types == {"r": "regression", "b": "binary", "m": "multiclass", "d": "regression"}


def test_a_task_declared_none_is_inferred():
    targets = read_targets({"r": [0.5, 1.5, 2.25], "m": [1, 2, 3]})
    types = _types(targets, {"r": None, "m": "regression"})
    assert types == {"r": "regression", "m": "regression"}


def test_many_class_numeric_target_warns():
    targets = read_targets({"hours": np.arange(100) % 40})
    with pytest.warns(UserWarning, match="declare tasks=\\{'hours': 'regression'\\}"):
        assert _types(targets, None) == {"hours": "multiclass"}


@pytest.mark.parametrize(
    "labels, classes",
    [
        (["b", "a", "b"], ["a", "b"]),
        ([True, False, True], [False, True]),
        ([3, 1, 2], [1, 2, 3]),
        (pd.Series(["lo", "hi", "lo"], dtype="category"), ["hi", "lo"]),
        (pd.Series([1, None, 2], dtype="Int64"), [1, 2]),
        (pd.array([1, None, 2], dtype="Int64"), [1, 2]),
        (pd.array([True, None, False], dtype="boolean"), [False, True]),
    ],
)
def test_class_labels_of_every_type(labels, classes):
    targets = read_targets({"t": labels})
    kind = _types(targets, None)["t"]
    task = TASK_TYPES[kind]("t")
    task.fit(labelled_values(targets.columns[0], targets.missing(0)), True)
    assert list(task.classes_) == classes
    y, mask = encode_targets(targets, {"t": task})
    decoded = task.classes_[y[mask[:, 0], 0].astype(int)]
    assert list(decoded) == [v for v in labels if not pd.isna(v)]
    # Integer labels stay integers (not 1.0 and 2.0), with missing labels among them too.
    assert task.classes_.dtype.kind in {bool: "b", int: "iu", str: "UO"}[type(classes[0])]


#: Labels on both sides of every shortcut distinct_labels and infer_task_type take.
NUMERIC_LABELS = [
    np.array([3, 1, 2, 3]),
    np.array([0, 1, 1, 0], dtype=np.uint8),
    np.array([-120, 120, 5], dtype=np.int8),
    np.array([7, 7, 7]),
    np.array([5, -(2**40), 2**40]),
    np.array([2**63 - 1, -(2**63)]),
    np.array([2**64 - 1, 0, 1], dtype=np.uint64),
    np.arange(100_000) % 7,
    np.arange(50) * 10_000,
    np.array([0.0, 1.0, 1.0]),
    np.array([0.0, 1.0, 2.0, 2.0], dtype=np.float32),
    np.array([0.5, 1.0, 2.0]),
    np.array([1e20, 2e20, 1e20]),
    np.array([-0.0, 0.0, 3.0]),
    np.array([4.0]),
    np.array([1.0, np.inf]),
    np.array([1.0, np.nan]),
]


@pytest.mark.parametrize("labels", NUMERIC_LABELS, ids=range(len(NUMERIC_LABELS)))
def test_distinct_labels_and_inferred_types_match_numpy_and_scikit_learn(labels):
    if np.isfinite(labels).all():
        unique = np.unique(labels)
        assert distinct_labels(labels).dtype == unique.dtype
        np.testing.assert_array_equal(distinct_labels(labels), unique)
    with np.errstate(invalid="ignore"):
        try:
            expected = type_of_target(labels)
        except ValueError as error:
            with pytest.raises(ValueError, match=re.escape(str(error))):
                infer_task_type(labels)
            return
        inferred = infer_task_type(labels)
    assert inferred == ("regression" if expected == "continuous" else expected)


@pytest.mark.parametrize(
    "fit_labels, labels",
    [
        ([0, 1, 2, 1], [2, 0, 1, 1, 0]),  # codes 0..k-1
        ([3, 4, 5, 6], [6, 3, 5]),  # a run that does not start at 0
        (np.array([1, 2], dtype=np.uint8), np.array([2, 1, 1], dtype=np.uint8)),
        ([0, 2, 7], [7, 0, 2]),  # not a run: searched
        ([0, 1, 2], np.array([2.0, 0.0])),  # float labels of int classes
    ],
)
def test_integer_labels_encode_as_their_position_among_the_classes(fit_labels, labels):
    task = MulticlassTask("t").fit(np.asarray(fit_labels), standardize=False)
    codes = task.encode(np.asarray(labels))
    expected = np.searchsorted(task.classes_, np.asarray(labels)).astype(np.float32)
    assert codes.dtype == np.float32
    np.testing.assert_array_equal(codes, expected)


@pytest.mark.parametrize("unknown", [-1, 3, 9])
def test_an_integer_label_outside_the_classes_is_refused(unknown):
    task = MulticlassTask("t").fit(np.array([0, 1, 2]), standardize=False)
    with pytest.raises(ValueError, match=rf"Task 't' has labels \[{unknown}\] that were not seen"):
        task.encode(np.array([0, unknown, 2]))


def test_regression_is_standardised_over_labelled_rows():
    targets = read_targets({"r": [10.0, np.nan, 30.0]})
    values = labelled_values(targets.columns[0], targets.missing(0))
    task = TASK_TYPES["regression"]("r").fit(values, standardize=True)
    assert (task.mean_, task.scale_) == (20.0, 10.0)
    y, mask = encode_targets(targets, {"r": task})
    np.testing.assert_allclose(y[:, 0], [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(mask[:, 0], [True, False, True])
    assert TASK_TYPES["regression"]("r").fit(values, standardize=False).scale_ == 1.0


def test_wrap_like_gives_back_the_container():
    preds = {"a": np.array([1.0, 2.0]), "b": np.array(["x", "y"])}
    frame = wrap_like("frame", ["a", 7], ["a", "b"], preds, index=pd.Index([5, 6]))
    assert list(frame.columns) == ["a", 7] and list(frame.index) == [5, 6]
    assert isinstance(wrap_like("targetdict", ["a", "b"], ["a", "b"], preds), TargetDict)
    stacked = wrap_like("array2d", None, ["a", "b"], preds)
    assert stacked.shape == (2, 2) and stacked.dtype == object
    assert wrap_like("array1d", None, ["a"], preds) is preds["a"]


def test_kfold_slices_targetdict_for_fit():
    from sklearn_mtl import MultiTaskEstimator

    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 3))
    Y = TargetDict(a=X[:, 0], b=X[:, 1] > 0)
    est = MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=1, random_state=0)
    for train, test in KFold(2).split(X, Y):
        est.fit(X[train], Y.iloc[train])
        assert est.predict(X[test])["a"].shape == (20,)


def test_targetdict_as_array_has_one_column_per_task():
    Y = TargetDict(a=np.arange(3.0), b=["x", "y", "z"])
    array = np.asarray(Y)
    assert array.shape == (3, 2) and array.dtype == object
    assert array[1].tolist() == [1.0, "y"]
    assert np.asarray(TargetDict(a=[1, 2], b=[3, 4])).dtype == np.int64
    with pytest.raises(ValueError, match="different numbers of rows"):
        np.asarray(TargetDict(a=[1, 2], b=[3]))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([1, "1", "a", 2], dtype=object),
        np.array(["a", 1, "b", 2.5], dtype=object),
        pd.Series([True, "yes", "no", False]),
        [1, "1", "a", 2],
        TargetDict(t=[1, "1", "a", 2]),
    ],
    ids=["object-array", "str-first", "series-bool-str", "list", "targetdict-of-list"],
)
def test_labels_mixing_strings_and_numbers_are_refused(labels):
    # scikit-learn refuses such labels too ("Unknown label type"); NumPy would merge 1 and "1".
    targets = read_targets(labels if isinstance(labels, TargetDict) else {"t": labels})
    with pytest.raises(ValueError, match="Task 't' has labels of mixed input types"):
        _types(targets, None)
    # Declared, the labels are refused where fit and scoring read them.
    assert _types(targets, {"t": "multiclass"}) == {"t": "multiclass"}
    with pytest.raises(ValueError, match=r"strings and .*y.astype\(str\)"):
        labelled_values(targets.columns[0], targets.missing(0), "t")


def test_a_list_of_rows_keeps_each_task_type():
    rows = [[0.5 * i, "yes" if i % 2 else "no", i % 3] for i in range(30)]
    targets = read_targets(rows)
    assert targets.container == "array2d"
    types = _types(targets, None)
    assert types == {"task_0": "regression", "task_1": "binary", "task_2": "multiclass"}
    values = labelled_values(targets.columns[0], targets.missing(0), "task_0")
    assert values.dtype == np.float64 and values[3] == 1.5


def test_numbers_turned_into_text_by_a_2d_array_warn():
    rng = np.random.RandomState(0)
    stacked = np.column_stack([rng.normal(size=30), np.where(rng.rand(30) > 0.5, "y", "n")])
    assert stacked.dtype.kind == "U"  # NumPy made the numbers text
    targets = read_targets(stacked)
    with pytest.warns(UserWarning, match="'task_0' has labels that are numbers written as text"):
        types = _types(targets, None)
    assert types == {"task_0": "multiclass", "task_1": "binary"}
    # Text labels that read as a few integers are ordinary classes: no warning.
    targets = read_targets({"grade": np.array(["1", "2", "3"] * 10)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _types(targets, None) == {"grade": "multiclass"}


@pytest.mark.parametrize(
    "dates",
    [
        pd.date_range("2024-01-01", periods=6).to_numpy(),
        pd.Series(pd.date_range("2024-01-01", periods=6, tz="UTC")),
        pd.Series(pd.timedelta_range("1D", periods=6)),
        np.array([datetime.date(2024, 1, d) for d in range(1, 7)], dtype=object),
    ],
    ids=["datetime64", "tz-aware", "timedelta", "date-objects"],
)
def test_date_targets_are_not_inferred_as_classes(dates):
    targets = read_targets({"when": dates})
    with pytest.raises(ValueError, match="task 'when' from date or time labels.*pd.Timedelta"):
        _types(targets, None)
    assert _types(targets, {"when": "multiclass"}) == {"when": "multiclass"}


def test_regression_near_1e200_is_standardised_without_overflow():
    values = np.array([1e200, -3e199, 2e199, 0.0])
    task = TASK_TYPES["regression"]("r").fit(values, standardize=True)
    assert task.mean_ == pytest.approx(values.mean())
    assert task.scale_ == pytest.approx(np.std(values / 1e199) * 1e199)
    targets = read_targets({"r": values})
    y, _ = encode_targets(targets, {"r": task})
    np.testing.assert_allclose(y[:, 0], (values - values.mean()) / task.scale_, rtol=1e-6)
    decoded = task.predict(torch.from_numpy(y))
    np.testing.assert_allclose(decoded, values, atol=1e-6 * task.scale_)
    # Ordinary targets are standardised exactly as before: the power-of-two factor is exact.
    plain = np.array([3.0, 5.5, -1.25, 10.0])
    task = TASK_TYPES["regression"]("r").fit(plain, standardize=True)
    assert (task.mean_, task.scale_) == (plain.mean(), plain.std())


def test_regression_beyond_float32_or_float64_range_is_refused():
    task = TASK_TYPES["regression"]("r")
    with pytest.raises(ValueError, match=r"targets up to 1e\+39, too large for dtype\('float32'\)"):
        task.fit(np.array([1e39, 0.0]), standardize=False)
    with pytest.raises(ValueError, match="too close to float64's limit.*divide it by 1e100"):
        task.fit(np.array([1e305, 0.0]), standardize=True)
