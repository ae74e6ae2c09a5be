"""The multi-task loss: the unmasked path of fully labelled batches equals the masked one."""

import numpy as np
import pytest
import torch

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._nn import MultiTaskLoss
from sklearn_mtl._tasks import TASK_TYPES
from sklearn_mtl._training import _fit, make_dataset

#: Task type -> (outputs per row, target columns, a target sampler).
TYPES = {
    "regression": (1, 1, lambda n: torch.randn(n, 1)),
    "count": (1, 1, lambda n: torch.poisson(torch.full((n, 1), 2.0))),
    "binary": (1, 1, lambda n: torch.randint(0, 2, (n, 1)).float()),
    "multiclass": (4, 1, lambda n: torch.randint(0, 4, (n, 1)).float()),
    "ordinal": (3, 1, lambda n: torch.randint(0, 4, (n, 1)).float()),
    "multilabel": (3, 3, lambda n: torch.randint(0, 2, (n, 3)).float()),
}


def _criterion():
    names, tasks, slices, start = [], [], [], 0
    for name, (_, width, _) in TYPES.items():
        names.append(name)
        tasks.append(TASK_TYPES[name](name))
        slices.append(slice(start, start + width))
        start += width
    return MultiTaskLoss(names, tasks, slices)


@pytest.mark.parametrize("members", [None, 3], ids=["one network", "ensemble of 3"])
def test_unmasked_losses_and_gradients_equal_the_masked_ones(members):
    torch.manual_seed(0)
    n = 37
    criterion = _criterion()
    shape = (n,) if members is None else (n, members)
    outputs = {
        name: torch.randn(*shape, k, requires_grad=True) for name, (k, _, _) in TYPES.items()
    }
    y = torch.cat([sample(n) for _, _, sample in TYPES.values()], dim=1)
    masked, masked_sums = criterion(outputs, y, torch.ones_like(y))
    masked_grads = torch.autograd.grad(masked.sum(), list(outputs.values()))
    unmasked, unmasked_sums = criterion(outputs, y, None)
    unmasked_grads = torch.autograd.grad(unmasked.sum(), list(outputs.values()))
    torch.testing.assert_close(unmasked, masked, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(unmasked_sums, masked_sums)
    for fast, general in zip(unmasked_grads, masked_grads):
        torch.testing.assert_close(fast, general, rtol=1e-5, atol=1e-7)


def test_only_weights_that_are_all_one_are_dropped():
    X, y = np.zeros((4, 2), np.float32), np.zeros((4, 2), np.float32)
    assert make_dataset(X, y, np.ones((4, 2), np.float32), "cpu").w is None
    partial = np.ones((4, 2), np.float32)
    partial[1, 0] = 0
    assert make_dataset(X, y, partial, "cpu").w is not None


def test_a_fit_on_the_unmasked_path_matches_the_masked_path(mixed_data, fast, monkeypatch):
    X, Y = mixed_data
    unmasked = MultiTaskEstimator(**fast).fit(X, Y)
    data = _fit.make_dataset

    def keep_weights(X, y, w, device):
        dataset = data(X, y, w, device)
        dataset.w = torch.ones_like(dataset.y) if dataset.w is None else dataset.w
        return dataset

    monkeypatch.setattr(_fit, "make_dataset", keep_weights)
    masked = MultiTaskEstimator(**fast).fit(X, Y)
    for name in Y:
        np.testing.assert_allclose(
            masked.history_[:, f"train_loss_{name}"],
            unmasked.history_[:, f"train_loss_{name}"],
            rtol=1e-4,
        )
    expected = unmasked.predict(X)["task_0"]
    np.testing.assert_allclose(masked.predict(X)["task_0"], expected, atol=1e-4)
