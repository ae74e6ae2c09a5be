"""ONNX export: onnxruntime gives what predict and predict_proba give, and clear errors."""

import importlib.util

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import torch
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict, for_task, onnx_inputs, to_onnx
from sklearn_mtl.architectures import ARCHITECTURES
from sklearn_mtl.datasets import ADULT_TASKS, load_adult, make_multitask

#: Every task type make_multitask draws, so that a new one is exported here too.
TASK_TYPES = ["regression", "binary", "multiclass", "count", "ordinal", "multilabel"]


def network_options():
    """Options of the network besides its architecture, each to export on its own.

    Every string value the estimator's constraints allow for a numeric
    embedding, an efficient ensemble and bagging, once the estimator has them.
    """
    options = {
        "plain": {},
        "head_layers_tanh_dropout": dict(head_hidden_sizes=(4,), activation="tanh", dropout=0.1),
    }
    constraints = MultiTaskEstimator._parameter_constraints
    for constraint in constraints.get("numeric_embedding", []):
        for value in sorted(getattr(constraint, "options", ())):
            options[f"numeric_embedding={value}"] = {"numeric_embedding": value}
    if "ensemble_size" in constraints:
        options["ensemble_size=3"] = {"ensemble_size": 3}
    if "n_bags" in constraints:  # per-task early stopping: each bag's best epochs, averaged
        options["n_bags=2"] = {"n_bags": 2, "early_stopping": "per_task"}
    return options


NETWORK_OPTIONS = network_options()

#: Tolerance on probabilities and on values in the target's units.
TOLERANCE = 1e-5


def run_onnx(onnx_model, X):
    """The graph's outputs on X, name -> array, from onnxruntime."""
    session = ort.InferenceSession(onnx_model.SerializeToString())
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, onnx_inputs(onnx_model, X))))


def assert_onnx_matches(model, X, X_sample=None):
    """onnxruntime's outputs equal predict's labels and are within TOLERANCE elsewhere.

    Returns the largest absolute differences: (probabilities, values).
    """
    onnx_model = to_onnx(model, X[:5] if X_sample is None else X_sample)
    onnx.checker.check_model(onnx_model, full_check=True)
    outputs = run_onnx(onnx_model, X)
    estimator = model[-1] if hasattr(model, "steps") else model
    predictions = model.predict(X)
    classified = set(estimator.tasks_.values()) - {"regression", "count"}
    probabilities = model.predict_proba(X) if classified else {}
    quantiles = {}
    if hasattr(estimator, "predict_quantiles"):
        quantiles = estimator.predict_quantiles(
            model[:-1].transform(X) if model is not estimator else X
        )
    expected_names = []
    proba_error = value_error = 0.0
    for task, kind in estimator.tasks_.items():
        expected = np.asarray(predictions[task])
        got = outputs[task]
        expected_names.append(task)
        assert got.shape == expected.shape, task
        if kind in ("regression", "count"):
            value_error = max(value_error, np.abs(got - expected).max())
            np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE, err_msg=task)
            if task in quantiles:
                expected_names.append(f"{task}_quantiles")
                got = outputs[f"{task}_quantiles"]
                value_error = max(value_error, np.abs(got - quantiles[task]).max())
                np.testing.assert_allclose(got, quantiles[task], rtol=0, atol=TOLERANCE)
                assert (np.diff(got, axis=1) >= 0).all(), "exported quantiles cross"
            continue
        np.testing.assert_array_equal(got, expected, err_msg=task)
        expected_names.append(f"{task}_proba")
        proba = outputs[f"{task}_proba"]
        proba_error = max(proba_error, np.abs(proba - probabilities[task]).max())
        np.testing.assert_allclose(proba, probabilities[task], rtol=0, atol=TOLERANCE)
    assert list(outputs) == expected_names
    return proba_error, value_error


