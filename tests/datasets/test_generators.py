"""make_multitask: the task relationship it generates is the one asked for, measured."""

import inspect

import numpy as np
import pytest

from sklearn_mtl.datasets import make_multitask


def test_signature_follows_the_issue():
    params = list(inspect.signature(make_multitask).parameters)
    assert params[:7] == [
        "n_samples",
        "n_features",
        "n_tasks",
        "task_types",
        "correlation",
        "noise",
        "random_state",
    ]


@pytest.mark.parametrize(
    "n_tasks, correlation",
    [(2, 1.0), (2, 0.5), (2, 0.0), (2, -0.7), (2, -1.0), (4, 0.3), (3, -0.5)],
)
def test_task_vectors_have_the_requested_cosine(n_tasks, correlation):
    X, Y, coef = make_multitask(
        20000, 10, n_tasks, correlation=correlation, random_state=0, coef=True
    )
    assert coef.shape == (10, n_tasks)
    expected = np.full((n_tasks, n_tasks), correlation) + (1 - correlation) * np.eye(n_tasks)
    np.testing.assert_allclose(coef.T @ coef, expected, atol=1e-10)
    # For x ~ N(0, I) the cosine is the correlation of the linear parts, measured.
    linear = X @ coef
    measured = np.corrcoef(linear.T)
    np.testing.assert_allclose(measured, expected, atol=0.02)


def test_targets_follow_the_mmoe_formula():
    X, Y, coef = make_multitask(500, 6, 2, correlation=0.4, noise=0.0, random_state=3, coef=True)
    # Same seed, no sinusoids: only the linear part (and the noise) is left.
    X0, Y0, coef0 = make_multitask(
        500, 6, 2, correlation=0.4, noise=0.0, random_state=3, n_sinusoids=0, coef=True
    )
    np.testing.assert_allclose(coef, coef0)
    np.testing.assert_allclose(Y0["task_1"], X0 @ coef0[:, 1])
    X1, Y1 = make_multitask(500, 6, 2, correlation=0.4, noise=0.5, random_state=3, n_sinusoids=0)
    residual = Y1["task_0"] - X1 @ coef[:, 0]
    assert residual.std() == pytest.approx(0.5, rel=0.1)


def test_target_correlation_falls_with_the_task_correlation():
    measured = []
    for correlation in (1.0, 0.7, 0.3, 0.0):
        _, Y = make_multitask(20000, 10, 2, correlation=correlation, random_state=1)
        measured.append(np.corrcoef(Y["task_0"], Y["task_1"])[0, 1])
    assert all(a > b + 0.1 for a, b in zip(measured, measured[1:])), measured
    assert abs(measured[-1]) < 0.05
    # At correlation 1 the tasks differ by their independent noise only.
    _, Y = make_multitask(20000, 10, 2, correlation=1.0, noise=0.2, random_state=1)
    assert np.std(Y["task_0"] - Y["task_1"]) == pytest.approx(0.2 * np.sqrt(2), rel=0.03)


def test_classification_tasks_are_balanced_bins_of_the_task_value():
    X, Y = make_multitask(
        6000,
        8,
        3,
        ["regression", "binary", "multiclass"],
        correlation=1.0,
        noise=0.0,
        n_classes=4,
        random_state=0,
    )
    assert np.bincount(Y["task_1"]).tolist() == [3000, 3000]
    assert np.bincount(Y["task_2"]).tolist() == [1500] * 4
    # Identical noiseless tasks: the labels are bins of the regression value.
    value = Y["task_0"]
    np.testing.assert_array_equal(Y["task_1"], value > np.median(value))
    order = np.argsort(value)
    assert (np.diff(Y["task_2"][order]) >= 0).all()


def test_reproducible():
    a = make_multitask(50, 5, 2, ["binary", "regression"], random_state=7)
    b = make_multitask(50, 5, 2, ["binary", "regression"], random_state=7)
    np.testing.assert_array_equal(a[0], b[0])
    for name in a[1]:
        np.testing.assert_array_equal(a[1][name], b[1][name])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_tasks=3, correlation=-0.6), r"correlation must lie in \[-0.5, 1\]"),
        (dict(correlation=1.2), r"correlation must lie in \[-1, 1\]"),
        (dict(n_tasks=2, task_types=["binary"]), "1 entries for n_tasks=2"),
        (dict(task_types=["binary", "ranking"]), "Unknown task types \\['ranking'\\]"),
        (dict(n_features=2, n_tasks=2), "n_features=2 must exceed n_tasks=2"),
        (dict(noise=-1.0), "noise"),
        (
            dict(n_samples=0),
            r"'n_samples' parameter of make_multitask must be an int in the range \[1, inf\)",
        ),
        (dict(n_classes=1), "n_classes"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_multitask(**kwargs)


def test_clusters_relate_tasks_within_and_not_across():
    X, Y, w = make_multitask(
        50, 12, 5, clusters=[2, 2, 1], correlation=0.9, random_state=0, coef=True
    )
    cosine = w.T @ w
    labels = np.array([0, 0, 1, 1, 2])
    same = labels[:, None] == labels[None, :]
    np.testing.assert_allclose(np.diag(cosine), 1.0)
    np.testing.assert_allclose(cosine[same & ~np.eye(5, dtype=bool)], 0.9)
    np.testing.assert_allclose(cosine[~same], 0.0, atol=1e-12)
    assert list(Y) == [f"task_{i}" for i in range(5)]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(clusters=[2, 2]), "summing to n_tasks=5"),
        (dict(clusters=[4, 0, 1]), "positive sizes"),
        (dict(clusters=[2, 2, 1], n_features=7), "at least n_tasks \\+ len\\(clusters\\) = 8"),
        (dict(clusters=[2, 2, 1], correlation=-0.1), "at least 0 with clusters"),
    ],
)
def test_bad_clusters_are_refused(kwargs, message):
    params = {**dict(n_samples=20, n_features=12, n_tasks=5, random_state=0), **kwargs}
    with pytest.raises(ValueError, match=message):
        make_multitask(**params)
