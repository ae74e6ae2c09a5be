"""MultiTaskEstimator inside scikit-learn's machinery."""

import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse
import torch
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.inspection import permutation_importance
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    cross_val_predict,
    cross_validate,
    validation_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict, task_scorer
from sklearn_mtl.weighting import WEIGHTINGS, StaticWeighting

N = 240


class ScaledWeighting(StaticWeighting):
    """Static weights times ``scale``: a strategy with one hyper-parameter."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def combine(self, losses, present):
        weights = self.scale * self.base_weights_
        return (weights * losses).sum(), weights


class ThreadRecordingWeighting(StaticWeighting):
    """Static weighting that records torch's thread count while fit runs."""

    def initialize(self, task_names, base_weights, device):
        self.n_threads_ = torch.get_num_threads()
        return super().initialize(task_names, base_weights, device)


@pytest.fixture
def data():
    """A frame with a categorical and numeric columns; three learnable tasks."""
    rng = np.random.RandomState(0)
    color = rng.choice(["red", "green", "blue"], size=N)
    x = rng.normal(size=(N, 3))
    X = pd.DataFrame(
        {"color": pd.Categorical(color), "x0": x[:, 0] * 100, "x1": x[:, 1], "x2": x[:, 2]}
    )
    Y = pd.DataFrame(
        {
            "hot": np.where((color == "red") | (x[:, 0] > 1), "yes", "no"),
            "size": 3.0 * x[:, 0] + x[:, 1] + 0.1 * rng.normal(size=N),
            "band": np.digitize(x[:, 1], [-0.5, 0.5]),
        }
    )
    Y.loc[::9, "size"] = np.nan
    return X, Y


def preprocessor(sparse=True, **kwargs):
    return ColumnTransformer(
        [
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=sparse), ["color"]),
            ("scale", StandardScaler(), make_column_selector(dtype_include="number")),
        ],
        **kwargs,
    )


def model(**params):
    # One network a fit: bagging, the default below 1,000 rows, would fit five here;
    # tests/training/test_bags.py and sklearn's checks (test_common.py) cover it.
    params = {
        "n_bags": 1,
        "hidden_layer_sizes": (16,),
        "max_epochs": 15,
        "batch_size": 32,
        "lr": 1e-2,
        "random_state": 0,
        **params,
    }
    return MultiTaskEstimator(**params)


@pytest.mark.parametrize("sparse_threshold", [0.0, 1.0], ids=["dense", "sparse"])
def test_pipeline_with_column_transformer(data, sparse_threshold):
    X, Y = data
    pipe = make_pipeline(preprocessor(sparse_threshold=sparse_threshold), model())
    pipe.fit(X.iloc[:180], Y.iloc[:180])
    assert scipy.sparse.issparse(pipe[0].transform(X)) == (sparse_threshold == 1.0)
    assert pipe[-1].n_features_in_ == 3 + 3
    pred = pipe.predict(X.iloc[180:])
    assert isinstance(pred, pd.DataFrame) and list(pred.columns) == ["hot", "size", "band"]
    scores = pipe[-1].score_tasks(pipe[:-1].transform(X.iloc[180:]), Y.iloc[180:])
    # Baselines: the majority class, and R^2 = 0 for the mean.
    majority = Y["hot"].iloc[180:].value_counts(normalize=True).max()
    assert scores["hot"] > majority + 0.1
    assert scores["size"] > 0.8
    assert pipe.score(X.iloc[180:], Y.iloc[180:]) == pytest.approx(np.mean(list(scores.values())))


def test_feature_names_flow_from_the_column_transformer(data):
    X, Y = data
    pipe = make_pipeline(preprocessor(sparse=False), model(max_epochs=1))
    pipe.set_output(transform="pandas").fit(X, Y)
    expected = pipe[0].get_feature_names_out()
    np.testing.assert_array_equal(pipe[-1].feature_names_in_, expected)
    assert pipe[-1].n_features_in_ == len(expected)
    shuffled = pipe[0].transform(X)[expected[::-1]]
    with pytest.raises(
        ValueError, match="Feature names must be in the same order as they were in fit"
    ):
        pipe[-1].predict(shuffled)