@pytest.fixture(scope="module")
def every_type():
    """A tiny problem with a task of each type, some labels missing, a discrete column."""
    X, Y = make_multitask(240, 8, len(TASK_TYPES), TASK_TYPES, correlation=0.8, random_state=0)
    X[:, 7] = np.round(X[:, 7] * 3)  # a few dozen values: "mixed" embeds it piecewise-linearly
    rng = np.random.RandomState(0)
    Y["task_0"] = np.where(rng.rand(240) < 0.2, np.nan, Y["task_0"])
    return X.astype(np.float32), Y, {"task_3": "count", "task_4": "ordinal"}


def tiny(tasks, **params):
    # One network unless an option asks for bags (NETWORK_OPTIONS' "n_bags=2").
    base = dict(hidden_layer_sizes=(8,), max_epochs=2, batch_size=64, n_bags=1, random_state=0)
    return MultiTaskEstimator(tasks, **{**base, **params})


# Each architecture exports on its own and behind a scaler: the fast suite keeps one
# pipeline (the scaler's graph is the same before any body); the others run with -m slow.
_ARCHITECTURE_CASES = [
    pytest.param(
        name,
        in_pipeline,
        id=f"{'pipeline' if in_pipeline else 'estimator'}-{name}",
        marks=[pytest.mark.slow] if in_pipeline and name != "shared" else [],
    )
    for in_pipeline in (False, True)
    for name in sorted(ARCHITECTURES)
]


@pytest.mark.parametrize(("architecture", "in_pipeline"), _ARCHITECTURE_CASES)
def test_every_architecture_and_task_type(every_type, architecture, in_pipeline):
    X, Y, tasks = every_type
    model = tiny(tasks, architecture=architecture)
    if in_pipeline:
        model = make_pipeline(StandardScaler(), model)
    model.fit(X, Y)
    assert_onnx_matches(model, X)


@pytest.mark.parametrize("options", list(NETWORK_OPTIONS.values()), ids=list(NETWORK_OPTIONS))
def test_network_options(every_type, options):
    X, Y, tasks = every_type
    assert_onnx_matches(tiny(tasks, **options).fit(X, Y), X)


@pytest.mark.parametrize(
    ("ensemble_size", "in_pipeline"),
    [
        pytest.param(3, False, id="estimator-3"),
        pytest.param(1, True, id="pipeline-1"),
        pytest.param(1, False, id="estimator-1", marks=pytest.mark.slow),
        pytest.param(3, True, id="pipeline-3", marks=pytest.mark.slow),
    ],
)
def test_quantile_heads(rng, ensemble_size, in_pipeline):
    X = rng.normal(size=(300, 5)).astype(np.float32)
    Y = {
        "delay": X[:, 0] + np.abs(X[:, 1]) * rng.normal(size=300),
        "late": X[:, 0] > 0.5,
        "spend": np.exp(X[:, 2]),
    }
    # One head with the median among its levels, one whose median is interpolated.
    losses = {"delay": ("quantile", [0.05, 0.5, 0.95]), "spend": ("quantile", [0.2, 0.7])}
    model = tiny(None, losses=losses, ensemble_size=ensemble_size)
    if in_pipeline:
        model = make_pipeline(StandardScaler(), model)
    model.fit(X, Y)
    onnx_model = to_onnx(model, X[:5])
    names = [output.name for output in onnx_model.graph.output]
    assert names == ["delay", "delay_quantiles", "late", "late_proba", "spend", "spend_quantiles"]
    assert_onnx_matches(model, X)


def test_per_task_early_stopping_exports_each_tasks_best_epoch():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(500, 6)).astype(np.float32)
    signal = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    Y = TargetDict(
        signal=signal + 0.2 * rng.normal(size=500),
        noise=rng.normal(size=500),
        sign=np.where(signal + rng.normal(size=500) > 0, "up", "down"),
    )
    est = tiny(
        None,
        hidden_layer_sizes=(32,),
        max_epochs=40,
        lr=3e-3,
        early_stopping="per_task",
        validation_fraction=0.25,
        n_iter_no_change=4,
    ).fit(X, Y)
    # The test is only worth it when some task predicts from a state of its own.
    assert est.net_.task_states_, est.best_epochs_
    assert len(set(est.best_epochs_.values())) > 1
    assert_onnx_matches(est, X)
    # The export reads each task's state: the network's own state alone differs.
    onnx_model = to_onnx(est, X[:5])
    outputs = run_onnx(onnx_model, X)
    joint = est.net_.module_.eval()
    with torch.no_grad():
        joint_signal = joint(torch.as_tensor(X))["signal"][:, 0].double().numpy()
    task = est._predictor.tasks["signal"]
    joint_signal = joint_signal * task.scale_ + task.mean_
    if est.best_epochs_["signal"] in est.net_.task_states_:
        assert np.abs(outputs["signal"] - joint_signal).max() > 1e-3


