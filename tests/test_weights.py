"""sample_weight and class_weight: in the loss, and routed by Pipeline and GridSearchCV."""

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict


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
    base = dict(hidden_layer_sizes=(8,), max_epochs=15, batch_size=50, lr=1e-2, random_state=0)
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
    plain = _fit(X, Y).fit(X, Y).predict(X)["rare"]
    weighted = _fit(X, Y, class_weight=class_weight).fit(X, Y).predict(X)["rare"]
    assert (plain == "yes").mean() < 0.1
    assert (weighted == "yes").mean() > (plain == "yes").mean() + 0.25


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


def test_class_weight_multiplies_sample_weight(noise_data, rng):
    X, Y, _ = noise_data
    sample_weight = rng.uniform(0.5, 2.0, size=len(X))
    class_weight = {"rare": {"yes": 4.0}}
    combined = _fit(X, Y, class_weight=class_weight).fit(X, Y, sample_weight=sample_weight)
    by_hand = sample_weight * np.where(Y["rare"] == "yes", 4.0, 1.0)
    # Only the classification task sees the class weight; compare it alone.
    single = TargetDict({"rare": Y["rare"]})
    a = _fit(X, single, class_weight=class_weight).fit(X, single, sample_weight=sample_weight)
    b = _fit(X, single).fit(X, single, sample_weight=by_hand)
    np.testing.assert_allclose(a.predict_proba(X)["rare"], b.predict_proba(X)["rare"], atol=1e-5)
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
