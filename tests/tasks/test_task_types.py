"""Count, ordinal and multilabel tasks: known answers on generated data, and bad targets."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import average_precision_score as aps
from sklearn.metrics import d2_tweedie_score, hamming_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate

from sklearn_mtl import MultiTaskEstimator, TargetDict, for_task, task_scorer
from sklearn_mtl._nn import MultiTaskLoss, OrdinalOutput
from sklearn_mtl._tasks import TASK_TYPES
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.inspection import compare_single_task
from sklearn_mtl.model_selection import cross_val_predict


def tiny(**params):
    # One network: a task type's head and loss (bagging: tests/training/test_bags.py).
    base = dict(hidden_layer_sizes=(16,), max_epochs=3, batch_size=64, n_bags=1, random_state=0)
    return MultiTaskEstimator(**{**base, **params})


# ----------------------------------------------------------------------------- count


def poisson_problem(seed, n=3000):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 4))
    rate = np.exp(0.3 + 0.6 * X[:, 0] - 0.4 * X[:, 1])
    return X, rate, rng.poisson(rate)


def test_poisson_rates_are_recovered():
    X, rate, counts = poisson_problem(0)
    train, test = slice(0, 2000), slice(2000, None)
    # A smooth log-linear rate: no numeric embedding (with the periodic one that
    # "auto" picks from 1,000 rows, the mean rate of this tiny network came out
    # 11% high; see the numeric embeddings guide).
    est = tiny(tasks={"claims": "count"}, max_epochs=40, lr=3e-3, numeric_embedding=None)
    est.fit(X[train], {"claims": counts[train]})
    predicted = est.predict(X[test])["claims"]
    assert (predicted > 0).all() and predicted.dtype == np.float64
    # The mean predicted rate is within 10% of the true mean rate ...
    assert abs(predicted.mean() / rate[test].mean() - 1) < 0.1
    # ... and each row's rate is close: most of the explainable deviance is explained.
    d2 = est.score(X[test], {"claims": counts[test]})
    oracle = d2_tweedie_score(counts[test], rate[test], power=1)
    assert d2 > 0.8 * oracle and oracle > 0.3, (d2, oracle)
    assert np.corrcoef(np.log(predicted), np.log(rate[test]))[0, 1] > 0.95


@pytest.mark.parametrize("loss, power", [("tweedie", 1.5), (("tweedie", 1.2), 1.2), ("gamma", 2)])
def test_tweedie_and_gamma_losses(loss, power):
    X, rate, counts = poisson_problem(1, n=1200)
    counts = counts + (1 if loss == "gamma" else 0)  # gamma needs positive counts
    est = tiny(tasks={"c": "count"}, losses={"c": loss}, max_epochs=30, lr=3e-3)
    est.fit(X[:800], {"c": counts[:800]})
    predicted = est.predict(X[800:])["c"]
    assert (predicted > 0).all()
    # The default score is D^2 with the loss's own power.
    expected = d2_tweedie_score(counts[800:], predicted, power=power)
    assert est.score(X[800:], {"c": counts[800:]}) == pytest.approx(expected)
    assert expected > 0.15
    assert est._predictor.tasks["c"].power == power


def test_counts_are_scaled_by_their_mean_not_centred():
    X, _, counts = poisson_problem(2, n=300)
    big = counts * 1000  # thousands: the loss must not scale with the units
    est = tiny(tasks={"c": "count"}, max_epochs=2).fit(X, {"c": big})
    assert est._predictor.tasks["c"].scale_ == pytest.approx(big.mean())
    assert est._predictor.tasks["c"].mean_ == 0.0
    assert est.history_[0, "train_loss_c"] < 5
    # An untrained count head predicts about the mean count (output ~ 0, rate ~ 1 x mean).
    untrained = tiny(tasks={"c": "count"}, max_epochs=1, lr=1e-9).fit(X, {"c": big})
    typical = np.exp(np.log(untrained.predict(X)["c"]).mean())
    assert 0.5 < typical / big.mean() < 2
    raw = tiny(tasks={"c": "count"}, standardize_targets=False, max_epochs=1).fit(X, {"c": counts})
    assert raw._predictor.tasks["c"].scale_ == 1.0


def test_constant_counts_score_like_r2_on_a_constant_target():
    # Issue 26: all-zero counts (a fold of a grid search) raised ZeroDivisionError in
    # d2_tweedie_score; r2_score's force_finite gives 0.0, or 1.0 when exact.
    X, _, counts = poisson_problem(3, n=300)
    est = tiny(tasks={"c": "count"}, max_epochs=2).fit(X, {"c": counts})
    zeros = {"c": np.zeros(300)}
    assert est.score(X, zeros) == 0.0
    assert task_scorer("c")(est, X, zeros) == 0.0
    search = GridSearchCV(tiny(tasks={"c": "count"}, max_epochs=1), {"lr": [1e-3]}, cv=KFold(2))
    scores = search.fit(X, TargetDict(c=np.r_[counts[:150], np.zeros(150)])).cv_results_
    assert scores["split1_test_score"][0] == 0.0 and np.isfinite(scores["split0_test_score"][0])
    task = est._predictor.tasks["c"]
    assert task.score(np.full(3, 2.0), np.full(3, 2.0)) == 1.0
    assert task.score([2.0, 2.0, 5.0], [2.0, 2.0, 1.0], sample_weight=[1, 1, 0]) == 1.0
    with pytest.warns(UndefinedMetricWarning, match="less than two samples"):
        assert np.isnan(task.score([0.0], [0.5]))  # one row: scikit-learn's answer


def test_count_loss_is_the_half_poisson_deviance():
    task = TASK_TYPES["count"]("c")
    y = torch.tensor([0.0, 1.0, 4.0])
    log_mean = torch.tensor([[0.5], [0.0], [1.0]])
    mu = log_mean[:, 0].exp()
    expected = torch.xlogy(y, y / mu) - y + mu
    torch.testing.assert_close(task.loss(log_mean, y), expected)
    assert float(task.loss(torch.log(y.clamp_min(1e-9))[:, None], y).abs().max()) < 1e-6


def test_counts_over_an_exposure_fit_rates_weighted_by_it():
    # Claims over policy years from 0.05 to 2: the rate (count / exposure) with
    # the exposure as that task's weight is the Poisson fit of the counts with
    # log(exposure) as offset (e * d(y / e, mu) = d(y, e * mu)); the other task
    # keeps weight 1. Ignoring the exposure explains far less of the counts.
    rng = np.random.RandomState(0)
    n = 1500
    X = rng.normal(size=(n, 3))
    exposure = rng.uniform(0.05, 2.0, n)
    rate = np.exp(0.6 * X[:, 0] - 0.4 * X[:, 1])
    claims = rng.poisson(rate * exposure)
    other = X[:, 2] + rng.normal(0, 0.3, n)
    train, test = slice(0, 1000), slice(1000, None)
    params = dict(tasks={"claims": "count"}, hidden_layer_sizes=(16,), max_epochs=25,
                  random_state=0)
    rates = MultiTaskEstimator(**params).fit(
        X[train], {"claims": claims[train] / exposure[train], "other": other[train]},
        sample_weight={"claims": exposure[train]},
    )
    naive = MultiTaskEstimator(**params).fit(
        X[train], {"claims": claims[train], "other": other[train]}
    )
    expected = rates.predict(X[test])["claims"] * exposure[test]
    d2 = d2_tweedie_score(claims[test], expected, power=1)
    oracle = d2_tweedie_score(claims[test], rate[test] * exposure[test], power=1)
    ignored = d2_tweedie_score(claims[test], naive.predict(X[test])["claims"], power=1)
    assert d2 > oracle - 0.08 and d2 > ignored + 0.1
    assert 0.85 < expected.sum() / claims[test].sum() < 1.15


# --------------------------------------------------------------------------- ordinal


def ordered_problem(seed, n_train=300, n_test=2000, n_classes=6):
    rng = np.random.RandomState(seed)
    n = n_train + n_test
    X = rng.normal(size=(n, 8))
    latent = X @ rng.normal(size=8) / 2 + 0.3 * rng.logistic(size=n)
    codes = np.searchsorted(np.quantile(latent, np.linspace(0, 1, n_classes + 1)[1:-1]), latent)
    return X, codes, slice(0, n_train), slice(n_train, None)


@pytest.mark.slow
def test_ordinal_is_at_least_as_accurate_as_multiclass_on_ordered_data():
    scores = {"ordinal": [], "multiclass": []}
    for seed in range(3):
        X, y, train, test = ordered_problem(seed)
        for kind in scores:
            est = tiny(tasks={"g": kind}, max_epochs=100, lr=3e-3, batch_size=32)
            est.fit(X[train], {"g": y[train]})
            scores[kind].append(est.score(X[test], {"g": y[test]}))
    assert np.mean(scores["ordinal"]) >= np.mean(scores["multiclass"]), scores
    assert min(scores["ordinal"]) > 2 / 6  # six balanced classes: chance is 1/6


def test_ordinal_learns_and_predicts_labels_in_their_order():
    X, codes, train, test = ordered_problem(0, n_train=600, n_test=600, n_classes=3)
    order = ["low", "mid", "high"]  # not alphabetical
    y = np.array(order)[codes]
    est = tiny(tasks={"grade": order}, max_epochs=40, lr=3e-3)
    est.fit(X[train], {"grade": y[train]})
    assert est.tasks_ == {"grade": "ordinal"}
    assert est.classes_["grade"].tolist() == order
    assert est.score(X[test], {"grade": y[test]}) > 0.6  # chance: 1/3
    proba = est.predict_proba(X[test])["grade"]
    assert proba.shape == (600, 3) and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # Rank consistency: P(y > k) falls with k, for every row.
    above = 1 - np.cumsum(proba, axis=1)[:, :-1]
    assert (np.diff(above, axis=1) <= 1e-12).all()
    # The prediction is the median class: the number of P(y > k) above 1/2.
    median = np.array(order)[(above > 0.5).sum(axis=1)]
    np.testing.assert_array_equal(est.predict(X[test])["grade"], median)


def test_ordered_categorical_is_inferred_with_its_categories_as_order():
    X, Y = make_multitask(300, 6, 2, ["ordinal", "regression"], n_classes=4, random_state=0)
    grades = Y["task_0"].cat.rename_categories(["D", "C", "B", "A"])
    frame = pd.DataFrame({"grade": grades, "size": Y["task_1"]})
    est = tiny().fit(X, frame)
    assert est.tasks_["grade"] == "ordinal"
    assert est.classes_["grade"].tolist() == ["D", "C", "B", "A"]
    pred = est.predict(X)
    assert isinstance(pred, pd.DataFrame) and set(pred["grade"]) <= {"D", "C", "B", "A"}
    # Declared "ordinal" without an order sorts the labels; "multiclass" overrides.
    sorted_order = tiny(tasks={"grade": "ordinal"}).fit(X, frame.astype({"grade": str}))
    assert sorted_order.classes_["grade"].tolist() == ["A", "B", "C", "D"]
    assert tiny(tasks={"grade": "multiclass"}).fit(X, frame).tasks_["grade"] == "multiclass"


def test_ordinal_output_keeps_thresholds_ordered_whatever_its_parameters():
    torch.manual_seed(0)
    layer = OrdinalOutput(4, 5)
    for _ in range(20):
        with torch.no_grad():
            for parameter in layer.parameters():
                parameter.normal_(0, 10)
        biases = layer.biases()
        # Strictly decreasing in exact arithmetic; a gap below float precision rounds to 0.
        assert (biases[1:] <= biases[:-1]).all()
        logits = layer(torch.randn(20, 4))
        assert (logits[:, 1:] <= logits[:, :-1]).all()


def test_ordinal_with_an_unused_declared_level_and_two_levels():
    X, codes, train, _ = ordered_problem(1, n_train=200, n_test=0, n_classes=3)
    est = tiny(tasks={"g": [0, 1, 2, 3]}).fit(X[train], {"g": codes[train]})
    assert est.predict_proba(X[:5])["g"].shape == (5, 4)
    two = tiny(tasks={"g": [0, 1]}).fit(X[train], {"g": (codes[train] > 0).astype(int)})
    np.testing.assert_allclose(two.predict_proba(X[:5])["g"].sum(axis=1), 1.0)


# ------------------------------------------------------------------------ multilabel


def multilabel_problem(seed, n=1500):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 6))
    logits = X @ rng.normal(size=(6, 4)) * 1.5 + np.array([0.0, -1.0, 1.0, -2.0])
    labels = (rng.uniform(size=logits.shape) < 1 / (1 + np.exp(-logits))).astype(int)
    return X, labels


def test_multilabel_beats_the_majority_rate_on_every_label():
    X, labels = multilabel_problem(0)
    train, test = slice(0, 1000), slice(1000, None)
    y = {"tags": labels[train], "size": X[train, 0] + X[train, 1]}
    est = tiny(max_epochs=40, lr=3e-3).fit(X[train], y)
    assert est.tasks_["tags"] == "multilabel"
    pred = est.predict(X[test])["tags"]
    assert pred.shape == (500, 4) and pred.dtype == np.int64 and set(np.unique(pred)) <= {0, 1}
    accuracy = (pred == labels[test]).mean(axis=0)
    majority = np.maximum(labels[test].mean(axis=0), 1 - labels[test].mean(axis=0))
    assert (accuracy > majority + 0.05).all(), (accuracy, majority)
    # The default score is the mean per-label accuracy, 1 - Hamming loss here.
    score = est.score_tasks(X[test], {"tags": labels[test]})["tags"]
    assert score == pytest.approx(1 - hamming_loss(labels[test], pred))
    proba = est.predict_proba(X[test])["tags"]
    assert proba.shape == (500, 4) and ((proba > 0.5) == pred).all()


def test_a_missing_cell_masks_that_label_of_that_row_only():
    X, labels = multilabel_problem(1, n=600)
    tags = labels.astype(float)
    tags[:300, 0] = np.nan  # label 0 unknown on half the rows, the others known
    est = tiny(max_epochs=1).fit(X, {"tags": tags})
    # The loss averages the labelled cells: recompute it from the encoded matrix.
    task = est._predictor.tasks["tags"]
    outputs = {"tags": torch.zeros(600, 4)}
    y = torch.tensor(np.nan_to_num(tags), dtype=torch.float32)
    w = torch.tensor(~np.isnan(tags), dtype=torch.float32)
    loss, weight_sum = MultiTaskLoss(["tags"], [task], [slice(0, 4)])(outputs, y, w)
    assert float(weight_sum) == 600 * 4 - 300
    assert float(loss) == pytest.approx(np.log(2), rel=1e-6)
    # Scoring skips the missing cells, per label.
    scores = est.score_tasks(X, {"tags": tags})["tags"]
    pred = est.predict(X)["tags"]
    per_label = [(pred[300:, 0] == labels[300:, 0]).mean()] + [
        (pred[:, j] == labels[:, j]).mean() for j in (1, 2, 3)
    ]
    assert scores == pytest.approx(np.mean(per_label))


def test_multilabel_from_a_dataframe_with_missing_values():
    X, labels = multilabel_problem(2, n=400)
    frame = pd.DataFrame(labels, columns=["red", "green", "blue", "big"]).astype("boolean")
    frame.iloc[:50, 2] = pd.NA
    Y = TargetDict(tags=frame, size=X[:, 0])
    est = tiny().fit(X, Y)
    assert est.classes_["tags"].tolist() == ["red", "green", "blue", "big"]
    pred = est.predict(X[:7])
    assert isinstance(pred, TargetDict) and pred["tags"].shape == (7, 4)
    assert pred["size"].shape == (7,)
    # TargetDict slices 2-D values by row, so CV and searches work on them.
    part = Y.iloc[[0, 5, 9]]
    assert part["tags"].shape == (3, 4) and np.asarray(part).shape == (3, 5)
    scores = cross_validate(tiny(), X, Y, cv=KFold(2), scoring=task_scorer("tags"))
    assert np.isfinite(scores["test_score"]).all()


def test_multilabel_with_scikit_learn_scorers_takes_complete_rows():
    X, labels = multilabel_problem(3, n=400)
    tags = labels.astype(float)
    tags[:40, 1] = np.nan
    est = tiny(max_epochs=5).fit(X, {"tags": tags})
    complete = slice(40, None)
    pred = est.predict(X[complete])["tags"]
    for scoring in ("f1_micro", "jaccard_micro"):
        expected = task_scorer("tags", scoring)(est, X[complete], {"tags": labels[complete]})
        assert task_scorer("tags", scoring)(est, X, {"tags": tags}) == pytest.approx(expected)
    from sklearn.metrics import f1_score

    value = task_scorer("tags", "f1_micro")(est, X, {"tags": tags})
    assert value == pytest.approx(f1_score(labels[complete], pred, average="micro"))
    auc = task_scorer("tags", "roc_auc")(est, X, {"tags": tags})
    assert 0.5 < auc <= 1


def test_inferred_one_hot_matrix_warns():
    X = np.random.RandomState(0).normal(size=(60, 3))
    one_hot = np.eye(3, dtype=int)[np.arange(60) % 3]
    with pytest.warns(UserWarning, match="looks one-hot encoded.*argmax"):
        tiny(max_epochs=1).fit(X, {"kind": one_hot})


def test_class_weight_balances_each_label():
    X, labels = multilabel_problem(4, n=400)
    est = tiny(class_weight="balanced", max_epochs=1).fit(X, {"tags": labels, "g": labels[:, 0]})
    from sklearn_mtl._tasks import class_row_weights, fit_targets, read_targets

    encoded = fit_targets(read_targets({"tags": labels}), None, None, True)
    weights = class_row_weights("balanced", encoded)
    for j in range(4):
        positives = labels[:, j] == 1
        np.testing.assert_allclose(weights[positives, j], 400 / (2 * positives.sum()))
        np.testing.assert_allclose(weights[~positives, j], 400 / (2 * (~positives).sum()))
    assert np.isfinite(est.history_[:, "train_loss_tags"]).all()
    with pytest.raises(ValueError, match="'tags' is multilabel; use 'balanced'"):
        tiny(class_weight={"tags": {1: 2.0}}).fit(X, {"tags": labels})


# --------------------------------------------------------------- every type together


@pytest.fixture
def every_type():
    X, Y = make_multitask(
        400,
        8,
        6,
        ["regression", "binary", "multiclass", "count", "ordinal", "multilabel"],
        correlation=0.8,
        random_state=0,
    )
    return X, Y


def test_every_type_survives_pickle_clone_and_grid_search(every_type):
    X, Y = every_type
    est = tiny(tasks={"task_3": "count"}).fit(X, Y)
    assert list(est.tasks_.values()) == [
        "regression",
        "binary",
        "multiclass",
        "count",
        "ordinal",
        "multilabel",
    ]
    restored = pickle.loads(pickle.dumps(est))
    for task, values in est.predict(X).items():
        np.testing.assert_array_equal(restored.predict(X)[task], values)
    for task, proba in est.predict_proba(X).items():
        np.testing.assert_array_equal(restored.predict_proba(X)[task], proba)
    assert set(est.predict_proba(X)) == {"task_1", "task_2", "task_4", "task_5"}
    again = clone(est).fit(X, Y)
    np.testing.assert_array_equal(again.predict(X)["task_3"], est.predict(X)["task_3"])
    search = GridSearchCV(est, {"lr": [1e-3, 3e-3]}, cv=KFold(2), error_score="raise").fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert set(est.score_tasks(X, Y)) == set(Y)


def test_compare_single_task_covers_the_new_types(every_type):
    X, Y = every_type
    Y = TargetDict({name: Y[name] for name in ("task_3", "task_4", "task_5")})
    table = compare_single_task(
        tiny(tasks={"task_3": "count"}, losses={"task_3": "tweedie"}), X, Y, cv=KFold(2)
    )
    assert table["metric"].tolist() == ["d2_tweedie", "accuracy", "per-label accuracy"]
    assert np.isfinite(table[["multi_task", "single_task"]].to_numpy()).all()


def test_missing_labels_of_every_type(every_type):
    X, Y = every_type
    rng = np.random.RandomState(0)
    Y = TargetDict(Y)
    Y["task_3"] = np.where(rng.rand(400) < 0.3, np.nan, Y["task_3"])
    ordinal = Y["task_4"].copy()
    ordinal[rng.rand(400) < 0.3] = np.nan
    Y["task_4"] = ordinal
    tags = Y["task_5"].astype(float)
    tags[rng.rand(*tags.shape) < 0.3] = np.nan
    Y["task_5"] = tags
    est = tiny(tasks={"task_3": "count"}, max_epochs=3).fit(X, Y)
    for task in Y:
        assert np.isfinite(est.history_[:, f"train_loss_{task}"]).all()
    assert all(np.isfinite(v) for v in est.score_tasks(X, Y).values())


# -------------------------------------------------------------------------- bad targets

N = 40


def _fit(tasks=None, losses=None, **targets):
    X = np.random.RandomState(0).normal(size=(N, 3))
    return tiny(tasks=tasks, losses=losses, max_epochs=1).fit(X, targets)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(tasks={"c": "count"}, c=np.arange(N) - 3.0),
            r"Task 'c' is a count task but has negative counts \(e.g. \[-3.0, -2.0, -1.0\]\)",
        ),
        (
            dict(tasks={"c": "count"}, c=np.r_[np.inf, np.ones(N - 1)]),
            "Task 'c' has infinite count targets",
        ),
        (
            dict(tasks={"c": "count"}, c=np.array(["a", "b"] * (N // 2))),
            "Task 'c' is a count task but its labels are not numeric",
        ),
        (
            dict(tasks={"c": "count"}, losses={"c": "gamma"}, c=np.arange(N)),
            r"Task 'c' has zero counts, which the 'gamma' loss cannot fit",
        ),
        (
            dict(tasks={"c": "count"}, losses={"c": ("tweedie", 3)}, c=np.arange(N)),
            r"the loss \('tweedie', 3\), which a count task does not take.*\('tweedie', 1.5\)",
        ),
        (
            dict(tasks={"g": ["lo", "hi"]}, g=np.array(["lo", "hi", "mid", "lo"] * (N // 4))),
            r"Task 'g' has labels \['mid'\] that are not in its declared order "
            r"\['lo', 'hi'\]; add them to the order in tasks=",
        ),
        (
            dict(tasks={"g": ["lo", "hi", "lo"]}, g=np.array(["lo", "hi"] * (N // 2))),
            "The order of ordinal task 'g' repeats a label",
        ),
        (
            dict(tasks={"g": ["lo"]}, g=np.array(["lo"] * N)),
            r"tasks= gives task 'g' the type \['lo'\].*a list of two or more labels",
        ),
        (
            dict(tags=np.array([[0, 1], [2, 0]] * (N // 2))),
            r"Task 'tags' has a target of shape \(40, 2\) that is not a 0/1 matrix",
        ),
        (
            dict(tasks={"tags": "multilabel"}, tags=np.array([[0, 1], [2, 0]] * (N // 2))),
            "Task 'tags' is a multilabel task, whose target is a 0/1 matrix",
        ),
        (
            dict(tasks={"tags": "multilabel"}, tags=np.arange(N) % 2),
            "Task 'tags' is declared 'multilabel' but its target is 1-D",
        ),
        (
            dict(tasks={"tags": "binary"}, tags=np.eye(2)[np.arange(N) % 2]),
            r"shape \(40, 2\) but is declared 'binary'.*argmax.*'multilabel'",
        ),
        (
            dict(tags=np.c_[np.full(N, np.nan), np.arange(N) % 2]),
            r"Task 'tags' has labels \(columns\) \[0\] without a labelled row",
        ),
        (
            dict(tags=np.zeros((N, 2, 2))),
            r"Task 'tags' has a target of shape \(40, 2, 2\)",
        ),
    ],
    ids=[
        "count-negative",
        "count-inf",
        "count-strings",
        "gamma-zero",
        "tweedie-bad-power",
        "ordinal-unknown-level",
        "ordinal-repeated-level",
        "ordinal-one-level",
        "multilabel-not-0-1",
        "declared-multilabel-not-0-1",
        "multilabel-1d",
        "binary-2d",
        "multilabel-empty-label",
        "3d",
    ],
)
def test_bad_targets_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _fit(**kwargs)


def test_bad_targets_at_score_time():
    X = np.random.RandomState(0).normal(size=(N, 3))
    tags = np.eye(3, dtype=int)[np.arange(N) % 3]
    tags[0] = 1
    est = tiny(tasks={"c": "count"}, max_epochs=1).fit(
        X,
        {"c": np.arange(N) % 4, "tags": tags, "g": pd.Categorical(np.arange(N) % 3, ordered=True)},
    )
    with pytest.raises(ValueError, match="negative counts"):
        est.score_tasks(X, {"c": -np.ones(N)})
    with pytest.raises(ValueError, match=r"'tags' has 2 labels \(columns\) here but 3 in fit"):
        est.score_tasks(X, {"tags": tags[:, :2]})
    with pytest.raises(ValueError, match=r"Task 'g' has labels \[7\] that were not seen"):
        est.score_tasks(X, {"g": np.r_[7, np.arange(N - 1) % 3]})


def test_int_cv_over_one_multilabel_or_ordinal_task():
    # An int cv stratifies a single classification task; a multilabel one has
    # no single class per row, so its folds are plain KFold.
    X, labels = multilabel_problem(5, n=200)
    table = compare_single_task(tiny(max_epochs=1), X, {"tags": labels}, cv=2)
    assert table.loc["tags", "metric"] == "per-label accuracy"
    grades = pd.Series(pd.Categorical(labels[:, 0] + labels[:, 1], ordered=True))
    table = compare_single_task(tiny(max_epochs=1), X, {"g": grades}, cv=2)
    assert np.isfinite(table.loc["g", "multi_task"])


@pytest.mark.parametrize("n_labels", [1, 2])
def test_few_labels_and_probability_scorers(n_labels):
    # One label keeps a 2-D target; two labels must not pass for a binary task.
    X, labels = multilabel_problem(6, n=300)
    tags = labels[:, :n_labels]
    est = tiny(max_epochs=20, lr=3e-3).fit(X, {"tags": tags, "size": X[:, 0]})
    assert est.predict(X)["tags"].shape == (300, n_labels)
    proba = est.predict_proba(X)["tags"]
    for scoring, metric in (("roc_auc", roc_auc_score), ("average_precision", aps)):
        expected = metric(tags, proba) if n_labels > 1 else metric(tags[:, 0], proba[:, 0])
        assert task_scorer("tags", scoring)(est, X, {"tags": tags}) == pytest.approx(expected)
    view = for_task(est, "tags")
    assert len(view.classes_) == n_labels and view.score(X, tags) > 0.6


def test_cross_val_predict_with_the_new_types(every_type):
    X, Y = every_type
    est = tiny(tasks={"task_3": "count"}, max_epochs=2)
    pred = cross_val_predict(est, X, Y, cv=2)
    assert pred["task_5"].shape == (400, 3) and (pred["task_3"] > 0).all()
    proba = cross_val_predict(est, X, Y, cv=2, method="predict_proba")
    assert proba["task_5"].shape == (400, 3) and proba["task_4"].shape == (400, 3)
    np.testing.assert_allclose(proba["task_4"].sum(axis=1), 1.0)
    assert "task_3" not in proba
    # A declared level that no row has keeps its column in every fold.
    Y = TargetDict(Y, task_4=np.asarray(Y["task_4"]))
    proba = cross_val_predict(
        tiny(tasks={"task_4": [0, 1, 2, 3]}, max_epochs=1), X, Y, cv=2, method="predict_proba"
    )
    assert proba["task_4"].shape == (400, 4) and (proba["task_4"][:, 3] > 0).all()
