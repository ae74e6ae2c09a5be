"""Quantile regression tasks: one head, one non-crossing output per level, pinball loss."""

import pickle

import numpy as np
import pytest
import tabm
import torch
from sklearn.base import clone
from sklearn.metrics import mean_absolute_error

from sklearn_mtl import MultiTaskEstimator, for_task
from sklearn_mtl._nn import QuantileOutput
from sklearn_mtl._tasks import RegressionTask
from sklearn_mtl._tasks._regression import level_weights

LEVELS = [0.1, 0.5, 0.9]


def heteroscedastic(seed, n):
    """y = x0 + noise whose scale grows with |x1|, and the noise's true scale."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    sigma = 0.2 + np.abs(X[:, 1])
    return X, X[:, 0] + sigma * rng.normal(size=n), sigma


def assert_increasing(quantiles):
    """Each row's quantiles never decrease from one level to the next."""
    steps = np.diff(np.asarray(quantiles, dtype=np.float64), axis=-1)
    assert (steps >= 0).all(), f"crossing quantiles: smallest step {steps.min()}"


@pytest.mark.parametrize("n_quantiles", [1, 2, 3, 6])
@pytest.mark.parametrize("members", [1, 4])
def test_the_output_layer_never_crosses_whatever_its_parameters(n_quantiles, members):
    torch.manual_seed(n_quantiles)
    if members == 1:
        linear, x = torch.nn.Linear(5, n_quantiles), torch.randn(200, 5)
    else:
        linear, x = tabm.LinearEnsemble(5, n_quantiles, k=members), torch.randn(200, members, 5)
    layer = QuantileOutput(linear)
    for scale in (1.0, 1e3, 1e6):
        with torch.no_grad():
            for parameter in layer.parameters():
                parameter.normal_(0, scale)
        out = layer(x * scale)
        assert out.shape == (*x.shape[:-1], n_quantiles)
        assert_increasing(out.detach().numpy())


def test_quantiles_are_learned_never_cross_and_adapt_to_the_row():
    X, y, sigma = heteroscedastic(0, 4000)
    train, test = slice(0, 3000), slice(3000, None)
    est = MultiTaskEstimator(
        losses={"y": ("quantile", LEVELS)}, hidden_layer_sizes=(32,), random_state=0
    ).fit(X[train], {"y": y[train], "big": X[train, 2] > 0})
    assert est.ensemble_size == "auto" and est.net_.module_.ensemble_size > 1
    quantiles = est.predict_quantiles(X[test])
    assert list(quantiles) == ["y"] and quantiles["y"].shape == (1000, 3)
    assert_increasing(quantiles["y"])
    assert_increasing(est.predict_quantiles(X[test] * 1e3)["y"])
    # Each level is near its empirical coverage on held-out rows ...
    below = (y[test, None] <= quantiles["y"]).mean(axis=0)
    np.testing.assert_allclose(below, LEVELS, atol=0.06)
    # ... and the 80% band is wider where the noise is: it follows the true scale.
    width = quantiles["y"][:, 2] - quantiles["y"][:, 0]
    assert np.corrcoef(width, sigma[test])[0, 1] > 0.7
    # predict gives the median column, and for_task's view the same.
    np.testing.assert_array_equal(est.predict(X[test])["y"], quantiles["y"][:, 1])
    np.testing.assert_array_equal(for_task(est, "y").predict(X[test]), quantiles["y"][:, 1])


def test_the_median_is_as_accurate_as_the_squared_error_model():
    X, y, _ = heteroscedastic(1, 3000)
    params = dict(hidden_layer_sizes=(32,), random_state=0)
    train, test = slice(0, 2000), slice(2000, None)
    errors = {}
    for name, loss in [("squared_error", "squared_error"), ("quantile", "quantile")]:
        est = MultiTaskEstimator(losses={"y": loss}, **params).fit(X[train], {"y": y[train]})
        errors[name] = mean_absolute_error(y[test], est.predict(X[test])["y"])
    # Symmetric noise: the median and the mean coincide; within 5% of each other.
    assert errors["quantile"] < 1.05 * errors["squared_error"], errors


