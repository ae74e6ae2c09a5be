"""Raw tabular X: categorical, missing and skewed features encoded inside the estimator."""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl._features import _columns, _encoder
from sklearn_mtl._training import _data
from sklearn_mtl.architectures import ARCHITECTURES
from sklearn_mtl.inspection import compare_single_task, gate_weights, task_affinity
from sklearn_mtl.weighting import WEIGHTINGS

N = 600
FAST = dict(hidden_layer_sizes=(16,), max_epochs=20, batch_size=64, lr=3e-3, random_state=0)


def raw_frame(n=N, seed=0):
    """Int, float, bool, category, object and string columns, each with missing values.

    The binary target depends on the category, the string column and the float;
    the regression target on the int column and the bool.
    """
    rng = np.random.RandomState(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    shape = rng.choice(["round", "square"], n)
    size = rng.normal(size=n)
    count = rng.randint(0, 10, n)
    flag = rng.rand(n) < 0.5
    note = rng.choice(["a", "b", "c", "d"], n)
    X = pd.DataFrame(
        {
            "count": pd.array(count, dtype="Int64"),
            "size": size,
            "flag": pd.array(flag, dtype="boolean"),
            "colour": pd.Categorical(colour),
            "note": pd.Series(note, dtype=object),
            "shape": pd.array(shape, dtype="string"),
        }
    )
    missing = rng.rand(n, X.shape[1]) < 0.05
    for j, column in enumerate(X.columns):
        X.loc[missing[:, j], column] = None
    big = 2.0 * (colour == "red") - 2.0 * (shape == "square") + size > 0
    amount = count + 5.0 * flag + rng.normal(scale=0.1, size=n)
    Y = TargetDict(big=np.where(big, "yes", "no"), amount=amount)
    return X, Y


def fit(X, Y, **params):
    return MultiTaskEstimator(**{**FAST, **params}).fit(X, Y)


def test_mixed_frame_with_missing_values_fits_and_learns():
    X, Y = raw_frame()
    est = fit(X, Y)
    np.testing.assert_array_equal(est.feature_names_in_, X.columns)
    np.testing.assert_array_equal(est.is_categorical_, [False, False, False, True, True, True])
    X_test, Y_test = raw_frame(seed=1)
    scores = est.score_tasks(X_test, Y_test)
    assert scores["big"] > 0.8  # the majority class is about 0.5
    assert scores["amount"] > 0.8
    proba = est.predict_proba(X_test)["big"]
    assert np.isfinite(proba).all()


def test_inputs_are_not_modified():
    X, Y = raw_frame()
    X_before, Y_before = X.copy(deep=True), copy.deepcopy(Y)
    est = fit(X, Y, max_epochs=2)
    est.predict(X)
    pd.testing.assert_frame_equal(X, X_before)
    for task in Y:
        np.testing.assert_array_equal(Y[task], Y_before[task])


def test_unknown_categories_and_an_all_missing_row_at_predict():
    X, Y = raw_frame()
    est = fit(X, Y, max_epochs=2)
    X_new = X.head(3).copy()
    X_new["colour"] = pd.Categorical(["purple", "red", None])
    X_new["note"] = pd.Series(["zz", None, "a"], dtype=object)
    X_new.iloc[2] = None  # every column missing
    proba = est.predict_proba(X_new)["big"]
    assert np.isfinite(proba).all()
    assert np.isfinite(est.predict(X_new)["amount"]).all()


def test_rare_and_unseen_categories_share_a_slot_and_missing_has_its_own():
    rng = np.random.RandomState(0)
    city = np.array(["paris"] * 200 + ["rome"] * 200 + ["oslo"] * 2, dtype=object)
    city[::50] = None
    X = pd.DataFrame({"city": city, "x": rng.normal(size=len(city))})
    est = fit(X, {"t": rng.normal(size=len(city))}, max_epochs=2, min_frequency=5)
    (n_slots,) = est.net_.module_.inputs.categorical.tables[0].weight.shape[1:]
    assert n_slots == 4  # paris, rome, the rare slot and the missing slot
    probe = pd.DataFrame({"city": ["oslo", "tokyo", None, "rome"], "x": [0.0] * 4})
    t = est.predict(probe)["t"]
    assert t[0] == t[1]  # rare in fit and never seen share one slot
    assert len({t[1], t[2], t[3]}) == 3


def test_a_missing_value_fit_never_saw_reads_as_zeros_with_rare_categories_too():
    # Issue 26: OrdinalEncoder reads it as unknown, which shares the rare slot.
    rng = np.random.RandomState(0)
    city = np.array(["paris"] * 200 + ["rome"] * 200 + ["oslo"] * 2, dtype=object)
    X = pd.DataFrame({"city": city, "x": rng.normal(size=len(city))})
    est = fit(X, {"t": rng.normal(size=len(city))}, max_epochs=1, min_frequency=5)
    probe = pd.DataFrame({"city": ["oslo", "tokyo", None, "rome"], "x": [0.0] * 4})
    slots = est._feature_encoder.encode(probe)[:, 0]
    assert slots[0] == slots[1] > 0  # rare and unseen: the rare slot
    assert slots[2] == 0  # missing, never seen in fit: no slot, as the guide says


@pytest.mark.parametrize(
    "as_predicted",
    [
        lambda zip_: zip_.astype(float),
        lambda zip_: zip_.astype(float).where(zip_ != 3),  # what pandas does with a NaN
        lambda zip_: zip_.astype("Int64"),
        lambda zip_: zip_.astype("category"),
        lambda zip_: zip_.astype(object),
        lambda zip_: zip_.astype(np.int8),
    ],
    ids=["float64", "float64_with_nan", "Int64", "category", "object", "int8"],
)
def test_integer_codes_read_the_same_whatever_the_dtype(as_predicted):
    # Issue 26: 10 read as "10" in fit and as "10.0" from a float column, unseen.
    rng = np.random.RandomState(0)
    X = pd.DataFrame({"zip": rng.randint(0, 6, 300) * 10, "x": rng.normal(size=300)})
    Y = {"t": (X["zip"] % 20 == 0) ^ (X["x"] > 1)}
    est = fit(X, Y, max_epochs=2, categorical_features=["zip"])
    X_new = X.assign(zip=as_predicted(X["zip"]))
    labelled = X_new["zip"].notna().to_numpy()
    assert labelled.sum() > 200
    np.testing.assert_array_equal(
        est.predict_proba(X_new)["t"][labelled], est.predict_proba(X)["t"][labelled]
    )


def test_categories_are_read_by_value():
    def text(value, dtype=object):
        return _columns.category_strings(pd.Series([value], dtype=dtype))[0, 0]

    assert text(10) == text(10.0) == text(np.int8(10)) == text(10, "Int64") == "10"
    assert text(0.5) == text(0.5, np.float32) == "0.5"
    assert text(0.1, np.float32) == text(np.float64(np.float32(0.1)))  # one value, two dtypes
    assert text(True) == text(np.True_) == "True" and text("10.0") == "10.0"


@pytest.mark.parametrize(
    "column",
    [pd.Series([1, "1", "a"] * 5, dtype=object), pd.Series(pd.Categorical([1, "1", "a"] * 5))],
    ids=["object", "category"],
)
def test_a_column_mixing_strings_and_numbers_is_refused(column):
    # Issue 26: 1 and "1" became one category; OrdinalEncoder refuses the mix too.
    X = pd.DataFrame({"c": column, "x": np.arange(15.0)})
    with pytest.raises(TypeError, match=r"Column 'c' .* mixes strings with other values.*astype"):
        fit(X, {"t": np.arange(15) % 2}, max_epochs=1)


@pytest.mark.parametrize("n_rows", [4, 40], ids=["few rows", "many rows"])
@pytest.mark.parametrize(
    "value", [[1, 2], {"a": 1}, np.array([1.0, 2.0])], ids=["list", "dict", "array"]
)
def test_a_column_of_lists_is_refused_with_its_name(value, n_rows):
    # pandas' own "unhashable type: 'list'" named neither the column nor a fix.
    values = [value] * (n_rows - 1) + [None]
    X = pd.DataFrame({"x": np.arange(float(n_rows)), "tags": pd.Series(values, dtype=object)})
    message = rf"Column 'tags' of X holds {type(value).__name__} values .*\.astype\(str\)"
    with pytest.raises(TypeError, match=message):
        _columns.category_strings(X["tags"])
    if n_rows > 4:
        with pytest.raises(TypeError, match=message):
            fit(X, {"t": np.arange(n_rows) % 2}, max_epochs=1)


def test_categorical_with_1000_levels_is_embedded_and_learns():
    rng = np.random.RandomState(0)
    n = 20_000
    level = rng.randint(0, 1000, n)
    X = pd.DataFrame({"id": pd.Categorical(level.astype(str)), "noise": rng.normal(size=n)})
    Y = {"even": np.where(level % 2 == 0, "even", "odd")}
    est = fit(X, Y, hidden_layer_sizes=(32,), max_epochs=10, batch_size=256, lr=1e-2)
    (table,) = est.net_.module_.inputs.categorical.tables
    assert isinstance(table, torch.nn.Embedding)
    assert table.num_embeddings == 1001 and table.embedding_dim == 16
    X_test = pd.DataFrame(
        {"id": pd.Categorical(level[:2000].astype(str)), "noise": rng.normal(size=2000)}
    )
    assert est.score(X_test, {"even": Y["even"][:2000]}) > 0.9  # chance is 0.5


def test_columns_in_another_order_missing_or_extra_give_clear_errors():
    X, Y = raw_frame()
    est = fit(X, Y, max_epochs=1)
    with pytest.raises(ValueError, match=r"same order.*\['size', 'count'\].*feature_names_in_"):
        est.predict(X[["size", "count", "flag", "colour", "note", "shape"]])
    with pytest.raises(ValueError, match="seen at fit time, yet now missing:\n- shape"):
        est.predict(X.drop(columns="shape"))
    with pytest.raises(ValueError, match="unseen at fit time:\n- extra"):
        est.predict(X.assign(extra=1.0))


def test_pickled_model_predicts_the_same():
    X, Y = raw_frame()
    est = fit(X, Y, max_epochs=2)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X)["big"], est.predict_proba(X)["big"])
    np.testing.assert_array_equal(restored.predict(X)["amount"], est.predict(X)["amount"])


