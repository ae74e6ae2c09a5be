"""Efficient ensembles (ensemble_size > 1): members' losses, averaged predictions, every part."""

import pickle

import numpy as np
import pytest
import torch

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._nn import LINKS, MemberInputs, MultiTaskLoss, average_members
from sklearn_mtl._tasks import TASK_TYPES
from sklearn_mtl._training import make_dataset
from sklearn_mtl.architectures import ARCHITECTURES
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.inspection import gate_weights
from sklearn_mtl.weighting import WEIGHTINGS


def tiny(**params):
    base = dict(
        hidden_layer_sizes=(8,),
        max_epochs=2,
        batch_size=32,
        ensemble_size=3,
        n_bags=1,  # the members of one network
        numeric_embedding=None,
        dropout=0.0,
        early_stopping=False,
        random_state=0,
    )
    return MultiTaskEstimator(**{**base, **params})


def _prediction(task, output):
    """What a task predicts from raw outputs, as a float tensor (probabilities or values)."""
    if task.type_name == "regression":
        return output[:, 0]
    if task.type_name == "count":
        return output[:, 0].exp()
    if task.type_name == "multilabel":
        return torch.sigmoid(output)
    return task.proba(output)


@pytest.mark.parametrize(
    "kind, n_outputs",
    [("regression", 1), ("count", 1), ("binary", 1), ("multiclass", 4), ("ordinal", 3),
     ("multilabel", 3)],
)
def test_the_average_output_predicts_the_members_mean(kind, n_outputs):
    task = TASK_TYPES[kind](kind)
    assert task.link in LINKS
    members = torch.randn(6, 4, n_outputs) * 3
    if kind == "ordinal":  # CORAL's thresholds decrease, for every member
        members = members[..., :1] - torch.arange(n_outputs) * 0.5
    averaged = average_members(members, task.link)
    expected = torch.stack([_prediction(task, members[:, m]) for m in range(4)]).mean(dim=0)
    torch.testing.assert_close(_prediction(task, averaged), expected, rtol=1e-5, atol=1e-6)


def test_average_of_confident_members_stays_finite():
    members = torch.tensor([[[200.0], [-200.0]], [[300.0], [300.0]]])
    for link in LINKS:
        assert torch.isfinite(average_members(members, link)).all()
    np.testing.assert_allclose(average_members(members, "logit")[0].item(), 0.0, atol=1e-5)


def test_training_loss_is_the_mean_over_members_of_each_task_loss():
    torch.manual_seed(0)
    tasks = [TASK_TYPES[t](t) for t in ("regression", "multiclass", "multilabel")]
    criterion = MultiTaskLoss(["r", "c", "m"], tasks, [slice(0, 1), slice(1, 2), slice(2, 4)])
    n, k = 10, 3
    outputs = {"r": torch.randn(n, k, 1), "c": torch.randn(n, k, 4), "m": torch.randn(n, k, 2)}
    y = torch.cat(
        [torch.randn(n, 1), torch.randint(0, 4, (n, 1)).float(), (torch.rand(n, 2) > 0.5).float()],
        dim=1,
    )
    w = torch.rand(n, 4) + 0.5
    w[:3, 0] = 0  # missing regression labels
    w[5, 2] = 0  # one missing cell of the multilabel task
    losses, weight_sums = criterion(outputs, y, w)
    per_member = torch.stack(
        [criterion({name: out[:, m] for name, out in outputs.items()}, y, w)[0] for m in range(k)]
    )
    torch.testing.assert_close(losses, per_member.mean(dim=0))
    torch.testing.assert_close(weight_sums, criterion(
        {name: out[:, 0] for name, out in outputs.items()}, y, w)[1])


def test_member_inputs_scale_each_copy_per_input_column():
    torch.manual_seed(0)
    x = torch.arange(1.0, 5.0).repeat(6, 1)
    members = MemberInputs(3, [1, 3], "normal")
    out = members(x)
    assert out.shape == (18, 4)
    scaling = members.scaling.weight.detach()
    torch.testing.assert_close(out[1], x[0] * scaling[1])  # row 0, member 1
    # One value per input column's part: the three parts of column 2 share theirs.
    assert (scaling[:, 1:] == scaling[:, 1:2]).all()


