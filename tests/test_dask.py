import os
import pickle
import sys

import cloudpickle
import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, cross_validate

from sklearn_mtl import MultiTaskEstimator, TargetDict, task_scorer
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.weighting import StaticWeighting

distributed = pytest.importorskip("distributed")

# Each test starts work on a real cluster of worker processes (a minute of the two
# cores between them): run with -m slow, as CI does, like the scaling guide's page.
pytestmark = pytest.mark.slow

# The probe strategy below is defined here, not in an importable package.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    """A real local cluster: 2 worker processes with 1 thread each."""
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture
def data():
    X, Y = make_multitask(240, 6, 2, ["regression", "binary"], random_state=0)
    return X, Y


BASE = dict(max_epochs=3, batch_size=64, n_bags=1, random_state=0)  # one network per fit
GRID = {"task_weights__task_0": [0.1, 1.0, 10.0], "hidden_layer_sizes": [(8,), (16, 8)]}
SCORING = {"r2": task_scorer("task_0", "r2"), "auc": task_scorer("task_1", "roc_auc")}


def _same_results(local, remote):
    assert [str(p) for p in remote.cv_results_["params"]] == [
        str(p) for p in local.cv_results_["params"]
    ]
    for key, value in local.cv_results_.items():
        if "test_" in key:
            np.testing.assert_array_equal(remote.cv_results_[key], value, err_msg=key)


def test_grid_search_on_dask_gives_the_local_cv_results(client, data):
    X, Y = data
    search = GridSearchCV(MultiTaskEstimator(**BASE), GRID, scoring=SCORING, refit="auc", cv=3)
    local = search.fit(X, Y)
    with distributed.get_task_stream(client) as stream:
        with joblib.parallel_backend("dask"):
            remote = GridSearchCV(
                MultiTaskEstimator(**BASE), GRID, scoring=SCORING, refit="auc", cv=3, n_jobs=-1
            ).fit(X, Y)
    assert len({task["worker"] for task in stream.data}) == 2  # both workers fitted
    _same_results(local, remote)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        remote.predict(X)["task_1"], local.best_estimator_.predict(X)["task_1"]
    )


def test_randomized_search_on_dask_samples_and_scores_as_locally(client, data):
    X, Y = data
    space = {"task_weights__task_1": [0.3, 1.0, 3.0], "hidden_layer_sizes": [(4,), (8,), (16,)]}

    def search(n_jobs):
        return RandomizedSearchCV(
            MultiTaskEstimator(**BASE), space, n_iter=4, cv=2, random_state=3, n_jobs=n_jobs
        )

    local = search(None).fit(X, Y)
    with joblib.parallel_backend("dask"):
        remote = search(-1).fit(X, Y)
    _same_results(local, remote)


class ThreadProbe(StaticWeighting):
    """Static weighting that records where and with how many torch threads it trained."""

    def backward(self, losses, *, present, network, representation=None):
        self.seen_ = (os.getpid(), torch.get_num_threads())
        return super().backward(
            losses, present=present, network=network, representation=representation
        )


def test_models_fitted_on_workers_come_back_bounded_and_picklable(client, data):
    X, Y = data
    est = MultiTaskEstimator(weighting=ThreadProbe(), hidden_layer_sizes=(8,), **BASE)
    with joblib.parallel_backend("dask"):
        results = cross_validate(est, X, Y, cv=KFold(2), return_estimator=True, n_jobs=-1)
    local = cross_validate(est, X, Y, cv=KFold(2), return_estimator=True)
    for remote_est, local_est in zip(results["estimator"], local["estimator"]):
        pid, threads = remote_est.weighting_.seen_
        assert pid != os.getpid()
        assert threads == 1  # the worker's threads_per_worker, not the machine's cores
        restored = pickle.loads(pickle.dumps(remote_est))
        for task in ("task_0", "task_1"):
            np.testing.assert_array_equal(
                restored.predict(X)[task], local_est.predict(X)[task], err_msg=task
            )
    np.testing.assert_array_equal(results["test_score"], local["test_score"])


def test_raw_frame_search_on_dask_gives_the_local_cv_results(client):
    import pandas as pd

    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=240),
            "colour": pd.Categorical(rng.choice(["red", "blue", None], 240)),
            "note": pd.Series(rng.choice(["a", "b"], 240), dtype="string"),
        }
    )
    Y = TargetDict(t=np.where((X["colour"] == "red") | (X["x"] > 1), "yes", "no"))
    grid = {"min_frequency": [1, 100]}
    local = GridSearchCV(MultiTaskEstimator(**BASE), grid, cv=3).fit(X, Y)
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(MultiTaskEstimator(**BASE), grid, cv=3, n_jobs=-1).fit(X, Y)
    _same_results(local, remote)
    np.testing.assert_array_equal(
        remote.predict_proba(X)["t"], local.best_estimator_.predict_proba(X)["t"]
    )
