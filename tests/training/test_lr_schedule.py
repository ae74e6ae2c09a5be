"""lr_schedule: divided by 10 at the first plateau, or a decay every step to max_epochs."""

import numpy as np
import pytest

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._training._callbacks import _cosine, _linear


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_decays_to_zero_at_the_last_step(mixed_data, schedule, early_stopping):
    X, Y = mixed_data
    est = MultiTaskEstimator(
        hidden_layer_sizes=(8,),
        max_epochs=3,
        batch_size=32,
        lr=0.01,
        lr_schedule=schedule,
        early_stopping=early_stopping,
        n_iter_no_change=10,
        random_state=0,
    ).fit(X, Y)
    assert est.n_epochs_ == 3
    # The steps are counted on the rows trained on (90% with early stopping).
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_constant_keeps_the_learning_rate(mixed_data):
    X, Y = mixed_data
    est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=2, lr=0.01, random_state=0)
    est.fit(X, Y)
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.01


def test_decay_shapes():
    assert [_cosine(t, 4) for t in (0, 2, 4, 8)] == pytest.approx([1.0, 0.5, 0.0, 0.0])
    assert [_linear(t, 4) for t in (0, 1, 4, 8)] == pytest.approx([1.0, 0.75, 0.0, 0.0])


def _divided_epochs(est):
    return [row["epoch"] for row in est.history_ if row.get("lr_divided")]


def test_plateau_divides_once_from_the_best_epoch_then_stops(mixed_data, no_step_floor, capsys):
    X, Y = mixed_data
    est = MultiTaskEstimator(
        hidden_layer_sizes=(32,),
        max_epochs=300,
        batch_size=32,
        lr=0.01,
        n_iter_no_change=3,
        random_state=0,
        verbose=2,
    ).fit(X, Y)
    (divided,) = _divided_epochs(est)
    valid = np.array(est.history_[:, "valid_loss"])
    best_before = int(np.argmin(valid[:divided])) + 1
    assert divided == best_before + 3
    assert f"continuing from epoch {best_before}'s parameters" in capsys.readouterr().out
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.001)
    # Then the first epoch without improvement stops training.
    (best,) = set(est.best_epochs_.values())
    assert est.n_epochs_ == max(best, divided) + 1 < 300
    assert best == int(np.argmin(valid)) + 1


def test_plateau_without_early_stopping_reads_the_training_loss(mixed_data, no_step_floor):
    X, Y = mixed_data
    # tol larger than any decrease: the first epoch sets the best, the next two miss.
    est = MultiTaskEstimator(
        hidden_layer_sizes=(8,),
        max_epochs=8,
        lr=0.01,
        early_stopping=False,
        n_iter_no_change=2,
        tol=100.0,
        random_state=0,
    ).fit(X, Y)
    assert _divided_epochs(est) == [3]
    assert est.n_epochs_ == 8  # it never stops training
    assert est.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.001)


def test_plateau_waits_for_the_step_floor(mixed_data):
    X, Y = mixed_data
    # 300 rows, batch 100: 3 steps an epoch, so no decision before epoch 167.
    est = MultiTaskEstimator(
        hidden_layer_sizes=(8,),
        max_epochs=200,
        batch_size=100,
        lr=0.01,
        early_stopping=False,
        n_iter_no_change=1,
        tol=100.0,
        random_state=0,
    ).fit(X, Y)
    assert _divided_epochs(est) == [167]