def test_network_outputs_members_in_training_and_their_average_in_evaluation(mixed_data):
    X, Y = mixed_data
    est = tiny().fit(X, Y)
    module = est.net_.module_
    batch = torch.as_tensor(X[:5], dtype=torch.float32)
    module.train()
    members = module(batch)
    assert {name: tuple(out.shape) for name, out in members.items()} == {
        "task_0": (5, 3, 1), "task_1": (5, 3, 1), "task_2": (5, 3, 3)
    }
    module.eval()
    with torch.no_grad():
        averaged = module(batch)
    torch.testing.assert_close(averaged["task_0"], members["task_0"].mean(dim=1).detach())
    proba = est.predict_proba(X[:5])["task_2"]
    expected = members["task_2"].softmax(dim=-1).mean(dim=1).detach().numpy()
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-6)
    # Members differ: each has its own input scaling and heads.
    assert not torch.allclose(members["task_0"][:, 0], members["task_0"][:, 1])


def test_validation_loss_is_that_of_the_average(mixed_data, training_data):
    X, Y = mixed_data
    est = tiny(early_stopping=True, max_epochs=3, n_iter_no_change=5).fit(X, Y)
    net = est.net_
    ((X_fit, y, w),) = training_data
    _, valid = net.train_split(make_dataset(X_fit, y, w, "cpu"))
    X_valid, y_valid, w_valid = valid.tensors
    module = net.module_.eval()  # the best epoch's weights
    with torch.no_grad():
        averaged, _ = net.criterion_(module(X_valid), y_valid, w_valid)
        module.train()
        members, _ = net.criterion_(module(X_valid), y_valid, w_valid)
    best = est.best_epochs_["task_0"]
    assert float(averaged.sum()) == pytest.approx(net.history[best - 1, "valid_loss"], rel=1e-5)
    # The ensemble's loss is below the mean of its members' (convexity), not equal to it.
    assert float(averaged.sum()) < float(members.sum())


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_and_task_type(architecture, every_type_data):
    X, Y, tasks = every_type_data
    est = tiny(architecture=architecture, tasks=tasks, max_epochs=3).fit(X, Y)
    pred = est.predict(X)
    assert np.isfinite(pred["task_0"]).all() and (pred["task_3"] > 0).all()
    proba = est.predict_proba(X[:20])
    np.testing.assert_allclose(proba["task_2"].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(proba["task_4"].sum(axis=1), 1.0, rtol=1e-5)
    assert ((proba["task_5"] >= 0) & (proba["task_5"] <= 1)).all()
    loaded = pickle.loads(pickle.dumps(est))
    for task, values in pred.items():
        np.testing.assert_array_equal(loaded.predict(X)[task], values)


@pytest.mark.parametrize("architecture", ["mmoe", "cgc", "ple"])
def test_gate_weights_average_over_members(architecture, mixed_data):
    X, Y = mixed_data
    est = tiny(architecture=architecture).fit(X, Y)
    gates = gate_weights(est, X)
    np.testing.assert_allclose(gates.sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.filterwarnings("ignore:.*every label missing:UserWarning")
@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_every_weighting_strategy_trains(weighting, every_type_data):
    X, Y, tasks = every_type_data
    est = tiny(weighting=weighting, tasks=tasks, max_epochs=4, lr=1e-2).fit(X, Y)
    losses = np.array([[est.history_[e, f"train_loss_{t}"] for t in Y] for e in (0, -1)])
    assert np.isfinite(losses).all()
    assert losses[1].sum() < losses[0].sum()


@pytest.mark.parametrize("early_stopping", [True, "per_task"])
def test_early_stopping_on_the_ensemble(early_stopping, mixed_data):
    X, Y = mixed_data
    est = tiny(early_stopping=early_stopping, max_epochs=6, n_iter_no_change=2).fit(X, Y)
    assert set(est.best_epochs_) == set(Y)
    assert all(1 <= epoch <= est.n_epochs_ for epoch in est.best_epochs_.values())
    assert np.isfinite(est.predict(X)["task_0"]).all()


def test_learns_as_well_as_one_network():
    X, Y = make_multitask(1500, 8, 2, ["regression", "binary"], random_state=0)
    params = dict(hidden_layer_sizes=(32,), max_epochs=15, lr=3e-3)
    train, test = np.arange(1000), np.arange(1000, 1500)
    ensemble = tiny(**params).fit(X[train], Y.iloc[train]).score_tasks(X[test], Y.iloc[test])
    single = tiny(ensemble_size=1, **params).fit(X[train], Y.iloc[train])
    single = single.score_tasks(X[test], Y.iloc[test])
    assert ensemble["task_0"] > 0.6 and ensemble["task_1"] > 0.8, ensemble
    assert ensemble["task_0"] > single["task_0"] - 0.05, (ensemble, single)


def test_reproducible(mixed_data):
    X, Y = mixed_data
    first, second = tiny().fit(X, Y), tiny().fit(X, Y)
    np.testing.assert_array_equal(first.predict(X)["task_0"], second.predict(X)["task_0"])