def test_label_types_and_a_batch_of_one(rng):
    X = rng.normal(size=(200, 3))
    Y = TargetDict(
        flag=X[:, 0] > 0,
        grade=np.digitize(X[:, 1], [-0.5, 0.5]) * 10,
        level=np.digitize(X[:, 2], [0.0]) + 0.5,
        colour=np.array(["red", "green", "blue"])[np.digitize(X[:, 0] + X[:, 1], [-1, 1])],
    )
    est = tiny({"grade": "multiclass", "level": "binary"}).fit(X, Y)
    assert_onnx_matches(est, X)
    onnx_model = to_onnx(est, X[:5])
    types = {o.name: o.type.tensor_type.elem_type for o in onnx_model.graph.output}
    assert types["flag"] == onnx.TensorProto.BOOL
    assert types["grade"] == onnx.TensorProto.INT64
    assert types["level"] == onnx.TensorProto.DOUBLE
    assert types["colour"] == onnx.TensorProto.STRING
    one = run_onnx(onnx_model, X[:1])
    assert one["colour"].shape == (1,) and one["colour_proba"].shape == (1, 3)
    assert one["colour"][0] == est.predict(X[:1])["colour"][0]


def test_raw_columns_of_every_kind(rng):
    n = 1200
    X = pd.DataFrame(
        {
            "size": np.where(rng.rand(n) < 0.1, np.nan, rng.normal(size=n)),
            "count": rng.randint(0, 50, n),
            "flag": rng.rand(n) < 0.3,
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
            "town": rng.choice(np.array(["a", "b", "c", None], dtype=object), n),
            "code": pd.array(rng.choice(["x", "y", None], n), dtype="string"),
            # 100 levels of about 12 rows each: embedded, not one-hot encoded.
            "shop": np.array([f"s{k}" for k in rng.randint(0, 100, n)], dtype=object),
        }
    )
    X.loc[:9, "shop"] = [f"rare{k}" for k in range(10)]  # share the rare slot
    signal = X["size"].fillna(0) + (X["colour"] == "red") + X["flag"]
    Y = {"high": signal > 0.5, "amount": signal + 0.1 * X["count"]}
    est = tiny(None, hidden_layer_sizes=(16,), max_epochs=3).fit(X, Y)
    assert any(isinstance(m, torch.nn.Embedding) for m in est.net_.module_.modules())
    X_new = X.copy()
    X_new.loc[::7, "shop"] = "new shop"
    X_new.loc[::11, "town"] = "elsewhere"
    assert_onnx_matches(est, X_new, X_sample=X[:5])


def test_a_missing_value_in_a_numeric_column_complete_in_fit(rng):
    # Issue 28: predict skips its NaN pass on finite batches; the graph must keep it.
    X, Y = make_multitask(300, 5, 2, ["regression", "binary"], random_state=0)
    est = tiny(None).fit(X, Y)
    X_missing = X.copy()
    X_missing[::4, 1] = np.nan
    assert np.isfinite(est.predict(X_missing)["task_0"]).all()
    assert_onnx_matches(est, X_missing.astype(np.float32), X_sample=X[:5].astype(np.float32))