@pytest.mark.parametrize("container", ["frame", "targetdict"])
def test_grid_search_over_task_weights_and_layers(data, container):
    X, Y = data
    if container == "targetdict":
        Y = TargetDict({name: Y[name].to_numpy() for name in Y})
    search = GridSearchCV(
        make_pipeline(preprocessor(), model(task_weights={"size": 1.0})),
        {
            "multitaskestimator__task_weights__hot": [0.0, 1.0],
            "multitaskestimator__hidden_layer_sizes": [(8,), (16,)],
        },
        scoring={
            "hot_auc": task_scorer("hot", "roc_auc"),
            "size_r2": task_scorer("size", "r2"),
            "band_acc": task_scorer("band"),
        },
        refit="hot_auc",
        cv=3,
        n_jobs=2,
    ).fit(X, Y)
    results = pd.DataFrame(search.cv_results_)
    assert len(results) == 4
    untrained = results["param_multitaskestimator__task_weights__hot"] == 0.0
    # A task weighted 0 is not learned: its AUC stays near chance.
    assert results.loc[untrained, "mean_test_hot_auc"].max() < 0.7
    assert results.loc[~untrained, "mean_test_hot_auc"].min() > 0.85
    assert (results["mean_test_size_r2"] > 0.5).all()
    assert search.best_index_ == results["mean_test_hot_auc"].idxmax()
    best = search.best_estimator_[-1]
    assert best.task_weights == {"size": 1.0, "hot": 1.0}
    assert best.task_weights_["hot"] == 1.0
    assert type(search.predict(X)) is type(Y)


def test_randomized_search_with_distributions_and_targetdict(data):
    X, Y = data
    Y = TargetDict({name: Y[name].to_numpy() for name in Y})
    X = preprocessor(sparse=False).fit_transform(X)
    search = RandomizedSearchCV(
        model(max_epochs=5),
        {
            "task_weights__band": loguniform(0.1, 10),
            "hidden_layer_sizes": [(8,), (16, 8)],
            "lr": loguniform(1e-3, 3e-2),
        },
        n_iter=3,
        scoring=task_scorer("size", "neg_mean_absolute_error"),
        cv=2,
        random_state=0,
    ).fit(X, Y)
    sampled = [params["task_weights__band"] for params in search.cv_results_["params"]]
    assert len(set(sampled)) == 3 and all(0.1 <= w <= 10 for w in sampled)
    assert search.best_estimator_.task_weights == {
        "band": search.best_params_["task_weights__band"]
    }
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_weighting_and_architecture_parameters_are_searchable(data, monkeypatch):
    X, Y = data
    X = preprocessor(sparse=False).fit_transform(X)
    search = GridSearchCV(
        model(max_epochs=2, weighting=ScaledWeighting()),
        {"weighting__scale": [0.5, 2.0]},
        cv=2,
    ).fit(X, Y)
    assert [p["weighting__scale"] for p in search.cv_results_["params"]] == [0.5, 2.0]
    best = search.best_estimator_
    assert best.weighting_.scale == search.best_params_["weighting__scale"]
    assert best.history_[-1, "weight_hot"] == best.weighting_.scale
    # A registry name becomes an instance of its class when a hyper-parameter is set.
    monkeypatch.setitem(WEIGHTINGS, "scaled", ScaledWeighting)
    est = model(weighting="scaled").set_params(weighting__scale=3.0)
    assert isinstance(est.weighting, ScaledWeighting) and est.weighting.scale == 3.0
    assert est.get_params()["weighting__scale"] == 3.0
    with pytest.raises(ValueError, match="architecture='mixture' is not a known architecture"):
        model(architecture="mixture").set_params(architecture__n_experts=4)


def test_grid_search_over_registered_strategies_and_their_parameters(data):
    X, Y = data
    X = preprocessor(sparse=False).fit_transform(X)
    search = GridSearchCV(
        model(max_epochs=3),
        [
            {"weighting": ["static"]},
            {"weighting": ["dwa"], "weighting__temperature": [0.5, 4.0]},
        ],
        cv=2,
        n_jobs=2,
    ).fit(X, Y)
    assert [str(p) for p in search.cv_results_["params"]] == [
        "{'weighting': 'static'}",
        "{'weighting': 'dwa', 'weighting__temperature': 0.5}",
        "{'weighting': 'dwa', 'weighting__temperature': 4.0}",
    ]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    dwa = clone(search.estimator).set_params(weighting="dwa", weighting__temperature=4.0)
    assert isinstance(dwa.weighting, WEIGHTINGS["dwa"]) and dwa.weighting.temperature == 4.0
    assert dwa.get_params()["weighting__temperature"] == 4.0
    dwa.fit(X, Y)
    assert dwa.weighting_.temperature == 4.0
    # Dynamic weights move away from 1 after the first epochs.
    assert dwa.history_[-1, "weight_hot"] != 1.0


