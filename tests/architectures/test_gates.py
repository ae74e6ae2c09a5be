"""Gates and cross-stitch units: their values, and how to inspect them after fit."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._training import _data
from sklearn_mtl.architectures import CGC, PLE, CrossStitch, MMoE
from sklearn_mtl.inspection import gate_weights, stitch_weights

GATED = {"mmoe": MMoE(3), "cgc": CGC(2, n_task_experts=2), "ple": PLE(3)}
TASKS = ["a", "b", "c"]


def build(arch, tasks=TASKS, n_features=5):
    return arch.build(
        n_features, tasks, hidden_layer_sizes=(6,), activation="relu", dropout=0.0
    ).eval()


def fitted(mixed_data, architecture, **params):
    X, Y = mixed_data
    base = dict(hidden_layer_sizes=(8,), max_epochs=3, batch_size=32, random_state=0)
    return MultiTaskEstimator(architecture=architecture, **{**base, **params}).fit(X, Y)


@pytest.mark.parametrize("name", GATED)
def test_every_gate_is_a_distribution_over_its_level(name):
    body = build(GATED[name])
    levels = body.gate_weights(torch.randn(11, 5) * 3)
    assert len(levels) == (3 if name == "ple" else 1)
    for k, (experts, gates) in enumerate(levels):
        assert len(set(experts)) == len(experts)
        has_shared_gate = name == "ple" and k < len(levels) - 1
        assert list(gates) == TASKS + (["(shared)"] if has_shared_gate else [])
        for g in gates.values():
            assert g.shape == (11, len(experts))
            assert (g >= 0).all()
            torch.testing.assert_close(g.sum(dim=1), torch.ones(11))


@pytest.mark.parametrize("name", ["cgc", "ple"])
def test_task_gates_ignore_other_tasks_experts(name):
    body = build(GATED[name])
    for experts, gates in body.gate_weights(torch.randn(9, 5)):
        for task in TASKS:
            foreign = [i for i, e in enumerate(experts) if not e.startswith((task, "shared"))]
            own = [i for i, e in enumerate(experts) if e.startswith(task)]
            assert foreign and own
            assert (gates[task][:, foreign] == 0).all()
            assert (gates[task][:, own] > 0).all()


def test_mmoe_output_is_the_gate_weighted_mixture_of_experts():
    body = build(MMoE(3), tasks=["a", "b"])
    x = torch.randn(6, 5)
    with torch.no_grad():
        body.gates[0].linear.weight.zero_()  # uniform gate for task a
        body.gates[1].linear.weight.copy_(torch.tensor([[0.0] * 5, [50.0] + [0.0] * 4, [0.0] * 5]))
        experts = body.experts(x)
        out = body(x)
        torch.testing.assert_close(out["a"], experts.mean(dim=0))
        # Task b's gate puts (nearly) all its weight on expert 1 where x_0 > 0.
        positive = x[:, 0] > 0.5
        torch.testing.assert_close(out["b"][positive], experts[1][positive], atol=1e-4, rtol=0)
        weights = body.gate_weights(x)[0][1]
    torch.testing.assert_close(weights["a"], torch.full((6, 3), 1 / 3))


@pytest.mark.parametrize("name", GATED)
@pytest.mark.parametrize("ensemble_size", [1, 3])
def test_gate_weights_is_the_mean_of_the_row_gates(name, ensemble_size, mixed_data, monkeypatch):
    # With an ensemble the body reads each row once per member: the mean is over both.
    X, _ = mixed_data
    est = fitted(mixed_data, GATED[name], ensemble_size=ensemble_size)
    frame = gate_weights(est, X)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == ["task_0", "task_1", "task_2"]
    np.testing.assert_allclose(frame.sum(axis=1), 1.0, rtol=1e-6)
    module = est.net_.module_
    with torch.no_grad():
        inputs = module.body_inputs(torch.as_tensor(X, dtype=torch.float32))
        experts, rows = module.body.gate_weights(inputs)[-1]
    assert list(frame.columns) == experts
    for task, g in rows.items():
        np.testing.assert_allclose(frame.loc[task], g.mean(dim=0).numpy(), rtol=1e-5)
    # Batched accumulation gives the same means as one pass.
    monkeypatch.setattr(_data, "INFERENCE_BATCH_SIZE", 7)
    np.testing.assert_allclose(gate_weights(est, X), frame, rtol=1e-6)
    # Gates depend on the row, and training has moved them off their start.
    assert rows["task_0"].std(dim=0).max() > 1e-3


def test_ple_levels_and_shared_gate(mixed_data):
    X, _ = mixed_data
    est = fitted(mixed_data, PLE(2))
    first = gate_weights(est, X, level=0)
    assert list(first.index) == ["task_0", "task_1", "task_2", "(shared)"]
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-6)
    # The shared gate reads every expert of the level, private ones included.
    assert (first.loc["(shared)"] > 0).all()
    np.testing.assert_allclose(gate_weights(est, X, level=1), gate_weights(est, X), rtol=0)
    with pytest.raises(ValueError, match="level=2 does not exist.*2 level"):
        gate_weights(est, X, level=2)


def test_gate_weights_after_pickle_and_through_a_pipeline(mixed_data):
    X, Y = mixed_data
    X = X * 10 + 3
    pipe = make_pipeline(
        StandardScaler(),
        MultiTaskEstimator(architecture="mmoe", hidden_layer_sizes=(8,), max_epochs=2),
    ).fit(X, Y)
    frame = gate_weights(pipe, X)
    est = pipe[-1]
    np.testing.assert_allclose(frame, gate_weights(est, pipe[0].transform(X)), rtol=1e-6)
    np.testing.assert_allclose(gate_weights(pickle.loads(pickle.dumps(pipe)), X), frame)


def test_gate_weights_refuses_what_it_cannot_inspect(mixed_data):
    X, _ = mixed_data
    with pytest.raises(ValueError, match="has none.*use stitch_weights"):
        gate_weights(fitted(mixed_data, "cross_stitch"), X)
    with pytest.raises(ValueError, match="SharedBottom, which has none"):
        gate_weights(fitted(mixed_data, "shared"), X)
    est = fitted(mixed_data, "mmoe")
    with pytest.raises(ValueError, match="features"):
        gate_weights(est, X[:, :4])
    with pytest.raises(NotFittedError):
        gate_weights(MultiTaskEstimator(architecture="mmoe"), X)
    with pytest.raises(TypeError, match="MultiTaskEstimator"):
        gate_weights(StandardScaler().fit(X), X)
    with pytest.raises(ValueError, match="architecture='cross_stitch'.*use gate_weights"):
        stitch_weights(est)


def test_gate_weights_restores_the_training_mode_when_it_raises(mixed_data):
    X, _ = mixed_data
    est = fitted(mixed_data, PLE(2))
    body = est.net_.module_.body
    body.train()
    with pytest.raises(ValueError, match="level=2 does not exist"):
        gate_weights(est, X, level=2)
    assert body.training and all(module.training for module in body.modules())
    body.eval()
    with pytest.raises(ValueError, match="level=-3 does not exist"):
        gate_weights(est, X, level=-3)
    assert not any(module.training for module in body.modules())


def test_stitch_units_start_as_documented():
    body = build(CrossStitch(alpha_self=0.7), tasks=["a", "b", "c"])
    for alpha in body.stitch_weights():
        expected = torch.full((3, 3), 0.15) + 0.55 * torch.eye(3)
        torch.testing.assert_close(alpha, expected)
    (alpha,) = build(CrossStitch(), tasks=["a"]).stitch_weights()
    assert alpha.tolist() == [[1.0]]


def test_identity_stitch_keeps_columns_independent():
    body = build(CrossStitch(alpha_self=1.0), tasks=["a", "b"])
    layer = body.layers[0][0]
    grad = torch.autograd.grad(body(torch.randn(8, 5))["a"].sum(), layer.weight)[0]
    assert grad[0].abs().sum() > 0
    assert (grad[1] == 0).all()  # column b does not reach task a


def test_stitch_weights_after_fit(mixed_data):
    est = fitted(mixed_data, CrossStitch(), hidden_layer_sizes=(8, 4))
    units = stitch_weights(est)
    assert len(units) == 2
    body = est.net_.module_.body
    for frame, alpha in zip(units, body.stitches):
        assert list(frame.index) == list(frame.columns) == ["task_0", "task_1", "task_2"]
        np.testing.assert_array_equal(frame.to_numpy(), alpha.detach().numpy())
    # Trained units have moved from their 0.9 / 0.05 start.
    assert not np.allclose(units[0].to_numpy(), np.full((3, 3), 0.05) + 0.85 * np.eye(3))
