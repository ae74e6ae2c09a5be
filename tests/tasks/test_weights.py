"""Sample weights (1-D or per task) and class weights: in the loss, and routed by Pipeline
and GridSearchCV."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict, task_scorer


@pytest.fixture
def noise_data(rng):
    """Features unrelated to the targets: a fit can only learn the (weighted) base rates."""
    X = rng.normal(size=(400, 3))
    high = rng.rand(400) < 0.5
    Y = TargetDict(
        {
            "level": np.where(high, 10.0, 0.0) + rng.normal(scale=0.1, size=400),
            "rare": np.where(rng.rand(400) < 0.15, "yes", "no").astype(object),
        }
    )
    return X, Y, high


def _fit(X, Y, **params):
    # One network: each test reads the weights one fit trains with.
    base = dict(hidden_layer_sizes=(8,), max_epochs=15, batch_size=50, lr=1e-2, n_bags=1,
                random_state=0)
    return MultiTaskEstimator(**{**base, **params})


def test_sample_weight_pulls_the_fit_towards_heavy_rows(noise_data):
    X, Y, high = noise_data
    plain = _fit(X, Y).fit(X, Y)
    heavy_high = np.where(high, 9.0, 1.0)
    weighted = _fit(X, Y).fit(X, Y, sample_weight=heavy_high)
    plain_mean = plain.predict(X)["level"].mean()
    weighted_mean = weighted.predict(X)["level"].mean()
    # Unweighted the base rate is about 5; weighting the 10s 9:1 moves it to about 9.
    assert 4 < plain_mean < 6.5
    assert weighted_mean > 8


def test_sample_weight_scale_does_not_matter(noise_data):
    X, Y, high = noise_data
    weights = np.where(high, 3.0, 1.0)
    once = _fit(X, Y).fit(X, Y, sample_weight=weights).predict(X)["level"]
    twice = _fit(X, Y).fit(X, Y, sample_weight=2 * weights).predict(X)["level"]
    np.testing.assert_allclose(once, twice, rtol=1e-4, atol=1e-4)


def test_zero_sample_weight_on_all_rows_of_a_value_removes_it(noise_data):
    X, Y, high = noise_data
    est = _fit(X, Y).fit(X, Y, sample_weight=(~high).astype(float))
    assert abs(est.predict(X)["level"].mean()) < 1.5


@pytest.mark.parametrize(
    "sample_weight, match",
    [(-np.ones(400), "Negative values in data"), (np.ones(7), r"\(400,\)")],
)
def test_bad_sample_weight(noise_data, sample_weight, match):
    X, Y, _ = noise_data
    with pytest.raises(ValueError, match=match):
        _fit(X, Y).fit(X, Y, sample_weight=sample_weight)


@pytest.mark.parametrize("class_weight", ["balanced", {"rare": "balanced"}, {"rare": {"yes": 6}}])
def test_class_weight_raises_the_rare_class_rate(noise_data, class_weight):
    X, Y, _ = noise_data
    # One member: an ensemble's average sits closer to the weighted base rate
    # (0.46 here for 6:1), so fewer rows land above 0.5 by chance.
    plain = _fit(X, Y, ensemble_size=1).fit(X, Y)
    weighted = _fit(X, Y, class_weight=class_weight, ensemble_size=1).fit(X, Y)
    assert (plain.predict(X)["rare"] == "yes").mean() < 0.1
    # The features are noise: weighted, the model predicts about the weighted
    # base rate (0.5 for "balanced" and 6:1), so which side of 0.5 a row falls
    # on is chance; the probabilities say whether the weights moved the model.
    proba_plain = plain.predict_proba(X)["rare"][:, 1]
    proba_weighted = weighted.predict_proba(X)["rare"][:, 1]
    assert proba_weighted.mean() > proba_plain.mean() + 0.2
    assert (weighted.predict(X)["rare"] == "yes").mean() > 0.1


def test_balanced_counts_labelled_rows_only(noise_data):
    X, Y, _ = noise_data
    Y = TargetDict(Y)
    Y["rare"] = Y["rare"].copy()
    Y["rare"][:100] = None
    labelled = Y["rare"][100:]
    n, n_yes = len(labelled), int((labelled == "yes").sum())
    by_hand = {"rare": {"yes": n / (2 * n_yes), "no": n / (2 * (n - n_yes))}}
    balanced = _fit(X, Y, class_weight="balanced").fit(X, Y).predict_proba(X)["rare"]
    explicit = _fit(X, Y, class_weight=by_hand).fit(X, Y).predict_proba(X)["rare"]
    np.testing.assert_allclose(balanced, explicit, rtol=1e-4, atol=1e-5)
    plain = _fit(X, Y).fit(X, Y).predict_proba(X)["rare"]
    assert balanced[:, 1].mean() > plain[:, 1].mean() + 0.2


def test_class_weight_multiplies_sample_weight(noise_data, rng, training_data):
    X, Y, _ = noise_data
    sample_weight = rng.uniform(0.5, 2.0, size=len(X))
    class_weight = {"rare": {"yes": 4.0}}
    combined = _fit(X, Y, class_weight=class_weight).fit(X, Y, sample_weight=sample_weight)
    by_hand = sample_weight * np.where(Y["rare"] == "yes", 4.0, 1.0)
    # Only the classification task sees the class weight; compare it alone.
    single = TargetDict({"rare": Y["rare"]})
    # Compared in the loss: the features' scaling statistics are weighted by
    # sample_weight alone (as k copies of a row would weigh), so the two fits'
    # inputs differ slightly.
    training_data.clear()
    _fit(X, single, class_weight=class_weight).fit(X, single, sample_weight=sample_weight)
    _fit(X, single).fit(X, single, sample_weight=by_hand)
    (_, _, w_class), (_, _, w_hand) = training_data
    np.testing.assert_allclose(w_class, w_hand, rtol=1e-6)
    assert combined.history_[-1, "train_loss_rare"] > 0


@pytest.mark.parametrize(
    "class_weight, match",
    [
        ({"nope": "balanced"}, "class_weight has a key 'nope' that is not a task"),
        ({"level": "balanced"}, "'level', a regression task"),
        ({"rare": {"maybe": 2.0}}, "label 'maybe' that is not a class of task 'rare'"),
        ({"rare": {1: 2.0}}, "label 1 that is not a class"),
        ({"rare": {"yes": -1.0}}, r"class_weight\['rare'\]\['yes'\] is -1.0"),
        ({"rare": {"yes": np.inf}}, "finite non-negative"),
        ({"rare": "even"}, "use 'balanced' or a dict"),
        ("even", "must be a str among"),
    ],
)
def test_bad_class_weight(noise_data, class_weight, match):
    X, Y, _ = noise_data
    with pytest.raises(ValueError, match=match):
        _fit(X, Y, class_weight=class_weight).fit(X, Y)


def test_class_weight_is_not_mutated(noise_data):
    X, Y, _ = noise_data
    class_weight = {"rare": {"yes": 2.0}}
    _fit(X, Y, class_weight=class_weight, max_epochs=1).fit(X, Y)
    assert class_weight == {"rare": {"yes": 2.0}}


# -- routing ------------------------------------------------------------------------------


def _weights(high):
    return np.where(high, 9.0, 1.0)


def test_pipeline_routes_sample_weight(noise_data):
    X, Y, high = noise_data
    sample_weight = _weights(high)
    scaled = StandardScaler().fit_transform(X)
    direct = _fit(X, Y).fit(scaled, Y, sample_weight=sample_weight).predict(scaled)["level"]
    classic = Pipeline([("scale", StandardScaler()), ("mtl", _fit(X, Y))])
    classic.fit(X, Y, mtl__sample_weight=sample_weight)
    np.testing.assert_allclose(classic.predict(X)["level"], direct, rtol=1e-5)
    with sklearn.config_context(enable_metadata_routing=True):
        routed = Pipeline(
            [
                ("scale", StandardScaler().set_fit_request(sample_weight=False)),
                ("mtl", _fit(X, Y).set_fit_request(sample_weight=True)),
            ]
        ).fit(X, Y, sample_weight=sample_weight)
        np.testing.assert_allclose(routed.predict(X)["level"], direct, rtol=1e-5)
        unweighted = Pipeline([("scale", StandardScaler()), ("mtl", _fit(X, Y))]).fit(X, Y)
    assert routed.predict(X)["level"].mean() > unweighted.predict(X)["level"].mean() + 2


@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_routes_sample_weight(noise_data, routing):
    X, Y, high = noise_data
    sample_weight = _weights(high)
    with sklearn.config_context(enable_metadata_routing=routing):
        est = _fit(X, Y, max_epochs=5)
        if routing:
            # The default scorer (score) takes sample_weight too: say whether it wants it.
            est.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        search = GridSearchCV(
            est, {"class_weight": [None, "balanced"]}, cv=KFold(2, shuffle=True, random_state=0)
        ).fit(X, Y, sample_weight=sample_weight)
        refit = clone(est).set_params(**search.best_params_).fit(X, Y, sample_weight=sample_weight)
    np.testing.assert_allclose(
        search.best_estimator_.predict(X)["level"], refit.predict(X)["level"], rtol=1e-5
    )
    assert search.best_estimator_.predict(X)["level"].mean() > 7


def test_unrequested_sample_weight_is_an_error_under_routing(noise_data):
    X, Y, high = noise_data
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = Pipeline([("scale", StandardScaler()), ("mtl", _fit(X, Y))])
        with pytest.raises(ValueError, match="sample_weight"):
            pipe.fit(X, Y, sample_weight=_weights(high))


# -- per-task sample weights ----------------------------------------------------------------


@pytest.fixture
def two_tasks(rng):
    """Two learnable tasks: a regression on x0, a binary label on x1."""
    X = rng.normal(size=(300, 3))
    Y = TargetDict(
        {
            "size": 2.0 * X[:, 0] + rng.normal(scale=0.1, size=300),
            "sign": np.where(X[:, 1] > 0, "pos", "neg"),
        }
    )
    return X, Y


def _learner(**params):
    # No weight decay: it would move a head that no loss moves.
    base = dict(
        hidden_layer_sizes=(16,), max_epochs=20, batch_size=32, lr=1e-2, weight_decay=0.0,
        early_stopping=False, random_state=0,
    )
    return MultiTaskEstimator(**{**base, **params})


@pytest.mark.parametrize("form", ["dict", "array2d", "class_weight"])
def test_a_task_weighted_zero_on_every_row_is_refused(two_tasks, form):
    # Issue 26: such a task was never trained and predicted from its untrained head,
    # while a task without labels is refused, as scikit-learn refuses all-zero weights.
    X, Y = two_tasks
    weights = {
        "dict": dict(sample_weight={"sign": np.zeros(300)}),
        "array2d": dict(sample_weight=np.column_stack([np.ones(300), np.zeros(300)])),
        "class_weight": dict(class_weight={"sign": {"pos": 0.0, "neg": 0.0}}),
    }[form]
    est = _learner(max_epochs=1, class_weight=weights.pop("class_weight", None))
    with pytest.raises(ValueError, match=r"Task 'sign' has weight 0 on every labelled row"):
        est.fit(X, Y, **weights)
    assert not hasattr(est, "net_")
    # Zero on the rows where it is labelled is zero on every row that counts.
    unlabelled = TargetDict(size=Y["size"], sign=np.where(X[:, 2] > 0, Y["sign"], None))
    labelled_weight = {"sign": (X[:, 2] <= 0).astype(float)}
    with pytest.raises(ValueError, match=r"Task 'sign' has weight 0"):
        _learner(max_epochs=1).fit(X, unlabelled, sample_weight=labelled_weight)


def test_the_forms_of_per_task_weights_give_the_same_fit(two_tasks, rng):
    X, Y = two_tasks
    matrix = rng.uniform(0.0, 3.0, size=(300, 2))
    forms = {
        "array2d": matrix,
        "frame": pd.DataFrame({"sign": matrix[:, 1], "size": matrix[:, 0]}),  # any order
        "dict": {"size": matrix[:, 0], "sign": matrix[:, 1]},
        "targetdict": TargetDict(sign=matrix[:, 1], size=matrix[:, 0]),
        "list": matrix.tolist(),
    }
    fits = {name: _learner(max_epochs=5).fit(X, Y, sample_weight=w) for name, w in forms.items()}
    expected = fits["array2d"].predict_proba(X)["sign"]
    expected_size = fits["array2d"].predict(X)["size"]
    for name, est in fits.items():
        np.testing.assert_array_equal(est.predict_proba(X)["sign"], expected, err_msg=name)
        np.testing.assert_array_equal(est.predict(X)["size"], expected_size, err_msg=name)
    unweighted = _learner(max_epochs=5).fit(X, Y).predict(X)["size"]
    assert not np.allclose(unweighted, expected_size)


def test_one_dimensional_weights_are_every_task_s_and_unnamed_tasks_weigh_one(two_tasks, rng):
    X, Y = two_tasks
    w = rng.uniform(0.5, 2.0, size=300)
    row = _learner(max_epochs=5).fit(X, Y, sample_weight=w).predict(X)["size"]
    both = _learner(max_epochs=5).fit(X, Y, sample_weight=np.column_stack([w, w]))
    np.testing.assert_array_equal(both.predict(X)["size"], row)
    named = _learner(max_epochs=5).fit(X, Y, sample_weight={"size": w})
    ones = _learner(max_epochs=5).fit(X, Y, sample_weight=np.column_stack([w, np.ones(300)]))
    np.testing.assert_array_equal(named.predict(X)["size"], ones.predict(X)["size"])


def test_a_per_task_weight_moves_its_own_task(noise_data):
    X, Y, high = noise_data
    est = _fit(X, Y).fit(X, Y, sample_weight={"level": np.where(high, 9.0, 1.0)})
    assert est.predict(X)["level"].mean() > 8


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        ({"nope": np.ones(400)}, r"sample_weight has keys \['nope'\] that are not tasks"),
        (pd.DataFrame({"nope": np.ones(400)}), r"keys \['nope'\] that are not tasks"),
        (np.ones((400, 3)), r"shape \(400, 3\); expected \(400,\) .* \(400, 2\)"),
        (np.ones((7, 2)), r"shape \(7, 2\)"),
        ({"level": np.ones(200)}, r"sample_weight\['level'\] has shape \(200,\).*TargetDict"),
        ({"level": -np.ones(400)}, r"sample_weight\['level'\] has negative values"),
        (np.full((400, 2), np.nan), "NaN or infinite"),
        ({"rare": np.full(400, np.inf)}, r"sample_weight\['rare'\] has NaN or infinite"),
        ({"rare": np.full(400, 1e39)}, "beyond float32's range"),
        ({"rare": np.array(["a"] * 400)}, r"sample_weight\['rare'\] has dtype <U1"),
        (np.zeros((400, 2)), "0 for every row and task"),
        (np.ones((400, 2, 1)), r"shape \(400, 2, 1\); expected \(400,\)"),
    ],
)
def test_bad_per_task_sample_weight(noise_data, sample_weight, match):
    X, Y, _ = noise_data
    with pytest.raises(ValueError, match=match):
        _fit(X, Y).fit(X, Y, sample_weight=sample_weight)


def test_per_task_weights_are_not_modified(noise_data):
    X, Y, high = noise_data
    weights = {"level": np.where(high, 2.0, 1.0)}
    frame = pd.DataFrame(weights)
    copy = weights["level"].copy()
    _fit(X, Y, max_epochs=1).fit(X, Y, sample_weight=weights)
    _fit(X, Y, max_epochs=1).fit(X, Y, sample_weight=frame)
    np.testing.assert_array_equal(weights["level"], copy)
    np.testing.assert_array_equal(frame["level"], copy)


def test_score_tasks_and_task_scorer_take_per_task_weights(two_tasks, rng):
    X, Y = two_tasks
    est = _learner(max_epochs=5).fit(X, Y)
    Y = TargetDict(Y)
    Y["size"] = Y["size"].copy()
    Y["size"][:50] = np.nan
    matrix = rng.uniform(0.0, 3.0, size=(300, 2))
    predicted = est.predict(X)
    size_r2 = r2_score(Y["size"][50:], predicted["size"][50:], sample_weight=matrix[50:, 0])
    sign_acc = accuracy_score(Y["sign"], predicted["sign"], sample_weight=matrix[:, 1])
    expected = {"size": size_r2, "sign": sign_acc}
    for weights in (matrix, pd.DataFrame({"sign": matrix[:, 1], "size": matrix[:, 0]})):
        assert est.score_tasks(X, Y, sample_weight=weights) == pytest.approx(expected)
    assert task_scorer("size", "r2")(est, X, Y, {"size": matrix[:, 0]}) == pytest.approx(size_r2)
    assert task_scorer("sign")(est, X, Y, sample_weight=matrix) == pytest.approx(sign_acc)
    assert est.score(X, Y, sample_weight={"sign": matrix[:, 1]}) == pytest.approx(
        (r2_score(Y["size"][50:], predicted["size"][50:]) + sign_acc) / 2
    )


def test_pipeline_routes_per_task_weights(noise_data):
    X, Y, high = noise_data
    matrix = np.column_stack([_weights(high), np.ones(400)])
    scaled = StandardScaler().fit_transform(X)
    direct = _fit(X, Y).fit(scaled, Y, sample_weight=matrix).predict(scaled)["level"]
    with sklearn.config_context(enable_metadata_routing=True):
        routed = Pipeline(
            [
                ("scale", StandardScaler().set_fit_request(sample_weight=False)),
                ("mtl", _fit(X, Y).set_fit_request(sample_weight=True)),
            ]
        ).fit(X, Y, sample_weight=matrix)
    np.testing.assert_allclose(routed.predict(X)["level"], direct, rtol=1e-5)
    assert direct.mean() > 7


def _per_task_forms(high):
    level = _weights(high)
    return {
        "array2d": np.column_stack([level, np.ones(400)]),
        "frame": pd.DataFrame({"level": level}),
        "targetdict": TargetDict(level=level),
    }


@pytest.mark.parametrize("form", ["array2d", "frame", "targetdict"])
@pytest.mark.parametrize("routing", [False, True])
def test_grid_search_slices_per_task_weights_by_rows(noise_data, form, routing):
    X, Y, high = noise_data
    weights = _per_task_forms(high)[form]
    cv = KFold(2, shuffle=True, random_state=0)
    with sklearn.config_context(enable_metadata_routing=routing):
        est = _fit(X, Y, max_epochs=5)
        if routing:
            est.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        search = GridSearchCV(est, {"lr": [1e-2, 2e-2]}, cv=cv, error_score="raise")
        search.fit(X, Y, sample_weight=weights)
    # Each fold fitted and scored on its own rows' weights (else the shapes would not match).
    train, test = next(cv.split(X))
    fold = clone(est).set_params(lr=1e-2)
    fold.fit(X[train], Y.take(train), sample_weight=_per_task_forms(high)["array2d"][train])
    matrix = _per_task_forms(high)["array2d"]
    # Since scikit-learn 1.7 the scorer gets the weights without routing, too.
    expected = fold.score(X[test], Y.take(test), sample_weight=matrix[test])
    assert search.cv_results_["split0_test_score"][0] == pytest.approx(expected)
    assert search.best_estimator_.predict(X)["level"].mean() > 7


def test_a_plain_dict_of_weights_in_grid_search_says_to_use_a_targetdict(noise_data):
    X, Y, high = noise_data
    search = GridSearchCV(_fit(X, Y, max_epochs=1), {"lr": [1e-2]}, cv=2, error_score="raise")
    with pytest.raises(ValueError, match=r"has shape \(400,\); expected \(200,\).*TargetDict"):
        search.fit(X, Y, sample_weight={"level": _weights(high)})