def test_cross_validate_multi_metric_with_missing_labels(data):
    X, Y = data
    pipe = make_pipeline(preprocessor(), model())
    scoring = {
        "hot_acc": task_scorer("hot", "accuracy"),
        "hot_logloss": task_scorer("hot", "neg_log_loss"),
        "size_r2": task_scorer("size", "r2"),
        "band_f1": task_scorer("band", "f1_macro"),
    }
    cv = cross_validate(pipe, X, Y, scoring=scoring, cv=3)
    assert np.all(cv["test_hot_acc"] > 0.75)
    assert np.all(cv["test_hot_logloss"] < 0)
    assert np.all(cv["test_size_r2"] > 0.8)
    assert np.all(cv["test_band_f1"] > 0.5)


@pytest.mark.parametrize("container", ["frame", "targetdict"])
def test_cross_val_predict_and_validation_curve(data, container):
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    if container == "targetdict":
        Y = TargetDict({name: Y[name].to_numpy() for name in Y})
    est = model(max_epochs=3)
    cv = KFold(3, shuffle=True, random_state=0)
    pred = cross_val_predict(est, Xt, Y, cv=cv)
    assert pred.shape == (N, 3)
    # Row i holds the prediction of the model that did not see row i.
    train, test = next(cv.split(Xt))
    fold = clone(est).fit(Xt[train], Y.iloc[train]).predict(Xt[test])
    np.testing.assert_array_equal(pred[test, 0], np.asarray(fold["hot"]))
    np.testing.assert_allclose(pred[test, 1].astype(float), fold["size"])
    train_scores, test_scores = validation_curve(
        est, Xt, Y, param_name="task_weights__size", param_range=[0.0, 1.0], cv=cv
    )
    assert train_scores.shape == test_scores.shape == (2, 3)
    assert np.all(np.isfinite(test_scores))


def test_plain_dict_targets_need_a_targetdict_in_sklearn_cv(data):
    # Out of the package's reach: scikit-learn counts a dict's keys before calling fit.
    # The user guide quotes this message and gives the fix, wrapping the dict.
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    plain = {name: Y[name].to_numpy() for name in Y}
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[240, 3\]"):
        cross_validate(model(max_epochs=1), Xt, plain, cv=2)
    scores = cross_validate(model(max_epochs=1), Xt, TargetDict(plain), cv=2)["test_score"]
    assert np.isfinite(scores).all()


def test_one_task_from_a_1d_target_behaves_like_a_single_task_model(data):
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    est = model(max_epochs=3).fit(Xt, Y["band"].to_numpy())
    assert est.tasks_ == {"task_0": "multiclass"}
    assert est.predict(Xt).shape == (N,)
    proba = est.predict_proba(Xt)
    assert isinstance(proba, np.ndarray) and proba.shape == (N, 3)
    np.testing.assert_array_equal(est.classes_["task_0"][proba.argmax(axis=1)], est.predict(Xt))
    assert task_scorer("task_0", "neg_log_loss")(est, Xt, Y["band"].to_numpy()) < 0


def test_task_scorer_on_a_nested_pipeline(data):
    X, Y = data
    inner = make_pipeline(StandardScaler(), model(max_epochs=3))
    pipe = make_pipeline(preprocessor(sparse=False), inner).fit(X, Y)
    Xt = pipe[0].transform(X)
    expected = inner[-1].score_tasks(inner[0].transform(Xt), Y)["hot"]
    assert task_scorer("hot")(pipe, X, Y) == pytest.approx(expected)
    with pytest.raises(TypeError, match="scores a MultiTaskEstimator, alone or as the last step"):
        task_scorer("hot")(make_pipeline(StandardScaler()).fit(Xt), Xt, Y)


def test_task_scorer_skips_missing_labels(data):
    X, Y = data
    est = model(max_epochs=3).fit(preprocessor(sparse=False).fit_transform(X), Y)
    Xt = preprocessor(sparse=False).fit_transform(X)
    labelled = Y["size"].notna().to_numpy()
    expected = est.score_tasks(Xt[labelled], Y.loc[labelled, ["size"]])["size"]
    assert task_scorer("size", "r2")(est, Xt, Y) == pytest.approx(expected)
    assert task_scorer("size")(est, Xt, Y) == pytest.approx(expected)
    weights = np.arange(N, dtype=float) % 3
    scored = task_scorer("size", "r2")(est, Xt, Y, sample_weight=weights)
    from sklearn.metrics import r2_score

    y_pred = est.predict(Xt)["size"]
    assert scored == pytest.approx(
        r2_score(Y["size"][labelled], y_pred[labelled], sample_weight=weights[labelled])
    )