@pytest.mark.parametrize(
    "spec",
    [["colour", "note", "shape"], [3, 4, 5], [False] * 3 + [True] * 3, "from_dtype"],
    ids=["names", "indices", "mask", "from_dtype"],
)
def test_categorical_features_forms_agree(spec):
    X, Y = raw_frame()
    est = fit(X, Y, max_epochs=2, categorical_features=spec)
    reference = fit(X, Y, max_epochs=2)
    np.testing.assert_array_equal(est.predict_proba(X)["big"], reference.predict_proba(X)["big"])


def test_categorical_columns_of_an_array_by_index():
    X, Y = raw_frame()
    values = X.astype(object).where(X.notna(), np.nan).to_numpy()
    est = fit(values, Y, max_epochs=2, categorical_features=[3, 4, 5])
    assert est.is_categorical_.tolist() == [False] * 3 + [True] * 3
    assert np.isfinite(est.predict(values[:10])["amount"]).all()
    # An integer column declared categorical: its values are categories.
    numbers = np.random.RandomState(0).randint(0, 3, size=(100, 2)).astype(float)
    est = fit(numbers, {"t": numbers[:, 0] == 1}, max_epochs=2, categorical_features=[0])
    assert est.net_.module_.inputs.categorical.out_features == 3


@pytest.mark.parametrize(
    "spec, X_kind, match",
    [
        (["nope"], "frame", r"names columns that X does not have: \['nope'\]"),
        ([7], "frame", r"indices \[7\], but X has 6 columns"),
        ([True, False], "frame", "boolean mask of length 2, but X has 6 columns"),
        (["colour"], "array", "names columns, but X has no column names"),
        ([1.5], "frame", "column names \\(str\\), column indices \\(int\\) or booleans"),
        ([[0, 1]], "frame", "1-D array-like"),
    ],
)
def test_bad_categorical_features(spec, X_kind, match):
    X, Y = raw_frame(50)
    X = X if X_kind == "frame" else X.to_numpy()
    with pytest.raises(ValueError, match=match):
        MultiTaskEstimator(categorical_features=spec, max_epochs=1).fit(X, Y)


