"""Reusable property checks for gradient-level weighting strategies, one helper per property.

Each helper runs a strategy's real ``backward`` on a stand-in network whose task
gradients are given (:class:`LinearTasks`), so the strategy's own solve, the way
task weights enter and the selection of active tasks are all exercised.
"""

import numpy as np
import torch


class LinearTasks:
    """A stand-in network: task t's loss is ``1 + g_t . theta``, so its gradient is ``g_t``."""

    def __init__(self, gradients):
        self.gradients = torch.as_tensor(np.asarray(gradients), dtype=torch.float64)
        self.theta = torch.zeros(self.gradients.shape[1], dtype=torch.float64, requires_grad=True)

    def losses(self):
        return self.gradients @ self.theta + 1.0

    def shared_parameters(self):
        return [self.theta]

    def task_parameters(self):
        return []


def shared_update(strategy, gradients, *, present=None, task_weights=None, seed=0):
    """The update one step of ``strategy`` gives the shared parameters, and the weights.

    ``strategy`` is a fresh instance (its running state starts empty).
    """
    network = LinearTasks(gradients)
    n_tasks = network.gradients.shape[0]
    task_weights = np.ones(n_tasks) if task_weights is None else np.asarray(task_weights)
    present = np.ones(n_tasks, dtype=bool) if present is None else np.asarray(present)
    strategy.initialize([f"t{i}" for i in range(n_tasks)], torch.as_tensor(task_weights), "cpu")
    torch.manual_seed(seed)
    weights = strategy.backward(
        network.losses(), present=torch.as_tensor(present), network=network
    )
    update = network.theta.grad
    update = np.zeros(network.theta.shape) if update is None else update.double().numpy()
    return update, weights.double().numpy()


def assert_permutation_equivariant(make_strategy, gradients, permutation, *, atol=1e-3):
    """Permuting the tasks permutes the weights and leaves the update unchanged.

    Up to ``atol`` relative to the largest weight and to the update's norm:
    gradients of norms 1e-3 to 1e3 make Gram matrices with condition numbers
    near 1e12, where an iterative solve's accuracy depends on the order of
    the tasks. With more tasks than dimensions the weights need not be
    unique (at a Pareto-stationary point, say), so give fewer.
    """
    gradients = np.asarray(gradients)
    update, weights = shared_update(make_strategy(), gradients)
    permuted_update, permuted_weights = shared_update(make_strategy(), gradients[permutation])
    scale = np.abs(weights).max() + 1e-12
    np.testing.assert_allclose(permuted_weights / scale, weights[permutation] / scale, atol=atol)
    norm = np.linalg.norm(update) + np.linalg.norm(gradients) * 1e-9
    np.testing.assert_allclose(permuted_update / norm, update / norm, atol=atol)


def assert_leaves_out(make_strategy, gradients, task, *, how):
    """A task with weight 0 (``how="weight"``) or no labelled row (``how="absent"``) is left out.

    It gets weight 0 and the update is the one the strategy makes without it.
    """
    gradients = np.asarray(gradients)
    n_tasks = len(gradients)
    flags = np.arange(n_tasks) != task
    if how == "weight":
        update, weights = shared_update(make_strategy(), gradients, task_weights=flags * 1.0)
    else:
        update, weights = shared_update(make_strategy(), gradients, present=flags)
    others_update, others_weights = shared_update(make_strategy(), gradients[flags])
    assert weights[task] == 0
    np.testing.assert_allclose(weights[flags], others_weights, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(update, others_update, rtol=1e-6, atol=1e-9)


def assert_finite(make_strategy, gradients):
    """Weights and update are finite."""
    update, weights = shared_update(make_strategy(), gradients)
    assert np.isfinite(weights).all(), weights
    assert np.isfinite(update).all(), update


def assert_non_conflicting(make_strategy, gradients, *, rtol=1e-9):
    """No task's loss increases to first order: ``g_t . d >= 0`` for every task.

    Up to rounding: ``rtol`` times ``|g_t|`` times the size of the terms that
    make up ``d = sum_s w_s g_s`` (near-opposed gradients cancel in ``d``).
    """
    gradients = np.asarray(gradients)
    update, weights = shared_update(make_strategy(), gradients)
    progress = gradients @ update
    norms = np.linalg.norm(gradients, axis=1)
    rounding = rtol * norms * (np.linalg.norm(update) + np.abs(weights) @ norms)
    assert (progress >= -rounding).all(), (progress, rounding)