def test_permutation_importance_with_a_task_scorer(data):
    X, Y = data
    pipe = make_pipeline(preprocessor(), model()).fit(X, Y)
    result = permutation_importance(
        pipe, X, Y, scoring=task_scorer("size", "r2"), n_repeats=3, random_state=0
    )
    importance = pd.Series(result.importances_mean, index=X.columns)
    # size = 3 * x0 + x1: x0 matters most, color not at all.
    assert importance.idxmax() == "x0"
    assert importance["x0"] > 0.5 and importance["x1"] > importance["color"]
    assert abs(importance["color"]) < 0.05


def test_clone_get_params_set_params_and_repr():
    weights = {"a": 1.0, "b": 0.5}
    est = MultiTaskEstimator(task_weights=weights, hidden_layer_sizes=(32,), random_state=0)
    params = est.get_params()
    assert params["task_weights__b"] == 0.5 and params["hidden_layer_sizes"] == (32,)
    assert "task_weights__a" not in est.get_params(deep=False)
    est.set_params(task_weights__b=2.0, task_weights__c=3.0)
    assert est.task_weights == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert weights == {"a": 1.0, "b": 0.5}, "set_params changed the user's dict"
    copy = clone(est)
    assert copy.get_params() == est.get_params() and copy.task_weights is not est.task_weights
    assert repr(est) == (
        "MultiTaskEstimator(hidden_layer_sizes=(32,), random_state=0,\n"
        "                   task_weights={'a': 1.0, 'b': 2.0, 'c': 3.0})"
    )
    assert repr(MultiTaskEstimator()) == "MultiTaskEstimator()"


def test_every_dict_parameter_is_addressable_by_task():
    losses = {"size": "huber"}
    est = MultiTaskEstimator(losses=losses, class_weight={"hot": "balanced"})
    est.set_params(
        losses__band="cross_entropy",
        tasks__size="regression",
        class_weight__band={0: 2.0},
        task_weights__hot=0.5,
    )
    assert est.losses == {"size": "huber", "band": "cross_entropy"}
    assert est.tasks == {"size": "regression"}
    assert est.class_weight == {"hot": "balanced", "band": {0: 2.0}}
    assert losses == {"size": "huber"}, "set_params changed the user's dict"
    deep = est.get_params()
    assert deep["losses__size"] == "huber" and deep["tasks__size"] == "regression"
    assert deep["class_weight__band"] == {0: 2.0} and deep["task_weights__hot"] == 0.5
    assert not any("__" in key for key in est.get_params(deep=False))
    # A deep round trip and a clone give the same parameters.
    twin = MultiTaskEstimator().set_params(**deep)
    assert twin.get_params() == deep
    assert clone(est).get_params() == deep
    # Only str keys are entries: other keys cannot be task names.
    assert "tasks__0" not in MultiTaskEstimator(tasks={0: "binary"}).get_params()


def test_dict_entry_of_a_non_dict_parameter_is_a_clear_error():
    est = MultiTaskEstimator(class_weight="balanced")
    with pytest.raises(ValueError, match="class_weight__hot sets one task's entry of class_weight"):
        est.set_params(class_weight__hot={"yes": 2.0})
    assert est.class_weight == "balanced"


def test_grid_search_over_a_task_loss_and_type(data):
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    search = GridSearchCV(
        model(max_epochs=3),
        {"losses__size": ["squared_error", "absolute_error"], "tasks__band": [None, "multiclass"]},
        cv=KFold(2),
    ).fit(Xt, Y)
    results = pd.DataFrame(search.cv_results_)
    assert len(results) == 4 and results["mean_test_score"].notna().all()
    assert search.best_estimator_.losses["size"] == search.best_params_["losses__size"]
    assert search.best_estimator_.tasks_["band"] == "multiclass"


