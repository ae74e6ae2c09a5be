"""The static strategy's step on fully labelled batches adds the task losses itself.

It must train exactly as the general step (stacked losses, combined by the strategy),
for every output the criterion sees: one member or several, a multilabel
task's columns, task weights other than 1, task groups and bags.
"""

import numpy as np
import pytest
import torch

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._training._engine import MultiTaskNet
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.weighting import StaticWeighting

INITIALIZE = MultiTaskNet.initialize
SUMMED_STEP = MultiTaskNet._summed_step


def table(n=400, multilabel=False):
    """A regression, a binary and a 3-class task (or a 3-label task) on 6 features."""
    kinds = ["regression", "binary", "multilabel" if multilabel else "multiclass"]
    return make_multitask(n, 6, 3, kinds, random_state=0)


def fitted(X, Y, summed, monkeypatch, **params):
    """The estimator fitted with the summed step allowed (or not), and its number of uses."""
    steps = []

    def initialize(self):
        INITIALIZE(self)
        self.summed_step_ = self.summed_step_ and summed
        return self

    monkeypatch.setattr(MultiTaskNet, "initialize", initialize)
    monkeypatch.setattr(
        MultiTaskNet, "_summed_step", lambda self, X, y: steps.append(1) or SUMMED_STEP(self, X, y)
    )
    est = MultiTaskEstimator(
        **{"hidden_layer_sizes": (16,), "max_epochs": 4, "random_state": 0, **params}
    )
    est.fit(X, Y)
    return est, len(steps)


CASES = {
    "defaults": {},
    "one member, no dropout": {"ensemble_size": 1, "dropout": 0.0, "early_stopping": False},
    "task weights": {"task_weights": {"task_0": 2.0, "task_1": 0.5}},
    "a task of weight 0": {"task_weights": {"task_2": 0.0}},
    "multilabel task": {"multilabel": True},
    "per-task early stopping": {"early_stopping": "per_task"},
    "task grouping": {"task_groups": "auto", "max_epochs": 8},
    "bags": {"n_bags": 2},
}


def assert_same_fit(got, expected, X):
    """The same parameters, losses and predictions, to the bit."""
    want = expected.net_.module_.state_dict()
    for key, value in got.net_.module_.state_dict().items():
        assert torch.equal(value, want[key]), key
    assert len(got.net_.history) == len(expected.net_.history)
    losses = [k for k in expected.net_.history[-1] if "loss" in k or k.startswith("weight_")]
    for key in losses:
        np.testing.assert_array_equal(got.net_.history[:, key], expected.net_.history[:, key])
    for task, predicted in got.predict(X).items():
        np.testing.assert_array_equal(predicted, expected.predict(X)[task])


@pytest.mark.parametrize("case", list(CASES))
def test_summed_step_trains_as_the_general_step(case, monkeypatch):
    params = dict(CASES[case])
    X, Y = table(multilabel=params.pop("multilabel", False))
    general, general_steps = fitted(X, Y, False, monkeypatch, **params)
    summed, summed_steps = fitted(X, Y, True, monkeypatch, **params)
    assert general_steps == 0
    assert summed_steps > 0
    assert_same_fit(summed, general, X)


def test_batches_with_missing_labels_take_the_general_step(monkeypatch):
    X, Y = table()
    Y["task_1"] = Y["task_1"].astype(float)
    Y["task_1"][::3] = np.nan  # every batch has a missing label
    est, steps = fitted(X, Y, True, monkeypatch, max_epochs=2)
    assert steps == 0
    assert est.score(X, Y) > 0


def test_other_strategies_take_the_general_step(monkeypatch):
    class Doubled(StaticWeighting):
        def combine(self, losses, present):
            total, weights = super().combine(losses, present)
            return 2 * total, weights

    X, Y = table()
    for weighting in ("uncertainty", "pcgrad", Doubled()):
        _, steps = fitted(X, Y, True, monkeypatch, max_epochs=2, weighting=weighting)
        assert steps == 0, weighting