def test_columns_that_are_neither_numeric_nor_categorical():
    X, Y = raw_frame(50)
    dated = X.assign(when=pd.date_range("2020-01-01", periods=50))
    with pytest.raises(ValueError, match="'when' of X has dtype datetime64.*convert it"):
        MultiTaskEstimator(max_epochs=1).fit(dated, Y)
    with pytest.raises(ValueError, match="'note' of X is treated as numeric.*categorical_feat"):
        MultiTaskEstimator(max_epochs=1, categorical_features=["colour"]).fit(X, Y)
    huge = X.assign(size=X["size"] * 1e300)
    with pytest.raises(ValueError, match="too large for float32 in column 'size'"):
        MultiTaskEstimator(max_epochs=1).fit(huge, Y)


def test_outliers_at_predict_stay_finite_and_bounded():
    X, Y = raw_frame()
    est = fit(X, Y, max_epochs=2)
    probe = X.iloc[[0, 0, 0, 0]].copy()
    probe["size"] = [1e30, -1e30, 1e20, np.finfo(np.float32).max]
    amount = est.predict(probe)["amount"]
    proba = est.predict_proba(probe)["big"]
    assert np.isfinite(amount).all() and np.isfinite(proba).all()
    # Clipping saturates: 1e20 and 1e30 read alike, at the clipping bound.
    assert abs(amount[0] - amount[2]) < 1e-3 * (1 + abs(amount[0]))
    numeric = est.net_.module_.inputs.numeric
    column = X.columns.get_loc("size")
    rows = torch.zeros(5, X.shape[1])
    rows[:, column] = torch.tensor([1e30, -1e30, 1e20, float("inf"), float("nan")])
    scaled = numeric(rows)[:, column].tolist()
    np.testing.assert_allclose(scaled[:4], [5, -5, 5, 5], rtol=1e-6)
    assert scaled[4] == 0.0  # missing reads as the mean of fit


