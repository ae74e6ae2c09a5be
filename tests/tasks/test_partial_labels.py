"""Missing labels: a row counts for the tasks it is labelled for, and only those."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

from sklearn_mtl import MultiTaskEstimator, TargetDict, task_scorer
from sklearn_mtl._tasks import encode_targets, read_targets
from sklearn_mtl._training import RandomSplit, make_dataset
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.weighting import WEIGHTINGS


def _hide(Y, task, fraction, rng):
    """A copy of ``Y`` with ``fraction`` of ``task``'s labels set missing."""
    Y = TargetDict({name: np.asarray(column, dtype=object) for name, column in Y.items()})
    hidden = rng.rand(len(Y[task])) < fraction
    Y[task] = Y[task].copy()
    Y[task][hidden] = None if Y[task].dtype == object else np.nan
    return Y, hidden


def _batch(rng, n=48, missing=0.3):
    """Encoded targets with garbage under the mask: regression, binary, 3-class."""
    X = torch.from_numpy(rng.normal(size=(n, 6)).astype(np.float32))
    y = np.stack([rng.normal(size=n), rng.randint(0, 2, n), rng.randint(0, 3, n)], axis=1).astype(
        np.float32
    )
    mask = rng.rand(n, 3) > missing
    y[~mask[:, 0], 0] = 1e3  # a huge regression target that must not leak in
    w = mask * rng.uniform(0.5, 2.0, size=(n, 1))
    return X, torch.from_numpy(y), torch.from_numpy(w.astype(np.float32)), mask


def _losses_and_grads(net, X, y, w, task):
    module = net.module_
    module.zero_grad()
    losses, weight_sums = net.criterion_(module(X), y, w)
    losses[task].backward()
    grads = [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in module.parameters()]
    return losses.detach(), weight_sums, grads


@pytest.fixture
def fitted(mixed_data, fast):
    X, Y = mixed_data
    return MultiTaskEstimator(**fast).fit(X, Y)


def test_masked_rows_give_the_loss_and_gradients_of_the_labelled_subset(fitted, rng):
    net = fitted.net_
    net.module_.eval()
    X, y, w, mask = _batch(rng)
    for j in range(3):
        full, _, full_grads = _losses_and_grads(net, X, y, w, j)
        rows = torch.from_numpy(mask[:, j])
        sub, _, sub_grads = _losses_and_grads(net, X[rows], y[rows], w[rows], j)
        assert torch.isclose(full[j], sub[j], rtol=1e-5)
        # The subset keeps rows that miss other tasks' labels: they still count here.
        assert (~mask[mask[:, j]]).any()
        for g_full, g_sub in zip(full_grads, sub_grads):
            torch.testing.assert_close(g_full, g_sub, rtol=1e-4, atol=1e-6)
        assert any(g.abs().sum() > 0 for g in full_grads)


def test_an_unlabelled_row_whose_loss_overflows_changes_nothing(fitted, rng):
    # The masked loss multiplied per-row losses by row weights: 0 x inf made every loss NaN.
    net = fitted.net_
    X, y, w, mask = _batch(rng)
    clean = {name: out.detach() for name, out in net.module_(X).items()}
    losses, _ = net.criterion_(clean, y, w)
    rows = np.flatnonzero(~mask[:, 0])[:2]
    regression = net.task_names[0]
    for value in (1e30, np.inf):  # (1e30 - y)^2 overflows float32; inf has an inf derivative
        outputs = {name: out.clone() for name, out in clean.items()}
        outputs[regression][rows] = value
        outputs = {name: out.requires_grad_() for name, out in outputs.items()}
        overflowed, _ = net.criterion_(outputs, y, w)
        torch.testing.assert_close(overflowed, losses)
        overflowed.sum().backward()
        for out in outputs.values():
            assert torch.isfinite(out.grad).all()


def test_per_task_loss_is_the_weighted_mean_over_labelled_rows(fitted, rng):
    net = fitted.net_
    X, y, w, mask = _batch(rng)
    with torch.no_grad():
        outputs = net.module_(X)
        losses, weight_sums = net.criterion_(outputs, y, w)
    rows = torch.from_numpy(mask[:, 0])
    residual = outputs[fitted.net_.task_names[0]].squeeze(-1)[rows] - y[rows, 0]
    expected = (w[rows, 0] * residual**2).sum() / w[rows, 0].sum()
    assert torch.isclose(losses[0], expected, rtol=1e-5)
    torch.testing.assert_close(weight_sums, w.sum(dim=0))