def test_clone_of_a_fitted_estimator_is_unfitted(data):
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    est = model(max_epochs=1, weighting=ScaledWeighting(scale=2.0)).fit(Xt, Y)
    fresh = clone(est)
    assert not hasattr(fresh, "net_") and fresh.weighting is not est.weighting
    assert fresh.weighting.scale == 2.0


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_round_trips_give_identical_predictions(data, dump, early_stopping, tmp_path):
    X, Y = data
    pipe = make_pipeline(
        preprocessor(sparse=False),
        model(max_epochs=4, early_stopping=early_stopping, dropout=0.2),
    )
    pipe.set_output(transform="pandas").fit(X, Y)
    if dump == "pickle":
        loaded = pickle.loads(pickle.dumps(pipe))
    else:
        joblib.dump(pipe, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    pd.testing.assert_frame_equal(loaded.predict(X), pipe.predict(X))
    for task, proba in pipe.predict_proba(X).items():
        np.testing.assert_array_equal(loaded.predict_proba(X)[task], proba)
    est, copy = pipe[-1], loaded[-1]
    assert copy.tasks_ == est.tasks_ and copy.task_weights_ == est.task_weights_
    assert copy.history_[:, "train_loss"] == est.history_[:, "train_loss"]
    np.testing.assert_array_equal(copy.feature_names_in_, est.feature_names_in_)
    # The loaded model keeps working: it refits.
    copy.fit(pipe[:-1].transform(X), Y)


def tensors_in(obj, seen=None):
    """Every torch tensor reachable from ``obj`` through containers and __dict__."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        children = list(obj)
    elif hasattr(obj, "__getstate__") and not isinstance(obj, (type, torch.nn.Module)):
        state = obj.__getstate__()
        children = list(state.values()) if isinstance(state, dict) else []
    else:
        children = []
    return [t for child in children for t in tensors_in(child, seen)]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_pickled_net_keeps_device_tensors_in_the_device_mapped_part(data, early_stopping):
    # A CUDA-trained net unpickles on a CPU-only machine only if every tensor of
    # the net goes through skorch's map_location path (__cuda_dependent_attributes__).
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    est = model(max_epochs=2, early_stopping=early_stopping).fit(Xt, Y)
    state = est.net_.__getstate__()
    assert "__cuda_dependent_attributes__" in state
    outside = {key: tensors_in(value) for key, value in state.items()}
    # The strategy (the estimator's weighting_) pickles its tensors on the CPU itself.
    assert {key for key, found in outside.items() if found} == {"weighting"}
    assert state["weighting"] is est.weighting_
    assert all(tensor.device.type == "cpu" for tensor in tensors_in(est.weighting_))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_net_recorded_as_cuda_loads_on_the_cpu(data):
    # The bookkeeping half of loading a CUDA model without CUDA: skorch maps
    # the net to the CPU and the estimator reports the device it now uses.
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    est = model(max_epochs=2).fit(Xt, Y)
    expected = est.predict(Xt)
    est.net_.device, est.device_ = "cuda", "cuda"
    with pytest.warns(UserWarning) as caught:
        loaded = pickle.loads(pickle.dumps(est))
    messages = " ".join(str(w.message) for w in caught)
    assert "no CUDA devices are available" in messages and "device = cpu" in messages
    assert loaded.device_ == "cpu" and str(loaded.net_.device) == "cpu"
    pd.testing.assert_frame_equal(loaded.predict(Xt), expected)


@pytest.mark.cuda
def test_model_fitted_on_cuda_loads_on_a_cpu_only_machine(data, tmp_path):
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    est = model(max_epochs=3, device="cuda", early_stopping=True).fit(Xt, Y)
    assert est.device_.startswith("cuda")
    expected = est.predict_proba(Xt)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps((est, Xt)))
    script = (
        "import pickle, sys, warnings\n"
        "import numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore')\n"
        "    est, X = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "np.savez(sys.argv[2], **est.predict_proba(X))\n"
        "print(est.net_.device, est.device_)\n"
    )
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    out = tmp_path / "proba.npz"
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "cpu cpu"
    loaded = np.load(out)
    for task, proba in expected.items():
        np.testing.assert_allclose(loaded[task], proba, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(joblib.cpu_count() < 2, reason="needs 2 CPUs")
def test_parallel_workers_use_their_share_of_the_cpus(data):
    X, Y = data
    Xt = preprocessor(sparse=False).fit_transform(X)
    cv = cross_validate(
        model(max_epochs=2, weighting=ThreadRecordingWeighting()),
        Xt,
        Y,
        cv=2,
        n_jobs=2,
        return_estimator=True,
    )
    share = max(1, joblib.cpu_count() // 2)
    assert [est.weighting_.n_threads_ for est in cv["estimator"]] == [share, share]