def test_missing_numeric_values_in_arrays_are_imputed_and_flagged():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    X[::10, 1] = np.nan
    Y = {"t": np.nan_to_num(X[:, 0]) + np.isnan(X[:, 1])}
    est = fit(X, Y)
    inputs = est.net_.module_.inputs
    assert inputs.numeric.missing.tolist() == [1]
    assert inputs.out_features == 4  # three columns and one missing indicator
    assert est.score(X, Y) > 0.8
    # At predict, a NaN in a column without any in fit reads as that column's
    # mean in fit (no outlier here to clip first).
    row = X[1:2].copy()
    with_nan, with_mean = row.copy(), row.copy()
    with_nan[0, 0], with_mean[0, 0] = np.nan, X[:, 0].astype(np.float32).mean()
    np.testing.assert_allclose(est.predict(with_nan)["t"], est.predict(with_mean)["t"], rtol=1e-5)


def test_numeric_arrays_are_not_copied(training_data):
    X = np.random.RandomState(0).normal(size=(200, 4)).astype(np.float32)
    fit(X, {"t": X[:, 0]}, max_epochs=1)
    assert training_data[0][0] is X


def test_a_frame_is_encoded_once_per_fit_and_by_chunks_of_batches_at_predict(monkeypatch):
    X, Y = raw_frame()
    calls, batches = [], []
    encode = _encoder.FeatureEncoder._encode  # what fit_transform and encode both call

    def counting(self, frame):
        calls.append(len(frame))
        return encode(self, frame)

    monkeypatch.setattr(_encoder.FeatureEncoder, "_encode", counting)
    est = fit(X, Y, max_epochs=5, early_stopping=True)
    assert calls == [N]  # once, whatever the number of epochs
    est.net_.module_.register_forward_pre_hook(lambda module, args: batches.append(len(args[0])))
    est.net_.inference_rows_ = 256  # rows per forward pass, measured in fit
    calls.clear()
    est.predict(X)
    assert calls == [N]  # the frame fits in one chunk of CHUNK_BYTES
    assert batches == [256, 256, N - 512]  # the network still reads it 256 rows at a time
    # A chunk is whole batches, as many as fit in CHUNK_BYTES of encoded rows.
    n_features = est._feature_encoder.layout_.n_features
    monkeypatch.setattr(_data, "CHUNK_BYTES", 2 * 256 * 4 * n_features + 1)
    calls.clear()
    batches.clear()
    est.predict(X)
    assert calls == [512, N - 512]
    assert batches == [256, 256, N - 512]


