"""ConformalTasks: stated coverage per task type, adaptive widths, MAPIE and crepes, bad input."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mtl import MultiTaskEstimator, TargetDict, for_task
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.uncertainty import ConformalTasks
from sklearn_mtl.uncertainty._scores import contiguous_order

TYPES = ["regression", "binary", "multiclass", "count", "ordinal", "multilabel"]
DECLARED = {"task_3": "count", "task_4": "ordinal"}
N_FIT, N_HELD_OUT = 1500, 3000


def rows(Y, index):
    """The rows ``index`` of each target (an ordinal task's is a pandas Series)."""
    return {task: getattr(values, "iloc", values)[index] for task, values in Y.items()}


@pytest.fixture(scope="module")
def every_type():
    """A model of every task type (the regression with a quantile head), and held-out rows."""
    X, Y = make_multitask(N_FIT + N_HELD_OUT, 8, 6, TYPES, correlation=0.8, random_state=0)
    est = MultiTaskEstimator(
        DECLARED,
        losses={"task_0": ("quantile", [0.1, 0.5, 0.9])},
        hidden_layer_sizes=(32,),
        max_epochs=15,
        random_state=0,
    ).fit(X[:N_FIT], rows(Y, slice(0, N_FIT)))
    return est, X[N_FIT:], rows(Y, slice(N_FIT, None))


def covered(conformal, X, Y):
    """Task -> whether each labelled row's interval or set holds its label (per label: 2-D)."""
    hits = {}
    for task, bounds in conformal.predict_interval(X).items():
        hits[task] = (bounds[:, 0] <= Y[task]) & (Y[task] <= bounds[:, 1])
    classes = conformal.estimator_.classes_
    for task, sets in conformal.predict_set(X).items():
        if sets.ndim == 3:
            hits[task] = np.take_along_axis(sets, Y[task].astype(int)[..., None], axis=2)[..., 0]
        else:
            codes = pd.Index(classes[task]).get_indexer(Y[task])
            hits[task] = sets[np.arange(len(codes)), codes]
    return hits


def split_coverage(est, X, Y, n_splits=12, **params):
    """Task -> mean over random calibration / test halves of the held-out coverage."""
    rng = np.random.RandomState(0)
    coverage = {}
    for _ in range(n_splits):
        order = rng.permutation(len(X))
        cal, test = order[: len(X) // 2], order[len(X) // 2 :]
        conformal = ConformalTasks(est, random_state=0, **params)
        conformal.conformalize(X[cal], rows(Y, cal))
        for task, hits in covered(conformal, X[test], rows(Y, test)).items():
            coverage.setdefault(task, []).append(hits.mean(axis=0))
    return conformal, {task: np.mean(values, axis=0) for task, values in coverage.items()}


@pytest.mark.parametrize("level", [0.8, 0.95])
def test_every_task_type_covers_as_stated(every_type, level):
    est, X, Y = every_type
    conformal, coverage = split_coverage(est, X, Y, confidence_level=level)
    assert conformal.conformity_scores_ == {
        "task_0": "quantile",
        "task_1": "lac",
        "task_2": "lac",
        "task_3": "pearson",
        "task_4": "lac",
        "task_5": "lac",
    }
    # Exchangeable rows: at least the level, at most 1 / (n + 1) above it (and noise).
    n = len(X) // 2
    for task, value in coverage.items():
        assert np.all(value > level - 0.012), (task, value)
        assert np.all(value < level + 1 / (n + 1) + 0.012), (task, value)


def test_aps_covers_at_least_the_level(every_type):
    est, X, Y = every_type
    _, coverage = split_coverage(est, X, Y, n_splits=4, conformity_score="aps")
    for task in ("task_1", "task_2", "task_4"):
        assert coverage[task] > 0.9 - 0.012, (task, coverage[task])


def test_absolute_scores_and_shapes(every_type):
    est, X, Y = every_type
    conformal = ConformalTasks(est, conformity_score="absolute").conformalize(X, Y)
    assert conformal.conformity_scores_["task_0"] == "absolute"
    intervals = conformal.predict_interval(X[:50])
    assert sorted(intervals) == ["task_0", "task_3"]
    assert all(bounds.shape == (50, 2) for bounds in intervals.values())
    # One width for every row, half of it the threshold (counts: where not clipped at 0).
    widths = np.diff(intervals["task_0"], axis=1)
    np.testing.assert_allclose(widths, 2 * conformal.thresholds_["task_0"])
    assert (intervals["task_3"] >= 0).all()
    sets = conformal.predict_set(X[:50])
    assert (
        sets["task_2"].shape == (50, len(est.classes_["task_2"])) and sets["task_2"].dtype == bool
    )
    assert sets["task_5"].shape == (50, len(est.classes_["task_5"]), 2)


def test_ordinal_sets_are_ranges(every_type):
    est, X, Y = every_type
    for score in ("lac", "aps"):
        conformal = ConformalTasks(est, conformity_score={"task_4": score}, random_state=0)
        sets = conformal.conformalize(X, Y).predict_set(X)["task_4"]
        for row in sets[sets.any(axis=1)]:
            inside = np.flatnonzero(row)
            assert (np.diff(inside) == 1).all(), (score, row)
    proba = np.array([[0.1, 0.5, 0.15, 0.25], [0.4, 0.3, 0.2, 0.1]])
    np.testing.assert_array_equal(contiguous_order(proba), [[1, 2, 3, 0], [0, 1, 2, 3]])


def test_count_intervals_grow_with_the_expected_count():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(4000, 2))
    rate = np.exp(4 + 2.6 * X[:, 0])  # from about 4 to about 800 rentals
    y = rng.poisson(rate)
    est = MultiTaskEstimator(
        {"rentals": "count"}, hidden_layer_sizes=(16,), max_epochs=30, random_state=0
    ).fit(X[:2000], {"rentals": y[:2000]})
    cal, test = slice(2000, 3000), slice(3000, None)
    widths, hits = {}, {}
    for score in ("pearson", "absolute"):
        conformal = ConformalTasks(est, conformity_score=score).conformalize(
            X[cal], {"rentals": y[cal]}
        )
        bounds = conformal.predict_interval(X[test])["rentals"]
        assert (bounds[:, 0] >= 0).all()
        widths[score] = bounds[:, 1] - bounds[:, 0]
        hits[score] = (bounds[:, 0] <= y[test]) & (y[test] <= bounds[:, 1])
        clipped = bounds[:, 0] == 0
    low, high = rate[test] < 10, rate[test] > 400
    # Pearson: narrow where counts are small, wide where they are large, covering both.
    assert widths["pearson"][high].mean() > 5 * widths["pearson"][low].mean()
    assert hits["pearson"][low].mean() > 0.85 and hits["pearson"][high].mean() > 0.85
    # Absolute residuals: one width, too wide for small counts, too narrow for large ones.
    assert np.ptp(widths["absolute"][~clipped]) < 1e-9 * widths["absolute"].max()
    assert hits["absolute"][high].mean() < 0.85


def test_quantile_head_intervals_follow_the_noise():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(4000, 3))
    sigma = 0.1 + np.abs(X[:, 1])
    y = X[:, 0] + sigma * rng.normal(size=4000)
    est = MultiTaskEstimator(
        losses={"y": ("quantile", [0.05, 0.5, 0.95])}, hidden_layer_sizes=(32,), random_state=0
    ).fit(X[:2000], {"y": y[:2000]})
    widths = {}
    for score in ("quantile", "absolute"):
        conformal = ConformalTasks(est, conformity_score=score).conformalize(
            X[2000:3000], {"y": y[2000:3000]}
        )
        bounds = conformal.predict_interval(X[3000:])["y"]
        hit = (bounds[:, 0] <= y[3000:]) & (y[3000:] <= bounds[:, 1])
        assert abs(hit.mean() - 0.9) < 0.03, (score, hit.mean())
        widths[score] = bounds[:, 1] - bounds[:, 0]
    assert np.corrcoef(widths["quantile"], sigma[3000:])[0, 1] > 0.8
    # Same coverage, narrower on average: the band follows the noise.
    assert widths["quantile"].mean() < 0.95 * widths["absolute"].mean()