def test_logged_skewed_columns_with_missing_and_negative_values_at_predict(rng):
    # Below 1,000 rows (no numeric embedding) non-negative, skewed columns also enter
    # as log1p; the graph must log the same columns, read a negative value as 0 and a
    # NaN as missing.
    n = 600
    amount = rng.lognormal(3, 1.5, n)
    visits = np.where(rng.rand(n) < 0.1, np.nan, rng.poisson(rng.exponential(3, n)))
    X = np.column_stack([amount, visits, rng.normal(size=n)]).astype(np.float32)
    Y = {"spend": np.log1p(amount) + np.nan_to_num(visits), "many": visits > 2}
    est = tiny(None, max_epochs=3).fit(X, Y)
    assert est.net_.module_.inputs.numeric.logged.tolist() == [0, 1]
    embedded = tiny(None, max_epochs=1, numeric_embedding="periodic").fit(X, Y)
    assert embedded.net_.module_.inputs.numeric.logged is None  # it shapes each column itself
    X_new = X.copy()
    X_new[::5, 0] = -3.0
    X_new[::7, 1] = np.nan
    X_new[1::7, 1] = 1e9
    assert_onnx_matches(est, X_new, X_sample=X[:5])


def test_missing_values_and_a_category_spelled_nan(rng):
    # Issue 26: a missing value fit never saw went to the rare slot in predict and
    # to no slot in the graph; a category "nan" was read as a missing value.
    n = 400
    town = rng.choice(["a", "b", "c", "rare"], n, p=[0.4, 0.3, 0.29, 0.01]).astype(object)
    X = pd.DataFrame({"town": town, "x": rng.normal(size=n)})
    Y = {"t": (X["town"] == "a") ^ (X["x"] > 1)}
    missing_at_predict = X.assign(town=X["town"].where(np.arange(n) % 5 > 0))
    est = tiny(None, hidden_layer_sizes=(16,)).fit(X, Y)
    assert len(est._feature_encoder.category_slots()[0][0]) == 4  # a, b, c and rare
    assert_onnx_matches(est, missing_at_predict, X_sample=X[:5])

    spelled = X["town"].where(np.arange(n) % 7 > 0).mask(np.arange(n) % 3 == 0, "nan")
    spelled[::11] = "nan~"
    X_spelled = X.assign(town=spelled)
    est = tiny(None, hidden_layer_sizes=(16,), min_frequency=1).fit(X_spelled, Y)
    inputs = onnx_inputs(to_onnx(est, X_spelled[:5]), X_spelled)["town"].ravel()
    assert set(inputs[spelled.isna()]) == {"nan"}
    assert set(inputs[spelled == "nan"]) == {"nan~"} and set(inputs[spelled == "nan~"]) == {"nan~~"}
    probe = X_spelled.assign(town=X_spelled["town"].mask(np.arange(n) % 13 == 0, "nan~~"))
    assert_onnx_matches(est, probe, X_sample=X_spelled[:5])


def test_numbers_declared_categorical_become_string_inputs(rng):
    # Issue 26: the export asked for "the dtypes of fit", which the user had given.
    X = pd.DataFrame({"zip": rng.randint(0, 5, 300) * 10, "x": rng.normal(size=300)})
    Y = {"t": (X["zip"] == 20) ^ (X["x"] > 1)}
    est = tiny(None, categorical_features=["zip"]).fit(X, Y)
    onnx_model = to_onnx(est, X[:5])
    assert onnx_model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.STRING
    assert (onnx_inputs(onnx_model, X[:3])["zip"].ravel() == X["zip"][:3].astype(str)).all()
    assert_onnx_matches(est, X.astype({"zip": float}), X_sample=X[:5])
    # Behind a Pipeline the columns reach the estimator as the steps make them.
    identity = make_column_transformer(("passthrough", ["zip", "x"]))
    piped = make_pipeline(identity, tiny(None, categorical_features=[0])).fit(X, Y)
    with pytest.raises(ValueError, match=r"categorical columns \[0\].*behind a Pipeline, encode"):
        to_onnx(piped, X[:5])