def test_adult_fits_as_it_comes():
    from sklearn_mtl.datasets import ADULT_TASKS, load_adult

    est = MultiTaskEstimator(tasks=ADULT_TASKS, max_epochs=2, batch_size=512, random_state=0).fit(
        *load_adult()
    )
    scores = est.score_tasks(*load_adult("test"))
    assert scores["marital_status"] > 0.6  # the majority class is 0.46
    assert scores["hours_per_week"] > 0.1


# -- everything keeps working with a raw frame ---------------------------------------------


@pytest.mark.parametrize(
    "kind, name",
    [
        *(("weighting", name) for name in WEIGHTINGS),
        *(("architecture", name) for name in ARCHITECTURES),
    ],
)
def test_every_strategy_and_architecture_takes_a_raw_frame(kind, name):
    X, Y = raw_frame(200)
    est = fit(X, Y, max_epochs=2, **{kind: name})
    assert est.n_epochs_ == 2
    assert np.isfinite(est.predict_proba(X)["big"]).all()


def test_pipeline_and_grid_search_on_a_raw_frame():
    X, Y = raw_frame()
    pipe = make_pipeline(
        FunctionTransformer(lambda X: X.drop(columns="note")), MultiTaskEstimator(**FAST)
    )
    search = GridSearchCV(
        pipe,
        {"multitaskestimator__min_frequency": [1, 50], "multitaskestimator__max_epochs": [2]},
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(X, Y)
    assert search.best_estimator_[-1].feature_names_in_.tolist() == [
        "count",
        "size",
        "flag",
        "colour",
        "shape",
    ]
    assert np.isfinite(search.predict(X)["amount"]).all()


def test_inspection_on_a_raw_frame():
    X, Y = raw_frame()
    est = MultiTaskEstimator(**{**FAST, "max_epochs": 3})
    table = compare_single_task(est, X, Y, cv=KFold(2, shuffle=True, random_state=0))
    assert set(table.index) == {"big", "amount"}
    affinity = task_affinity(est.fit(X, Y), X, Y)
    assert affinity.shape == (2, 2) and np.isfinite(affinity.to_numpy()).all()
    gates = gate_weights(fit(X, Y, max_epochs=2, architecture="mmoe"), X)
    np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("as_text", [False, True], ids=["category dtype", "object dtype"])
def test_a_few_rows_are_encoded_as_a_batch_encodes_them(as_text):
    rng = np.random.RandomState(0)
    n = 400
    levels = [f"c{i}" for i in range(12)]
    frame = pd.DataFrame(
        {
            "city": pd.Categorical(rng.choice(levels, n)),
            "code": rng.choice([1, 2, 3, 40, 50], n).astype(float),
            "size": rng.normal(size=n),
        }
    )
    frame.loc[::7, "city"] = None
    frame.loc[::5, "size"] = np.nan
    est = MultiTaskEstimator(
        hidden_layer_sizes=(8,),
        max_epochs=2,
        categorical_features=["city", "code"],
        min_frequency=30,
        random_state=0,
    ).fit(frame, {"y": frame["size"].fillna(0) + (frame["city"] == "c1")})
    rows = pd.DataFrame(
        {
            "city": ["c1", "unseen", None, "c2", "nan", "c11"],
            "code": [1.0, 2, np.nan, 40, 999, 50],
            "size": [0.5, np.nan, 1.0, -2.0, 0.0, 3.0],
        }
    )
    if not as_text:  # a short categorical column is read through its codes
        rows["city"] = rows["city"].astype("category")
        rows["code"] = rows["code"].astype("category")
    encoder = est._feature_encoder
    assert len(rows) <= _encoder.FEW_ROWS < len(frame)
    batch = encoder.encode(pd.concat([rows] * 10, ignore_index=True))[: len(rows)]
    np.testing.assert_array_equal(encoder.encode(rows), batch)
    one_by_one = [encoder.encode(rows.iloc[[i]])[0] for i in range(len(rows))]
    np.testing.assert_array_equal(np.array(one_by_one), batch)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([3, -7, 0], dtype=np.int8),
        pd.Series([2**40, 1, 0], dtype=np.int64),
        pd.Series([5, 0, 9], dtype=np.uint16),
        pd.Series([0.5, np.nan, -1e30], dtype=np.float64),
        pd.Series([0.25, np.nan, 3.0], dtype=np.float32),
        pd.Series([True, False, True]),
    ],
    ids=lambda column: str(column.dtype),
)
def test_a_numpy_numeric_column_is_cast_as_pandas_casts_it(column):
    # The plain cast of NumPy dtypes against pandas' general conversion (pd.NA aware).
    expected = column.to_numpy(dtype=np.float32, na_value=np.nan)
    np.testing.assert_array_equal(_columns.numeric_values(column), expected)