def test_joint_coverage_by_bonferroni(every_type):
    est, X, Y = every_type
    Y = {task: Y[task] for task in ("task_0", "task_1", "task_2")}
    conformal = ConformalTasks(est, confidence_level=0.9, joint=True).conformalize(
        X[:1500], rows(Y, slice(0, 1500))
    )
    assert conformal.confidence_levels_ == dict.fromkeys(Y, pytest.approx(1 - 0.1 / 3))
    hits = covered(conformal, X[1500:], rows(Y, slice(1500, None)))
    assert np.all(list(hits.values()), axis=0).mean() >= 0.9 - 0.015
    levels = {"task_0": 0.95, "task_1": 0.97, "task_2": 0.98}
    by_task = ConformalTasks(est, confidence_level=levels).conformalize(X, Y)
    assert by_task.confidence_levels_ == levels


def test_missing_labels_are_skipped_per_task(every_type):
    est, X, Y = every_type
    Y = dict(Y)
    Y["task_0"] = np.where(np.arange(len(X)) % 3 == 0, np.nan, Y["task_0"])
    Y["task_5"] = Y["task_5"].astype(float)
    Y["task_5"][:100, 1] = np.nan
    conformal = ConformalTasks(est).conformalize(X, TargetDict(Y))
    assert conformal.n_conformalize_["task_0"] == len(X) - len(X[::3])
    assert conformal.n_conformalize_["task_1"] == len(X)
    np.testing.assert_array_equal(conformal.n_conformalize_["task_5"], [3000, 2900, 3000])


