"""Widths and parameter counts of every architecture, against their documented formulas."""

import pytest
import torch

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.architectures import CGC, PLE, CrossStitch, MMoE, SharedBottom


def mlp(p, sizes):
    count = 0
    for h in sizes:
        count += p * h + h
        p = h
    return count


def ple_count(p, T, h, L, S, K):
    d, total = h[-1], 0
    for k in range(L):
        n_in = p if k == 0 else d
        total += (S + T * K) * mlp(n_in, h) + T * (K + S) * n_in
        if k < L - 1:
            total += (T * K + S) * n_in
    return total


CASES = [
    (SharedBottom(), lambda p, T, h: mlp(p, h)),
    (MMoE(), lambda p, T, h: 4 * mlp(p, h) + T * 4 * p),
    (MMoE(n_experts=1, expert_hidden_sizes=(3,)), lambda p, T, h: mlp(p, (3,)) + T * p),
    (CGC(), lambda p, T, h: (2 + T) * mlp(p, h) + T * 3 * p),
    (CGC(3, n_task_experts=0), lambda p, T, h: 3 * mlp(p, h) + T * 3 * p),
    (PLE(), lambda p, T, h: ple_count(p, T, h, 2, 2, 1)),
    (PLE(3, n_shared_experts=1, n_task_experts=2), lambda p, T, h: ple_count(p, T, h, 3, 1, 2)),
    (PLE(1), lambda p, T, h: (2 + T) * mlp(p, h) + T * 3 * p),
    (CrossStitch(), lambda p, T, h: T * mlp(p, h) + len(h) * T**2),
    (CrossStitch(column_hidden_sizes=(4,)), lambda p, T, h: T * mlp(p, (4,)) + T**2),
]


@pytest.mark.parametrize("arch, formula", CASES, ids=[repr(a) for a, _ in CASES])
@pytest.mark.parametrize("n_tasks", [1, 2, 4])
@pytest.mark.parametrize("sizes", [(8,), (12, 5)])
def test_parameter_count_matches_the_docstring_formula(arch, formula, n_tasks, sizes):
    tasks = [f"t{i}" for i in range(n_tasks)]
    body = arch.build(7, tasks, hidden_layer_sizes=sizes, activation="tanh", dropout=0.0)
    assert sum(p.numel() for p in body.parameters()) == formula(7, n_tasks, sizes)
    expected_width = (
        getattr(arch, "expert_hidden_sizes", None) or getattr(arch, "column_hidden_sizes", None)
    ) or sizes
    assert body.out_features == dict.fromkeys(tasks, expected_width[-1])
    out = body(torch.randn(3, 7))
    for t in tasks:
        rep = out if isinstance(out, torch.Tensor) else out[t]
        assert rep.shape == (3, expected_width[-1])


@pytest.mark.parametrize("arch", [MMoE(), CGC(), PLE(), CrossStitch()], ids=repr)
def test_dropout_is_active_in_training_only(arch):
    body = arch.build(5, ["a", "b"], hidden_layer_sizes=(64,), activation="relu", dropout=0.5)
    x = torch.randn(4, 5)
    body.train()
    assert not torch.equal(body(x)["a"], body(x)["a"])
    body.eval()
    assert torch.equal(body(x)["a"], body(x)["a"])


@pytest.mark.parametrize(
    "arch, match",
    [
        (MMoE(n_experts=0), "n_experts"),
        (CGC(n_shared_experts=0), "n_shared_experts"),
        (CGC(n_task_experts=-1), "n_task_experts"),
        (PLE(n_levels=0), "n_levels"),
        (CrossStitch(alpha_self=1.5), "alpha_self"),
        (MMoE(expert_hidden_sizes=()), r"expert_hidden_sizes is \(\)"),
        (PLE(expert_hidden_sizes=(4, 0)), "expert_hidden_sizes"),
        (CrossStitch(column_hidden_sizes=(2.5,)), "column_hidden_sizes"),
    ],
    ids=repr,
)
def test_bad_hyper_parameters_are_refused_at_build(arch, match):
    with pytest.raises(ValueError, match=match):
        arch.build(5, ["a", "b"], hidden_layer_sizes=(8,), activation="relu", dropout=0.0)


def test_empty_hidden_layer_sizes_names_the_architecture_parameter():
    with pytest.raises(ValueError, match="architecture__expert_hidden_sizes"):
        MMoE().build(5, ["a"], hidden_layer_sizes=(), activation="relu", dropout=0.0)


def test_bad_hyper_parameter_is_refused_at_fit_before_training(mixed_data):
    X, Y = mixed_data
    est = MultiTaskEstimator(architecture="ple", max_epochs=1).set_params(architecture__n_levels=0)
    with pytest.raises(ValueError, match="'n_levels' parameter of PLE must be an int"):
        est.fit(X, Y)
    assert not hasattr(est, "net_")