def test_a_value_beyond_float32_is_refused_on_the_plain_cast_too():
    with pytest.raises(ValueError, match="infinity or a value too large for float32 in column 'x'"):
        _columns.numeric_values(pd.Series([1.0, 1e300], name="x"))


def test_a_frame_with_the_columns_of_fit_skips_validate_data_and_others_are_checked(
    monkeypatch,
):
    X, Y = raw_frame()
    est = fit(X, Y, max_epochs=1)
    calls = []
    validate = _encoder.validate_data
    monkeypatch.setattr(
        _encoder, "validate_data", lambda *a, **k: calls.append(1) or validate(*a, **k)
    )
    expected = est.predict_proba(X.iloc[:5])["big"]
    assert not calls
    renamed = X.iloc[:5].rename(columns={"size": "Size"})
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- Size"):
        est.predict_proba(renamed)
    assert calls
    np.testing.assert_array_equal(est.predict_proba(X.iloc[:5].copy())["big"], expected)


def test_a_chunk_reaching_past_the_end_encodes_the_frame_without_slicing_it(monkeypatch):
    X, Y = raw_frame()
    est = fit(X, Y, max_epochs=1)
    rows = est._feature_encoder.transform(X.iloc[:3])
    seen = []
    encode = est._feature_encoder.encode
    monkeypatch.setattr(
        est._feature_encoder, "encode", lambda frame: seen.append(frame) or encode(frame)
    )
    np.testing.assert_array_equal(rows[0:10_000], encode(X.iloc[:3]))
    assert seen[0] is rows.frame
    np.testing.assert_array_equal(rows[1:3], encode(X.iloc[1:3]))
    assert seen[1] is not rows.frame and len(seen[1]) == 2