@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
def test_a_batch_without_labels_for_one_task_trains_the_others(mixed_data, fast, rng, weighting):
    X, Y = mixed_data
    est = MultiTaskEstimator(**{**fast, "max_epochs": 1}, weighting=weighting).fit(X, Y)
    net = est.net_
    Xb, y, w, _ = _batch(rng, missing=0.0)
    w[:, 1] = 0  # no labelled row of the binary task
    net.module_.zero_grad()
    step = net.train_step_single((Xb, y, w))
    assert torch.isfinite((step["weights"] * step["task_losses"]).sum())  # the step's loss
    assert torch.isfinite(step["task_losses"]).all()
    assert step["task_losses"][1] == 0 and step["weight_sums"][1] == 0
    heads = net.module_.heads
    for head, trained in zip(heads, [True, False, True]):
        grads = [p.grad for p in head.parameters() if p.grad is not None]
        assert all(torch.isfinite(g).all() for g in grads)
        norm = sum(float(g.abs().sum()) for g in grads)
        assert (norm > 0) == trained, (weighting, trained, norm)
    shared = [p.grad for p in net.module_.body.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in shared)


def test_fit_with_most_batches_lacking_a_task(rng):
    X, Y = make_multitask(600, 6, 2, ["regression", "binary"], correlation=0.9, random_state=0)
    Y = TargetDict({"r": Y["task_0"], "b": Y["task_1"].astype(float)})
    Y["b"][10:] = np.nan  # one batch of 16 in 38 holds the binary labels
    est = MultiTaskEstimator(hidden_layer_sizes=(32,), max_epochs=15, batch_size=16, lr=3e-3)
    est.set_params(random_state=0).fit(X, Y)
    for name in ("train_loss", "train_loss_r", "train_loss_b"):
        assert np.isfinite(est.history_[:, name]).all(), name
    X_test, Y_test = make_multitask(
        400, 6, 2, ["regression", "binary"], correlation=0.9, random_state=0
    )
    assert r2_score(Y_test["task_0"], est.predict(X_test)["r"]) > 0.5


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_a_task_labelled_on_one_percent_of_rows_beats_the_baseline(kind):
    X_all, Y_all = make_multitask(
        5000, 8, 2, ["regression", kind], correlation=0.9, noise=0.1, random_state=1
    )
    X, X_test = X_all[:4000], X_all[4000:]
    aux, target = Y_all["task_0"], Y_all["task_1"].astype(float)
    labelled = np.random.RandomState(0).rand(4000) < 0.01
    Y = TargetDict({"aux": aux[:4000], "rare": np.where(labelled, target[:4000], np.nan)})
    est = MultiTaskEstimator(
        {"rare": kind}, hidden_layer_sizes=(32,), max_epochs=12, batch_size=128, random_state=0
    ).fit(X, Y)
    assert 20 <= labelled.sum() <= 60
    predicted = est.predict(X_test)["rare"]
    truth = target[4000:]
    if kind == "binary":
        majority = max(truth.mean(), 1 - truth.mean())
        assert accuracy_score(truth, predicted) > majority + 0.15
    else:
        # R^2 of predicting the mean of the labelled rows is <= 0.
        assert r2_score(truth, predicted) > 0.3


def test_scores_skip_missing_labels(fitted, mixed_data, rng):
    X, Y = mixed_data
    Y_missing, hidden = _hide(Y, "task_1", 0.4, rng)
    keep = ~hidden
    pred = fitted.predict(X)
    scores = fitted.score_tasks(X, Y_missing)
    assert scores["task_1"] == pytest.approx(
        accuracy_score(Y["task_1"][keep], pred["task_1"][keep])
    )
    assert scores["task_0"] == pytest.approx(r2_score(Y["task_0"], pred["task_0"]))
    assert fitted.score(X, Y_missing) == pytest.approx(np.mean(list(scores.values())))
    auc = task_scorer("task_1", "roc_auc")(fitted, X, Y_missing)
    proba = fitted.predict_proba(X)["task_1"][:, 1]
    assert auc == pytest.approx(roc_auc_score(Y["task_1"][keep], proba[keep]))
    weights = rng.uniform(0.5, 2, len(X))
    weighted = fitted.score_tasks(X, Y_missing, sample_weight=weights)["task_1"]
    assert weighted == pytest.approx(
        accuracy_score(Y["task_1"][keep], pred["task_1"][keep], sample_weight=weights[keep])
    )