def test_median_interpolated_when_not_a_level():
    np.testing.assert_allclose(level_weights([0.1, 0.9], 0.5), [0.5, 0.5])
    np.testing.assert_allclose(level_weights([0.1, 0.3, 0.9], 0.5), [0, 2 / 3, 1 / 3])
    np.testing.assert_array_equal(level_weights([0.6, 0.9], 0.5), [1, 0])
    np.testing.assert_array_equal(level_weights([0.1, 0.2], 0.5), [0, 1])
    X, y, _ = heteroscedastic(2, 300)
    est = MultiTaskEstimator(
        losses={"y": ("quantile", (0.1, 0.9))}, hidden_layer_sizes=(8,), max_epochs=3
    ).fit(X, {"y": y})
    q = est.predict_quantiles(X)["y"]
    np.testing.assert_allclose(est.predict(X)["y"], q.mean(axis=1), rtol=1e-12)


def test_pinball_loss_per_row():
    task = RegressionTask("y", ("quantile", [0.1, 0.9])).fit(np.array([0.0, 1.0]), False)
    output = torch.tensor([[0.0, 2.0], [0.0, 2.0]])
    target = torch.tensor([1.0, 3.0])
    # Twice the mean pinball loss. Row 0: 0.1 * 1 and 0.1 * 1 (0.9 quantile above
    # by 1); row 1: 0.1 * 3 and 0.9 * 1.
    expected = torch.tensor([0.1 + 0.1, 0.3 + 0.9])
    torch.testing.assert_close(task.loss(output, target), expected)
    assert task.output_layer == "quantile" and task.n_outputs == 2
    # The one level 0.5 has the absolute error's loss.
    median = RegressionTask("y", ("quantile", [0.5])).fit(np.array([0.0, 1.0]), False)
    absolute = RegressionTask("y", "absolute_error").fit(np.array([0.0, 1.0]), False)
    torch.testing.assert_close(median.loss(output[:, :1], target), absolute.loss(output, target))


def test_default_levels_missing_labels_pickle_and_clone():
    X, y, _ = heteroscedastic(3, 300)
    y[::3] = np.nan
    est = MultiTaskEstimator(losses={"y": "quantile"}, hidden_layer_sizes=(8,), max_epochs=3)
    est.fit(X, {"y": y, "x0": X[:, 0]})
    assert est._predictor.tasks["y"].quantiles == (0.05, 0.5, 0.95)
    q = est.predict_quantiles(X)["y"]
    assert q.shape == (300, 3) and np.isfinite(q).all()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_quantiles(X)["y"], q)
    assert clone(est).set_params(losses__y=("quantile", [0.5])).get_params()["losses__y"] == (
        "quantile",
        [0.5],
    )


@pytest.mark.parametrize(
    "task, loss",
    [
        ("regression", ("quantile", [0.5, 1.2])),
        ("regression", ("quantile", [0.9, 0.1])),
        ("regression", ("quantile", [])),
        ("regression", ("quantile", 0.5)),
        ("count", ("quantile", [0.1, 0.9])),
    ],
)
def test_bad_quantile_losses(task, loss):
    X, y, _ = heteroscedastic(4, 50)
    est = MultiTaskEstimator(tasks={"y": task}, losses={"y": loss}, max_epochs=1)
    with pytest.raises(ValueError, match=r"losses gives task 'y' the loss .*does not take"):
        est.fit(X, {"y": np.abs(y)})


def test_predict_quantiles_needs_a_quantile_task(mixed_data):
    X, Y = mixed_data
    est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=1).fit(X, Y)
    assert not hasattr(est, "predict_quantiles")
    with pytest.raises(AttributeError, match="has no attribute 'predict_quantiles'") as excinfo:
        est.predict_quantiles(X)
    # scikit-learn's available_if chains the reason as the cause.
    assert "needs a regression task fitted with a quantile loss" in str(excinfo.value.__cause__)
