import sys

import numpy as np
import pytest

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.inspection import (
    plot_task_affinity,
    plot_task_weights,
    plot_training_history,
    task_affinity,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture
def fitted(rng):
    X = rng.normal(size=(200, 4))
    Y = TargetDict(a=X[:, 0] + X[:, 1], b=X[:, 0] > 0, c=rng.normal(size=200))
    est = MultiTaskEstimator(
        hidden_layer_sizes=(8,),
        max_epochs=4,
        early_stopping=True,
        n_iter_no_change=10,
        random_state=0,
    )
    yield est.fit(X, Y), X, Y
    plt.close("all")


def test_training_history_draws_train_and_validation_per_task(fitted):
    est, _, _ = fitted
    ax = plot_training_history(est)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {f"{t} ({s})" for t in "abc" for s in ("train", "validation")}
    np.testing.assert_allclose(lines["b (train)"].get_ydata(), est.history_[:, "train_loss_b"])
    np.testing.assert_allclose(lines["c (validation)"].get_ydata(), est.history_[:, "valid_loss_c"])
    assert len(lines["a (train)"].get_xdata()) == est.n_epochs_


def test_without_validation_only_training_curves(rng):
    X = rng.normal(size=(100, 3))
    est = MultiTaskEstimator(
        hidden_layer_sizes=(8,), max_epochs=2, early_stopping=False, random_state=0
    )
    est.fit(X, {"a": X[:, 0], "b": X[:, 1] > 0})
    _, ax = plt.subplots()
    assert plot_training_history(est, tasks=["b"], ax=ax) is ax
    assert [line.get_label() for line in ax.get_lines()] == ["b (train)"]
    plt.close("all")


def test_task_weights_follow_history(fitted):
    est, _, _ = fitted
    ax = plot_task_weights(est)
    for line, task in zip(ax.get_lines(), "abc"):
        assert line.get_label() == task
        np.testing.assert_allclose(line.get_ydata(), est.history_[:, f"weight_{task}"])
    with pytest.raises(ValueError, match="Unknown tasks \\['z'\\]"):
        plot_task_weights(est, tasks=["z"])


def test_affinity_heatmap_shows_the_matrix(fitted):
    est, X, Y = fitted
    affinity = task_affinity(est, X, Y)
    ax = plot_task_affinity(affinity)
    np.testing.assert_allclose(ax.images[0].get_array(), affinity.to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert len(ax.texts) == 9
    with pytest.raises(ValueError, match="square matrix"):
        plot_task_affinity(affinity.iloc[:2])


def test_missing_matplotlib_says_how_to_install(fitted, monkeypatch):
    est, _, _ = fitted
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install 'sklearn_mtl\[plot\]'"):
        plot_training_history(est)