def test_pipeline_dataframe_targets_and_pickle(rng):
    X = pd.DataFrame(rng.normal(size=(600, 3)), columns=["a", "b", "c"])
    Y = pd.DataFrame({"value": X["a"] * 3 + rng.normal(size=600), "sign": X["b"] > 0})
    model = make_pipeline(StandardScaler(), MultiTaskEstimator(max_epochs=5, random_state=0))
    model.fit(X[:300], Y[:300])
    conformal = ConformalTasks(model).conformalize(X[300:500], Y[300:500])
    intervals = conformal.predict_interval(X[500:])
    restored = pickle.loads(pickle.dumps(conformal))
    np.testing.assert_array_equal(restored.predict_interval(X[500:])["value"], intervals["value"])
    assert list(conformal.predict_set(X[500:])) == ["sign"]


# ---------------------------------------------------------------- MAPIE and crepes


@pytest.fixture(scope="module")
def small_model():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1200, 4))
    kinds = np.array(["a", "b", "c"])[(X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)]
    Y = {"size": X[:, 0] + rng.normal(size=1200), "kind": kinds}
    est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=5, random_state=0)
    est.fit(X[:400], rows(Y, slice(0, 400)))
    conformal = ConformalTasks(est, confidence_level=0.9)
    conformal.conformalize(X[400:800], rows(Y, slice(400, 800)))
    return est, conformal, X, Y


def test_mapie_wraps_task_views(small_model):
    """MAPIE v1's split conformal, prefit, on for_task views: the same intervals and sets."""
    mapie = pytest.importorskip("mapie", minversion="1.0")
    from mapie.classification import SplitConformalClassifier
    from mapie.regression import SplitConformalRegressor

    est, conformal, X, Y = small_model
    cal, test = slice(400, 800), slice(800, None)
    regressor = SplitConformalRegressor(for_task(est, "size"), confidence_level=0.9, prefit=True)
    regressor.conformalize(X[cal], Y["size"][cal])
    _, intervals = regressor.predict_interval(X[test])
    classifier = SplitConformalClassifier(for_task(est, "kind"), confidence_level=0.9, prefit=True)
    classifier.conformalize(X[cal], Y["kind"][cal])
    _, sets = classifier.predict_set(X[test])
    assert mapie.__version__.startswith("1.")
    np.testing.assert_allclose(intervals[:, :, 0], conformal.predict_interval(X[test])["size"])
    np.testing.assert_array_equal(sets[:, :, 0], conformal.predict_set(X[test])["kind"])