@pytest.fixture(scope="module")
def adult():
    X, Y = load_adult("train")
    rows = np.random.RandomState(0).choice(len(X), 1500, replace=False)
    X, Y = X.iloc[rows].reset_index(drop=True), Y.iloc[rows].reset_index(drop=True)
    # Missing numbers and strings, a category first seen at predict.
    X["age"] = X["age"].astype(float).mask(np.arange(len(X)) % 17 == 0)
    X["occupation"] = X["occupation"].astype(object)
    X_new = X.copy()
    X_new.loc[::50, "occupation"] = "Astronaut"
    return X, Y, X_new


def test_adult_raw_dataframe(adult):
    X, Y, X_new = adult
    est = MultiTaskEstimator(ADULT_TASKS, hidden_layer_sizes=(16,), max_epochs=2, random_state=0)
    est.fit(X, Y)
    assert_onnx_matches(est, X_new, X_sample=X[:5])


def adult_pipeline(occupation=None):
    """One-hot encoding (missing and unseen categories included), imputation, scaling."""
    preprocessing = make_column_transformer(
        (occupation or OneHotEncoder(handle_unknown="ignore"), ["occupation"]),
        (OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include="category")),
        (
            make_pipeline(SimpleImputer(), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
        sparse_threshold=0.0,
    )
    # No numeric embedding: see test_periodic_embedding_behind_float32_preprocessing.
    est = MultiTaskEstimator(
        ADULT_TASKS, hidden_layer_sizes=(16,), max_epochs=2, numeric_embedding=None, random_state=0
    )
    return make_pipeline(preprocessing, est)


def test_adult_pipeline_with_column_transformer(adult):
    X, Y, X_new = adult
    assert_onnx_matches(adult_pipeline().fit(X, Y), X_new, X_sample=X[:5])


def test_periodic_embedding_behind_float32_preprocessing(adult):
    # skl2onnx scales in float32 where scikit-learn scales in float64; a periodic
    # embedding multiplies that last-bit difference by 2 pi times its frequencies
    # (up to about 200): the documented parity is then 1e-6 relative, not 1e-5 absolute.
    X, Y, X_new = adult
    model = adult_pipeline().set_params(multitaskestimator__numeric_embedding="periodic")
    model.fit(X, Y)
    outputs = run_onnx(to_onnx(model, X[:5]), X_new)
    hours = model.predict(X_new)["hours_per_week"]
    np.testing.assert_allclose(outputs["hours_per_week"], hours, rtol=1e-6, atol=0)
    for task in ("income", "marital_status"):
        proba = model.predict_proba(X_new)[task]
        np.testing.assert_allclose(outputs[f"{task}_proba"], proba, rtol=0, atol=TOLERANCE)


@pytest.mark.slow
def test_adult_full_size():
    X, Y = load_adult("train")
    X_test, _ = load_adult("test")
    est = MultiTaskEstimator(ADULT_TASKS, max_epochs=5, random_state=0).fit(X, Y)
    proba_error, value_error = assert_onnx_matches(est, X_test, X_sample=X[:5])
    assert proba_error < TOLERANCE and value_error < TOLERANCE


def test_missing_values_in_string_inputs_read_as_missing(adult):
    X, Y, _ = adult
    est = MultiTaskEstimator(ADULT_TASKS, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
    est.fit(X, Y)
    inputs = onnx_inputs(to_onnx(est, X[:5]), X)
    missing = X["workclass"].isna().to_numpy()
    assert missing.any()
    assert (inputs["workclass"][missing, 0] == "nan").all()
    assert inputs["age"].dtype == np.float32 and np.isnan(inputs["age"][::17, 0]).all()


class _Doubler(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return 2 * np.asarray(X)


def test_errors(every_type, adult):
    X, Y, tasks = every_type
    with pytest.raises(NotFittedError):
        to_onnx(tiny(tasks), X)
    with pytest.raises(TypeError, match="Expected a MultiTaskEstimator"):
        to_onnx(StandardScaler().fit(X), X)
    est = tiny(tasks).fit(X, Y)
    with pytest.raises(TypeError, match=r"to_onnx\(view.model, X_sample\)"):
        to_onnx(for_task(est, "task_1"), X)
    with pytest.raises(TypeError, match="ONNX inputs are dense"):
        to_onnx(est, sparse.csr_matrix(X[:5]))
    unknown_step = make_pipeline(_Doubler(), tiny(tasks)).fit(X, Y)
    with pytest.raises(TypeError, match="_Doubler: skl2onnx has no converter.*update_registered"):
        to_onnx(unknown_step, X)
    # skl2onnx raises a RuntimeError for a FunctionTransformer (issue 26).
    function = make_pipeline(FunctionTransformer(np.tanh), tiny(tasks)).fit(X, Y)
    with pytest.raises(TypeError, match=r"skl2onnx says: FunctionTransformer is not supported"):
        to_onnx(function, X)

    X_adult, Y_adult, _ = adult
    # skl2onnx imputes strings only when missing_values is a string, not NaN.
    imputer = SimpleImputer(strategy="constant", fill_value="none")
    nan_strings = adult_pipeline(make_pipeline(imputer, OneHotEncoder())).fit(X_adult, Y_adult)
    with pytest.raises(TypeError, match="convert a step of the model:.*missing values are string"):
        to_onnx(nan_strings, X_adult[:5])

    raw = MultiTaskEstimator(ADULT_TASKS, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
    raw.fit(X_adult, Y_adult)
    with pytest.raises(ValueError, match="pass X_sample as a DataFrame"):
        to_onnx(raw, X_adult.to_numpy()[:5])
    with pytest.raises(ValueError, match="X_sample has the columns"):
        to_onnx(raw, X_adult.iloc[:5, ::-1])
    clash = X_adult.rename(columns={"age": "income"})
    raw.fit(clash, Y_adult)
    with pytest.raises(ValueError, match=r"the names \['income'\].*rename"):
        to_onnx(raw, clash[:5])


def test_without_the_extra_installed(monkeypatch, every_type):
    X, Y, tasks = every_type
    est = tiny(tasks, max_epochs=1).fit(X, Y)
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "skl2onnx" else find_spec(name, *args),
    )
    with pytest.raises(ImportError, match=r"\['skl2onnx'\].*pip install \"sklearn_mtl\[onnx\]\""):
        to_onnx(est, X)


def test_onnx_inputs_errors():
    X = pd.DataFrame({"n": pd.array([1, None], dtype="Int64"), "s": ["a", "b"]})
    graph = onnx.helper.make_graph(
        [],
        "g",
        [
            onnx.helper.make_tensor_value_info("n", onnx.TensorProto.INT64, [None, 1]),
            onnx.helper.make_tensor_value_info("s", onnx.TensorProto.STRING, [None, 1]),
        ],
        [],
    )
    model = onnx.helper.make_model(graph)
    with pytest.raises(ValueError, match="column 'n' has missing values.*as float"):
        onnx_inputs(model, X)
    with pytest.raises(ValueError, match=r"inputs are the columns \['n', 's'\]"):
        onnx_inputs(model, X[["s"]])


def test_repeated_exports_reuse_the_operator_table_and_give_the_same_graph(every_type):
    # torch's exporter asks onnxscript for its operator table on every export;
    # to_onnx builds it once per process and restores torch's function after.
    import importlib

    from torch.onnx._internal._lazy_import import onnxscript_apis

    from sklearn_mtl._onnx import _network

    X, Y, tasks = every_type
    est = tiny(tasks, max_epochs=1).fit(X, Y)
    first = to_onnx(est, X[:5])
    apis = importlib.import_module(onnxscript_apis.__name__)
    original, builds = apis.get_torchlib_ops, []

    def counted():
        builds.append(1)
        return original()

    apis.get_torchlib_ops = counted
    try:
        _network._OPERATOR_TABLE.clear()
        again = [to_onnx(est, X[:5]) for _ in range(2)]
        assert len(builds) == 1, "the operator table was built for each export"
        assert apis.get_torchlib_ops is counted, "torch's function was not restored"
    finally:
        apis.get_torchlib_ops = original
    for graph in again:
        graph.graph.name = first.graph.name  # a fresh uuid per export
        assert graph.SerializeToString() == first.SerializeToString()
