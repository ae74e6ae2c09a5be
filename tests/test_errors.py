"""Bad input: a clear exception before any training, and no user object changed."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sklearn_mtl import MultiTaskEstimator, TargetDict, task_scorer
from sklearn_mtl._training import DivergenceError, MultiTaskNet

N = 40


@pytest.fixture
def no_training(monkeypatch):
    """Make any training attempt fail the test: errors must come before it."""

    def fit(self, *args, **kwargs):
        raise AssertionError("training started before the bad input was detected")

    monkeypatch.setattr(MultiTaskNet, "fit", fit)


def make_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N, 3))
    Y = {"a": np.where(X[:, 0] > 0, "yes", "no"), "r": X[:, 1] * 10.0}
    return X, Y


def with_x_value(value):
    def change(X, Y):
        X = X.copy()
        X[5, 1] = value
        return X, Y

    return change


def with_task(name, values):
    def change(X, Y):
        return X, dict(Y, **{name: values})

    return change


def only_task(name, values):
    return lambda X, Y: (X, {name: values})


r_with_inf = np.linspace(0.0, 1.0, N)
r_with_inf[3] = np.inf
binary_one_hot = np.eye(2)[np.arange(N) % 2]

# id, estimator parameters, change to (X, Y), fit keywords, exception, message
FIT_CASES = [
    (
        "x-shorter",
        {},
        lambda X, Y: (X[:30], Y),
        {},
        ValueError,
        "X has 30 rows but the targets have 40",
    ),
    ("x-inf", {}, with_x_value(np.inf), {}, ValueError, "Input X contains infinity"),
    (
        "x-strings",
        {},
        lambda X, Y: (X.astype(str).astype(object) + "a", Y),
        {},
        ValueError,
        "X must be numeric.*OneHotEncoder",
    ),
    ("x-1d", {}, lambda X, Y: (X[:, 0], Y), {}, ValueError, "Expected 2D array"),
    ("y-none", {}, lambda X, Y: (X, None), {}, ValueError, "requires y to be passed"),
    (
        "y-empty-dict",
        {},
        lambda X, Y: (X, {}),
        {},
        ValueError,
        "targets are empty.*at least one task",
    ),
    (
        "y-empty-frame",
        {},
        lambda X, Y: (X, pd.DataFrame(index=range(N))),
        {},
        ValueError,
        "targets are empty",
    ),
    ("y-set", {}, lambda X, Y: (X, {1, 2}), {}, TypeError, "Targets of type set are not supported"),
    (
        "y-tasks-unequal",
        {},
        with_task("r", np.zeros(N - 1)),
        {},
        ValueError,
        r"different numbers of rows: \{'a': 40, 'r': 39\}",
    ),
    (
        "y-3d",
        {},
        lambda X, Y: (X, np.zeros((N, 2, 2))),
        {},
        ValueError,
        "must be 1-D .* or 2-D .*got 3 dimensions",
    ),
    (
        "task-all-missing",
        {},
        with_task("a", np.full(N, None, dtype=object)),
        {},
        ValueError,
        "Task 'a' has no labelled row: every label is missing",
    ),
    (
        "task-one-class",
        {},
        with_task("a", np.array(["yes"] * (N - 2) + [None, None], dtype=object)),
        {},
        ValueError,
        r"Task 'a' has one class \['yes'\].*needs at least two",
    ),
    (
        "regression-not-numeric",
        {"tasks": {"a": "regression"}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "Task 'a' is a regression task but its labels are not numeric.*declare the task",
    ),
    (
        "regression-inf",
        {},
        with_task("r", r_with_inf),
        {},
        ValueError,
        "Task 'r' has infinite labels; replace them",
    ),
    (
        "declared-regression-inf",
        {"tasks": {"r": "regression"}},
        with_task("r", r_with_inf),
        {},
        ValueError,
        "Task 'r' has infinite regression targets",
    ),
    (
        "binary-2d",
        {"tasks": {"a": "binary"}},
        with_task("a", binary_one_hot),
        {},
        ValueError,
        r"Task 'a' has a target of shape \(40, 2\).*argmax",
    ),
    (
        "binary-with-3-classes",
        {"tasks": {"a": "binary"}},
        with_task("a", np.arange(N) % 3),
        {},
        ValueError,
        "Task 'a' is declared 'binary' but has 3 classes.*'multiclass'",
    ),
    (
        "tasks-names-absent-task",
        {"tasks": {"income": "binary"}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"tasks= names \['income'\], which are not in the targets",
    ),
    (
        "unknown-task-type",
        {"tasks": {"a": "ranking"}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "task 'a' the type 'ranking'; known task types are",
    ),
    (
        "uninferable-task-type",
        {},
        only_task("m", np.array([[1.5, 0], [0, 2.5]] * (N // 2)).tolist()),
        {},
        ValueError,
        "Task 'm' has a target of shape",
    ),
    (
        "task-weights-unknown-task",
        {"task_weights": {"hours": 2.0}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"task_weights has a key 'hours' that is not a task; tasks are \['a', 'r'\]",
    ),
    (
        "task-weight-negative",
        {"task_weights": {"a": -1.0}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"task_weights\['a'\] is -1.0; task weights must be finite non-negative",
    ),
    (
        "task-weight-nan",
        {"task_weights": {"r": float("nan")}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"task_weights\['r'\] is nan",
    ),
    (
        "task-weight-inf",
        {"task_weights": {"r": float("inf")}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"task_weights\['r'\] is inf",
    ),
    (
        "task-weight-not-a-number",
        {"task_weights": {"r": "high"}},
        lambda X, Y: (X, Y),
        {},
        TypeError,
        r"task_weights\['r'\] is 'high' of type str; task weights must be numbers",
    ),
    (
        "task-weights-all-zero",
        {"task_weights": {"a": 0.0, "r": 0}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "Every task weight is 0.*give at least one task a positive weight",
    ),
    (
        "task-weights-not-a-dict",
        {"task_weights": [1.0, 2.0]},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "'task_weights' parameter of MultiTaskEstimator must be an instance of 'dict'",
    ),
    (
        "unknown-weighting",
        {"weighting": "magic"},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "'weighting' parameter of MultiTaskEstimator must be a str among",
    ),
    (
        "unknown-architecture",
        {"architecture": "magic"},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "'architecture' parameter of MultiTaskEstimator must be a str among",
    ),
    (
        "layer-size-zero",
        {"hidden_layer_sizes": (8, 0)},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"hidden_layer_sizes must hold positive integers, got \(8, 0\)",
    ),
    (
        "head-size-negative",
        {"head_hidden_sizes": (-4,)},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"head_hidden_sizes must hold positive integers, got \(-4,\)",
    ),
    (
        "layer-size-float",
        {"hidden_layer_sizes": (8.5,)},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "hidden_layer_sizes must hold positive integers",
    ),
    (
        "lr-zero",
        {"lr": 0.0},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"'lr' parameter of MultiTaskEstimator must be a float in the range \(0.0, inf\)",
    ),
    (
        "lr-negative",
        {"lr": -1e-3},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "'lr' parameter",
    ),
    (
        "batch-size-zero",
        {"batch_size": 0},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"'batch_size' parameter of MultiTaskEstimator must be an int in the range \[1, inf\)",
    ),
    (
        "max-epochs-zero",
        {"max_epochs": 0},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "'max_epochs' parameter",
    ),
    (
        "device-unknown",
        {"device": "tpu"},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "device='tpu' is not a device torch knows",
    ),
    (
        "sample-weight-negative",
        {},
        lambda X, Y: (X, Y),
        {"sample_weight": -np.ones(N)},
        ValueError,
        "Negative values in data passed to `sample_weight`",
    ),
    (
        "sample-weight-nan",
        {},
        lambda X, Y: (X, Y),
        {"sample_weight": np.full(N, np.nan)},
        ValueError,
        "sample_weight contains NaN",
    ),
    (
        "sample-weight-wrong-length",
        {},
        lambda X, Y: (X, Y),
        {"sample_weight": np.ones(N - 1)},
        ValueError,
        r"sample_weight.shape == \(39,\), expected \(40,\)",
    ),
    (
        "duplicate-task-names",
        {},
        lambda X, Y: (X, {1: Y["r"], "1": Y["a"]}),
        {},
        ValueError,
        r"Task names \['1', '1'\] are not unique",
    ),
    (
        "task-weight-beyond-float32",
        {"task_weights": {"r": 1e39}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"task_weights\['r'\] is 1e\+39, too large for float32.*divide them all",
    ),
    (
        "task-weights-zero-in-float32",
        {"task_weights": {"r": 1e-50, "a": 0}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        "Every task weight is 0 in float32.*give at least one task a positive weight",
    ),
    (
        "sample-weight-beyond-float32",
        {},
        lambda X, Y: (X, Y),
        {"sample_weight": np.full(N, 1e39)},
        ValueError,
        r"sample_weight contains infinity or a value too large for dtype\('float32'\)",
    ),
    (
        "sample-weight-zero-in-float32",
        {},
        lambda X, Y: (X, Y),
        {"sample_weight": np.full(N, 1e-50)},
        ValueError,
        "Sample weights must contain at least one non-zero number",
    ),
    (
        "row-weights-beyond-float32",
        {"class_weight": {"a": {"yes": 1e30}}},
        lambda X, Y: (X, Y),
        {"sample_weight": np.full(N, 1e10)},
        ValueError,
        r"row weights \(sample_weight times class_weight\) are too large for dtype",
    ),
    (
        "row-weights-all-zero",
        {"class_weight": {"a": {"yes": 0, "no": 0}}},
        lambda X, Y: (X, {"a": Y["a"]}),
        {},
        ValueError,
        "Every labelled row has weight 0 .*nothing to learn",
    ),
    (
        "tasks-mixed-type-unknown-keys",
        {"tasks": {0: "binary", "zz": "binary"}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"tasks= names \[0, 'zz'\], which are not in the targets",
    ),
    (
        "losses-mixed-type-unknown-keys",
        {"losses": {0: "huber", "zz": "huber"}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"losses has keys \[0, 'zz'\] that are not tasks",
    ),
    (
        "task-type-not-a-string",
        {"tasks": {"r": ["regression"]}},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"tasks= gives task 'r' the type \['regression'\]; known task types",
    ),
    (
        "layer-size-bool",
        {"hidden_layer_sizes": (True,)},
        lambda X, Y: (X, Y),
        {},
        ValueError,
        r"hidden_layer_sizes must hold positive integers, got \(True,\)",
    ),
    (
        "validation-leaves-no-training-row",
        {"early_stopping": True, "validation_fraction": 0.9},
        lambda X, Y: (X[:2], {"r": Y["r"][:2]}),
        {},
        ValueError,
        "validation_fraction=0.9 holds out 2 of n_samples=2 rows and leaves none for training",
    ),
]


def snapshot(obj):
    return copy.deepcopy(obj)


def assert_unchanged(before, after):
    if isinstance(before, dict):
        assert type(after) is type(before) and list(after) == list(before)
        for key in before:
            assert_unchanged(before[key], after[key])
    elif isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(after, before)
    elif isinstance(before, np.ndarray):
        assert after.dtype == before.dtype
        np.testing.assert_array_equal(after, before)
    else:
        np.testing.assert_equal(after, before)


def fitted_attributes(est):
    return [key for key in vars(est) if key.endswith("_") and not key.startswith("__")]


@pytest.mark.parametrize(
    "params, change, fit_kwargs, error, match",
    [case[1:] for case in FIT_CASES],
    ids=[case[0] for case in FIT_CASES],
)
def test_bad_fit_input_raises_before_training(
    params, change, fit_kwargs, error, match, no_training
):
    X, Y = change(*make_data())
    saved = snapshot((X, Y, params, fit_kwargs))
    est = MultiTaskEstimator(**{"hidden_layer_sizes": (4,), "max_epochs": 1, **params})
    with pytest.raises(error, match=match):
        est.fit(X, Y, **fit_kwargs)
    assert fitted_attributes(est) == []
    for before, after in zip(saved, (X, Y, params, fit_kwargs)):
        assert_unchanged(before, after)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_raises_before_training(no_training):
    X, Y = make_data()
    with pytest.raises(ValueError, match="device='cuda' was requested but CUDA is not available"):
        MultiTaskEstimator(device="cuda").fit(X, Y)


def test_gpu_index_out_of_range_raises(no_training):
    X, Y = make_data()
    index = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(ValueError, match=f"device='cuda:{index}'"):
        MultiTaskEstimator(device=f"cuda:{index}").fit(X, Y)


def test_inputs_are_not_modified_by_a_successful_fit(fast):
    X, Y = make_data()
    Y["r"][::7] = np.nan
    frame = pd.DataFrame(Y)
    weights = {"a": 2.0}
    for targets in (Y, TargetDict(Y), frame):
        saved = snapshot((X, targets, weights))
        est = MultiTaskEstimator(task_weights=weights, **fast).fit(X, targets)
        est.score(X, targets)
        task_scorer("r", "r2")(est, X, targets)
        assert est.task_weights is weights
        for before, after in zip(saved, (X, targets, weights)):
            assert_unchanged(before, after)


@pytest.fixture
def fitted(fast):
    X, Y = make_data()
    X = pd.DataFrame(X, columns=["x0", "x1", "x2"])
    return MultiTaskEstimator(**fast).fit(X, Y), X, Y


def test_predict_before_fit_raises():
    X, Y = make_data()
    est = MultiTaskEstimator()
    for method in (est.predict, est.predict_proba):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            method(X)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        est.score(X, Y)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        task_scorer("a", "accuracy")(est, X, Y)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_wrong_number_of_features_at_predict(fitted):
    est, X, Y = fitted
    for method in (est.predict, est.predict_proba):
        with pytest.raises(
            ValueError, match="X has 2 features, but MultiTaskEstimator is expecting 3"
        ):
            method(X.to_numpy()[:, :2])


def test_feature_names_checked_at_predict(fitted):
    est, X, Y = fitted
    renamed = X.rename(columns={"x2": "z"})
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- z"):
        est.predict(renamed)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        est.predict(X.to_numpy())
    X_inf = X.copy()
    X_inf.iloc[3, 1] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        est.predict(X_inf)


def test_unseen_label_at_score_time(fitted):
    est, X, Y = fitted
    Y_bad = dict(Y, a=np.where(np.arange(N) == 4, "maybe", Y["a"]))
    with pytest.raises(
        ValueError, match=r"Task 'a' has labels \['maybe'\] that were not seen in fit"
    ):
        est.score(X, Y_bad)
    with pytest.raises(ValueError, match="labels \\['maybe'\\] that were not seen in fit"):
        task_scorer("a", "accuracy")(est, X, Y_bad)


def test_unseen_values_of_a_quantity_inferred_as_classes_hint_regression(rng):
    X = rng.normal(size=(60, 3))
    weight = np.round(rng.uniform(3000, 6000, 60), -2)  # 25-odd distinct floats
    with pytest.warns(UserWarning, match="inferred as 'multiclass'"):
        est = MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=1).fit(X, {"w": weight})
    with pytest.raises(ValueError, match=r"declare tasks=\{'w': 'regression'\}") as info:
        est.score(X, {"w": weight + 50.0})
    assert "..." in str(info.value)  # the known classes are cut to ten


def test_score_errors_name_the_task(fitted):
    est, X, Y = fitted
    with pytest.raises(ValueError, match=r"tasks \['q'\] that were not fitted"):
        est.score(X, {"q": Y["r"]})
    with pytest.raises(ValueError, match="X has 10 rows but the targets have 40"):
        est.score(X.iloc[:10], Y)
    with pytest.raises(ValueError, match="task_scorer: task 'q' is not in the targets"):
        task_scorer("q", "r2")(est, X, Y)
    with pytest.raises(ValueError, match="task 'r' is a regression task, but the scorer"):
        task_scorer("r", "roc_auc")(est, X, Y)
    with pytest.raises(ValueError, match="'nonsense' is not a valid scoring value"):
        task_scorer("r", "nonsense")
    with pytest.raises(TypeError, match="scoring must be None, a scorer name or a callable"):
        task_scorer("r", 3)


def test_score_sample_weight_of_the_wrong_length(fitted):
    est, X, Y = fitted
    match = r"sample_weight.shape == \(39,\), expected \(40,\)"
    for score in (est.score, est.score_tasks):
        with pytest.raises(ValueError, match=match):
            score(X, Y, sample_weight=np.ones(N - 1))
    for scorer in (task_scorer("r", "r2"), task_scorer("a")):
        with pytest.raises(ValueError, match=match):
            scorer(est, X, Y, sample_weight=np.ones(N - 1))


def test_task_without_labelled_row_cannot_be_scored(fitted):
    est, X, Y = fitted
    unlabelled = dict(Y, r=np.full(N, np.nan))
    match = "Task 'r' has no labelled row in these targets, so it cannot be scored"
    with pytest.raises(ValueError, match=match):
        est.score(X, unlabelled)
    for scoring in ("r2", None):
        with pytest.raises(ValueError, match=match):
            task_scorer("r", scoring)(est, X, unlabelled)


def test_predict_proba_without_classification_task(fast):
    X, Y = make_data()
    est = MultiTaskEstimator(**fast)
    assert hasattr(est, "predict_proba"), "unfitted, as scikit-learn's available_if does"
    est.fit(X, {"r": Y["r"]})
    assert not hasattr(est, "predict_proba")
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'") as excinfo:
        est.predict_proba(X)
    # scikit-learn's available_if chains the reason as the cause.
    assert isinstance(excinfo.value.__cause__, AttributeError)
    assert "needs a classification task; this model's tasks {'r': 'regression'}" in str(
        excinfo.value.__cause__
    )
    assert hasattr(est.fit(X, Y), "predict_proba")


def diverging_data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 3)) * 1e20
    Y = {"a": np.arange(64) % 2, "r": rng.normal(size=64)}
    return X, Y


def test_divergence_stops_naming_the_task_and_leaves_estimator_unfitted():
    X, Y = diverging_data()
    saved = snapshot((X, Y))
    est = MultiTaskEstimator(
        hidden_layer_sizes=(8,),
        lr=1e10,
        max_epochs=5,
        batch_size=64,
        early_stopping=False,
        random_state=0,
    )
    # X is scaled inside the network, so the first epoch's loss is finite; its
    # step with lr=1e10 (one full batch) makes the second epoch's infinite.
    with pytest.raises(DivergenceError, match="the train loss of task 'r' became inf at epoch 2"):
        est.fit(X, Y)
    assert issubclass(DivergenceError, ValueError)
    assert fitted_attributes(est) == []
    with pytest.raises(NotFittedError):
        est.predict(X)
    for before, after in zip(saved, (X, Y)):
        assert_unchanged(before, after)


def test_failed_refit_does_not_keep_the_previous_model(fast):
    X, Y = make_data()
    est = MultiTaskEstimator(**fast).fit(X, Y)
    est.set_params(lr=1e10)
    X_big, Y_big = diverging_data()
    with pytest.raises(DivergenceError):
        est.fit(X_big, Y_big)
    assert fitted_attributes(est) == []
    # A refit failing validation after n_features_in_ was reset is not half-fitted either.
    est.set_params(lr=1e-3).fit(X, Y)
    with pytest.raises(ValueError, match="task_weights has a key"):
        est.set_params(task_weights={"zzz": 1.0}).fit(X[:, :2], Y)
    assert fitted_attributes(est) == []


def test_non_finite_network_outputs_are_refused_at_predict(fast, monkeypatch):
    X, Y = make_data()
    est = MultiTaskEstimator(**{**fast, "hidden_layer_sizes": (16, 16)}).fit(X, Y)
    X_far = X.copy()
    X_far[[4, 9]] = [3e38, -3e38, 3e38]
    # Inputs are clipped inside the network (issue 13): far values alone stay finite.
    assert np.isfinite(est.predict(X_far)["r"]).all()
    # A network whose weights overflow on rows 4 and 9 is refused, naming them.
    module = est.net_.module_
    forward = module.forward
    overflow = torch.ones(N, 1)
    overflow[[4, 9]] = float("inf")
    monkeypatch.setattr(
        module, "forward", lambda x: {k: v * overflow for k, v in forward(x).items()}
    )
    with pytest.raises(ValueError, match=r"outputs for task '\w' are NaN or infinite on rows"):
        est.predict(X_far)
    with pytest.raises(ValueError, match=r"on rows \[4, 9\] of X.*lower lr"):
        est.score(X_far, Y)
