"""Bagging (``n_bags``): networks from their own seeds and validation rows, averaged."""

import pickle

import numpy as np
import pytest
from sklearn.metrics import r2_score, roc_auc_score

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl._predictor import Predictor
from sklearn_mtl.datasets import make_multitask

TYPES = ["regression", "binary", "multiclass", "count"]


@pytest.fixture(scope="module")
def bagged():
    X, Y = make_multitask(400, 6, 4, TYPES, correlation=0.5, random_state=0)
    params = dict(tasks={"task_3": "count"}, hidden_layer_sizes=(16,), max_epochs=15,
                  random_state=0)
    return MultiTaskEstimator(n_bags=3, **params).fit(X, Y), X, Y, params


def _alone(est, bag):
    """What bag ``bag``'s network predicts on its own."""
    return Predictor(est._predictor.tasks, est._predictor.nets[bag : bag + 1])


def test_bags_predict_the_average_of_their_networks(bagged):
    est, X, _, _ = bagged
    bags = [_alone(est, b) for b in range(3)]
    proba = est.predict_proba(X)
    for task in ("task_1", "task_2"):  # classes: the mean probability
        mean = np.mean([b.probabilities(X)[task] for b in bags], axis=0)
        np.testing.assert_allclose(proba[task], mean, rtol=1e-5, atol=1e-6)
    predicted = est.predict(X)
    for task in ("task_0", "task_3"):  # values and expected counts: their mean
        mean = np.mean([b.predictions(X)[task] for b in bags], axis=0)
        np.testing.assert_allclose(predicted[task], mean, rtol=1e-4, atol=1e-5)
    labels = est.classes_["task_2"][proba["task_2"].argmax(1)]
    assert predicted["task_2"].tolist() == labels.tolist()


def test_each_bag_has_its_own_seed_validation_rows_and_strategy(bagged):
    est, X, Y, params = bagged
    nets = est._predictor.nets
    valid = [tuple(net.train_split.rows(len(X))[1]) for net in nets]
    assert len(set(valid)) == 3
    assert len({id(net.weighting) for net in nets}) == 3
    # The first bag is the fit without bagging; the others differ from it.
    single = MultiTaskEstimator(n_bags=1, **params).fit(X, Y)
    first = _alone(est, 0).probabilities(X)["task_1"]
    np.testing.assert_array_equal(first, single.predict_proba(X)["task_1"])
    assert not np.allclose(_alone(est, 1).probabilities(X)["task_1"], first)
    assert est.net_ is nets[0] and est.n_epochs_ == len(nets[0].history)
    assert est.n_bags_ == 3


def test_bags_survive_pickling(bagged):
    est, X, _, _ = bagged
    loaded = pickle.loads(pickle.dumps(est))
    assert len(loaded._predictor.nets) == 3
    for task, proba in est.predict_proba(X).items():
        np.testing.assert_array_equal(loaded.predict_proba(X)[task], proba)


def test_five_bags_beat_one_network_on_held_out_rows():
    # 300 noisy rows: each bag's validation rows are its own, the average an ensemble.
    X, Y = make_multitask(1300, 8, 2, ["regression", "binary"], noise=1.0, random_state=1)
    train, test = slice(0, 300), slice(300, None)
    Y_train = TargetDict({k: v[train] for k, v in Y.items()})
    params = dict(hidden_layer_sizes=(64, 64), random_state=0)
    scores = {}
    for n_bags in (1, 5):
        est = MultiTaskEstimator(n_bags=n_bags, **params).fit(X[train], Y_train)
        scores[n_bags] = (
            r2_score(Y["task_0"][test], est.predict(X[test])["task_0"]),
            roc_auc_score(Y["task_1"][test], est.predict_proba(X[test])["task_1"][:, 1]),
        )
    assert scores[5][0] > scores[1][0] + 0.01, scores
    assert scores[5][1] > scores[1][1], scores


def test_verbose_1_draws_a_line_per_bag(capfd):
    X = np.random.RandomState(0).normal(size=(60, 3))
    MultiTaskEstimator(
        hidden_layer_sizes=(4,), max_epochs=3, early_stopping=False, n_bags=3, verbose=1,
        random_state=0,
    ).fit(X, {"y": X[:, 0]})
    lines = [line.rsplit("\r", 1)[-1] for line in capfd.readouterr().err.splitlines()]
    assert [line for line in lines if line.startswith("bag ")] == ["bag 2 of 3", "bag 3 of 3"]
    assert sum(line.startswith("y: 100%|") for line in lines) == 3