def test_pandas_na_and_masked_entries_are_missing_labels(mixed_data, fast):
    X, Y = mixed_data
    hidden = np.arange(len(X)) % 3 == 0
    frame = pd.DataFrame({"r": Y["task_0"], "b": pd.array(Y["task_1"], dtype="Int64")})
    frame.loc[hidden, "b"] = pd.NA
    masked = {
        "r": Y["task_0"],
        "b": np.ma.masked_array(Y["task_1"], mask=hidden),
    }
    subset = {"r": Y["task_0"], "b": np.where(hidden, np.nan, Y["task_1"])}
    fits = [MultiTaskEstimator(**fast).fit(X, targets) for targets in (frame, masked, subset)]
    reference = fits[2].history_[-1, "train_loss_b"]
    for est in fits[:2]:
        assert est.history_[-1, "train_loss_b"] == pytest.approx(reference, rel=1e-5)


def test_validation_split_is_random_and_keeps_partially_labelled_rows(rng):
    n = 1000
    mask = rng.rand(n, 2) > 0.5
    data = make_dataset(
        rng.normal(size=(n, 3)).astype(np.float32),
        np.zeros((n, 2), np.float32),
        mask.astype(np.float32),
        "cpu",
    )
    train, valid = RandomSplit(0.2, seed=0)(data)
    assert len(train) + len(valid) == n and len(valid) == 200
    for part in (train, valid):
        labelled = part.w > 0
        # Rows labelled for one task only stay, on both sides of the split.
        assert (labelled[:, 0] & ~labelled[:, 1]).any()
        assert (~labelled[:, 0] & labelled[:, 1]).any()
        assert (~labelled.any(dim=1)).any()
    assert torch.equal(torch.cat([train.X, valid.X]).sort(dim=0).values, data.X.sort(dim=0).values)


def test_early_stopping_validation_loss_skips_missing_labels(mixed_data, rng):
    X, Y = mixed_data
    Y_missing, _ = _hide(Y, "task_1", 0.5, rng)
    Y_missing["task_1"] = Y_missing["task_1"].astype(float)
    est = MultiTaskEstimator(
        hidden_layer_sizes=(16,),
        max_epochs=6,
        early_stopping=True,
        n_iter_no_change=2,
        validation_fraction=0.3,
        random_state=0,
    ).fit(X, Y_missing)
    net = est.net_
    history = est.history_
    best = int(np.argmin(history[:, "valid_loss"]))
    valid_losses = history[best, "valid_loss_task_1"], history[best, "valid_loss"]
    assert np.isfinite(valid_losses).all()
    # Recompute from the same split with the restored best weights: the
    # validation loss of task_1 is its mean over its labelled validation rows.
    targets = read_targets(Y_missing)
    y, mask = encode_targets(targets, est._predictor.tasks)
    data = make_dataset(X.astype(np.float32), y, mask.astype(np.float32), "cpu")
    _, valid = RandomSplit(0.3, net.seed)(data)
    rows = valid.w[:, 1] > 0
    assert 0 < rows.sum() < len(valid)
    with torch.no_grad():
        net.module_.eval()
        losses, _ = net.criterion_(net.module_(valid.X[rows]), valid.y[rows], valid.w[rows])
    assert float(losses[1]) == pytest.approx(valid_losses[0], rel=1e-4)


def test_a_task_without_labels_at_score_time_is_an_error(fitted, mixed_data):
    X, Y = mixed_data
    Y = TargetDict(Y)
    Y["task_1"] = np.full(len(X), None, dtype=object)
    with pytest.raises(ValueError, match="Task 'task_1' has no labelled row"):
        fitted.score_tasks(X, Y)
    with pytest.raises(ValueError, match="Task 'task_1' has no labelled row"):
        task_scorer("task_1", "accuracy")(fitted, X, Y)