def test_crepes_wraps_task_views(small_model):
    """crepes' WrapRegressor and WrapClassifier (hinge, no smoothing): the same."""
    crepes = pytest.importorskip("crepes")

    est, conformal, X, Y = small_model
    cal, test = slice(400, 800), slice(800, None)
    regressor = crepes.WrapRegressor(for_task(est, "size"))
    regressor.calibrate(X[cal], Y["size"][cal])
    classifier = crepes.WrapClassifier(for_task(est, "kind"))
    classifier.calibrate(X[cal], Y["kind"][cal])
    intervals = regressor.predict_int(X[test], confidence=0.9)
    sets = classifier.predict_set(X[test], confidence=0.9, smoothing=False, labels=False)
    np.testing.assert_allclose(intervals, conformal.predict_interval(X[test])["size"])
    np.testing.assert_array_equal(sets.astype(bool), conformal.predict_set(X[test])["kind"])


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1])
def test_confidence_outside_the_open_unit_interval(small_model, level):
    est, _, X, Y = small_model
    with pytest.raises(InvalidParameterError, match="confidence_level.*range \\(0.0, 1.0\\)"):
        ConformalTasks(est, confidence_level=level).conformalize(X, Y)
    with pytest.raises(ValueError, match=f"task 'size' the level {level}; a confidence level is"):
        ConformalTasks(est, confidence_level={"size": level, "kind": 0.9}).conformalize(X, Y)


def test_errors(small_model):
    est, conformal, X, Y = small_model
    unlabelled = {"size": np.full(len(X), np.nan), "kind": Y["kind"]}
    with pytest.raises(ValueError, match="Task 'size' has no labelled row in the calibration"):
        ConformalTasks(est).conformalize(X, unlabelled)
    few = rows(Y, slice(0, 12))
    with pytest.raises(ValueError, match=r"Task 'size' has 12 labelled calibration rows.*0.95 "):
        ConformalTasks(est, confidence_level=0.95).conformalize(X[:12], few)
    with pytest.raises(ValueError, match="needs at least 19"):
        ConformalTasks(est, confidence_level=0.95).conformalize(X[:12], few)
    with pytest.raises(NotFittedError):
        ConformalTasks(MultiTaskEstimator()).conformalize(X, Y)
    with pytest.raises(TypeError, match="Expected a MultiTaskEstimator"):
        ConformalTasks(StandardScaler()).conformalize(X, Y)
    with pytest.raises(ValueError, match="the score 'lac', which cannot calibrate this regression"):
        ConformalTasks(est, conformity_score={"size": "lac"}).conformalize(X, Y)
    with pytest.raises(ValueError, match=r"'quantile' needs a quantile head: fit with losses"):
        ConformalTasks(est, conformity_score={"size": "quantile"}).conformalize(X, Y)
    with pytest.raises(ValueError, match="'pearson' calibrates none of the tasks"):
        ConformalTasks(est, conformity_score="pearson").conformalize(X, Y)
    with pytest.raises(ValueError, match="'nope' is not a conformity score"):
        ConformalTasks(est, conformity_score="nope").conformalize(X, Y)
    with pytest.raises(ValueError, match=r"names \['weight'\], which are not tasks"):
        ConformalTasks(est, conformity_score={"weight": "lac"}).conformalize(X, Y)
    with pytest.raises(ValueError, match="not .*tasks? of|'weight'"):
        ConformalTasks(est).conformalize(X, {"weight": X[:, 0]})
    with pytest.raises(ValueError, match="joint=True splits one confidence_level"):
        ConformalTasks(est, confidence_level={"size": 0.9, "kind": 0.9}, joint=True).conformalize(
            X, Y
        )
    with pytest.raises(ValueError, match=r"needs one for each task .* \(missing \['kind'\]"):
        ConformalTasks(est, confidence_level={"size": 0.9}).conformalize(X, Y)
    with pytest.raises(NotFittedError, match="not conformalized yet; call conformalize"):
        ConformalTasks(est).predict_interval(X)
    only_sets = ConformalTasks(est).conformalize(X, {"kind": Y["kind"]})
    with pytest.raises(ValueError, match="predict_interval answers for regression or count"):
        only_sets.predict_interval(X)
