import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.architectures import ARCHITECTURES
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.inspection import task_affinity


def copies_and_noise(kind, rng, n=400):
    """Two identical copies of one task and an independent noise task."""
    X, Y = make_multitask(n, 10, 1, [kind], correlation=1.0, noise=0.1, random_state=0)
    y = Y["task_0"]
    noise = rng.normal(size=n) if kind == "regression" else rng.randint(2, size=n)
    return X, TargetDict(a=y, b=y.copy(), noise=noise)


def trained(X, Y):
    est = MultiTaskEstimator(
        hidden_layer_sizes=(16,), max_epochs=30, batch_size=64, lr=1e-2, random_state=0
    )
    return est.fit(X[:300], Y.take(np.arange(300)))


@pytest.mark.parametrize("kind", ["regression", "binary"])
def test_copies_cooperate_and_noise_does_not(kind, rng):
    X, Y = copies_and_noise(kind, rng)
    est = trained(X, Y)
    affinity = task_affinity(est, X[300:], Y.take(np.arange(300, 400)))
    assert list(affinity.index) == list(affinity.columns) == ["a", "b", "noise"]
    np.testing.assert_allclose(affinity.to_numpy(), affinity.to_numpy().T)
    np.testing.assert_allclose(np.diag(affinity), 1.0)
    assert affinity.loc["a", "b"] > 0.8
    assert abs(affinity.loc["a", "noise"]) < 0.2
    assert abs(affinity.loc["b", "noise"]) < 0.2


def test_subset_of_tasks_missing_labels_and_pipeline(rng):
    X, Y = copies_and_noise("regression", rng, n=200)
    model = make_pipeline(
        StandardScaler(),
        MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=3, random_state=0),
    ).fit(X, Y)
    full = task_affinity(model, X, Y)
    pair = task_affinity(model, X, TargetDict(b=Y["b"], noise=Y["noise"]))
    assert list(pair.index) == ["b", "noise"]
    np.testing.assert_allclose(pair.loc["b", "noise"], full.loc["b", "noise"], rtol=1e-5)
    # A row with every label missing counts as if it were not there.
    unlabelled = TargetDict({task: np.where(np.arange(200) < 100, np.nan, Y[task]) for task in Y})
    np.testing.assert_allclose(
        task_affinity(model, X, unlabelled),
        task_affinity(model, X[100:], Y.take(np.arange(100, 200))),
        rtol=1e-4,
    )


def test_leaves_the_model_unchanged(rng):
    X, Y = copies_and_noise("regression", rng, n=200)
    est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=2, random_state=0).fit(X, Y)
    before = est.predict(X)
    grads = [None if p.grad is None else p.grad.clone() for p in est.net_.module_.parameters()]
    task_affinity(est, X, Y)
    for grad, parameter in zip(grads, est.net_.module_.parameters()):
        if grad is None:
            assert parameter.grad is None
        else:
            assert torch.equal(grad, parameter.grad)
    after = est.predict(X)
    for task in before:
        np.testing.assert_array_equal(before[task], after[task])


def test_a_read_only_array_gives_the_same_affinity_quietly(rng):
    # torch warns about reading a read-only array into a tensor (once per process,
    # unless told to warn always): task_affinity copies it first, as fit does.
    X, Y = copies_and_noise("regression", rng)
    X = X.astype(np.float32)
    est = trained(X, Y)
    frozen = X.copy()
    frozen.flags.writeable = False
    warn_always = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = task_affinity(est, frozen, Y)
    finally:
        torch.set_warn_always(warn_always)
    np.testing.assert_array_equal(got.to_numpy(), task_affinity(est, X, Y).to_numpy())
    assert not frozen.flags.writeable


def test_bad_input_is_reported(rng):
    X, Y = copies_and_noise("regression", rng, n=100)
    est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
    with pytest.raises(NotFittedError):
        task_affinity(est, X, Y)
    est.fit(X, Y)
    with pytest.raises(ValueError, match="at least two tasks"):
        task_affinity(est, X, TargetDict(a=Y["a"]))
    with pytest.raises(ValueError, match="tasks \\['other'\\] that were not fitted"):
        task_affinity(est, X, TargetDict(a=Y["a"], other=Y["b"]))
    with pytest.raises(ValueError, match="X has 100 rows but the targets have 50"):
        task_affinity(est, X, Y.take(np.arange(50)))


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_gives_a_cosine_matrix(architecture, rng):
    X, Y = copies_and_noise("binary", rng, n=120)
    est = MultiTaskEstimator(
        hidden_layer_sizes=(8,), architecture=architecture, max_epochs=2, random_state=0
    ).fit(X, Y)
    affinity = task_affinity(est, X, Y).to_numpy()
    np.testing.assert_allclose(affinity, affinity.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(affinity), 1.0)
    assert np.all(np.abs(affinity) <= 1.0)
    assert np.isfinite(affinity).all()
