"""lr_schedule: the learning rate decays every step, to 0 after max_epochs."""

import pytest

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._engine import _cosine, _linear


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
