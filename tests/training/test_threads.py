import joblib
import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._training import DivergenceError
from sklearn_mtl._training._threads import THREAD_LIMIT_VARIABLES, torch_thread_budget
from sklearn_mtl.weighting import StaticWeighting

pytestmark = pytest.mark.skipif(joblib.cpu_count() < 2, reason="needs 2 CPUs")


class ThreadRecordingWeighting(StaticWeighting):
    """Static weighting that records torch's thread count while fit runs."""

    def initialize(self, task_names, base_weights, device):
        self.n_threads_ = torch.get_num_threads()
        return super().initialize(task_names, base_weights, device)


@pytest.fixture
def two_threads(monkeypatch):
    """torch set to 2 threads and no launcher limit in the environment."""
    for name in THREAD_LIMIT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def fit(X=None, Y=None, **params):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 3)) if X is None else X
    Y = {"r": rng.normal(size=64), "c": np.arange(64) % 2} if Y is None else Y
    params = {"hidden_layer_sizes": (4,), "max_epochs": 1, "random_state": 0, **params}
    return MultiTaskEstimator(weighting=ThreadRecordingWeighting(), **params).fit(X, Y)


def test_fit_keeps_the_callers_threads_without_a_limit(two_threads):
    assert torch_thread_budget() == 2
    assert fit().weighting_.n_threads_ == 2


@pytest.mark.parametrize("variable", THREAD_LIMIT_VARIABLES)
def test_fit_uses_the_share_announced_by_the_launcher(two_threads, monkeypatch, variable):
    # As a forked worker would see it: torch sized before the limit was set.
    monkeypatch.setenv(variable, "1")
    est = fit()
    assert est.weighting_.n_threads_ == 1
    assert torch.get_num_threads() == 2, "fit did not restore the caller's thread count"

    seen = []
    est.net_.module_.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    est.predict(np.zeros((2, 3)))
    assert seen == [1] and torch.get_num_threads() == 2


def test_fit_follows_threadpoolctl_limits(two_threads):
    with threadpool_limits(limits=1):
        assert fit().weighting_.n_threads_ == 1
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("value", ["", "0", "many"])
def test_meaningless_limits_are_ignored(two_threads, monkeypatch, value):
    monkeypatch.setenv("OMP_NUM_THREADS", value)
    assert torch_thread_budget() == 2


def test_threads_are_restored_when_fit_fails(two_threads, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 3)) * 1e20
    with pytest.raises(DivergenceError):
        # Two epochs: X is scaled inside the network, so the first one's loss is finite.
        fit(X, {"r": rng.normal(size=64)}, lr=1e10, max_epochs=2)
    assert torch.get_num_threads() == 2
