"""target_encoding: per-task target statistics of categorical columns, cross-fitted in fit."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from sklearn_mtl import MultiTaskEstimator, onnx_inputs, to_onnx
from sklearn_mtl._features._target_statistics import TargetStatistics
from sklearn_mtl._tasks import fit_targets, read_targets


def id_frame(n=1500, n_ids=300, seed=0):
    """Rows of ``n_ids`` people, each with an effect only its own rows reveal."""
    rng = np.random.RandomState(seed)
    ids = rng.randint(n_ids, size=n)
    effect = rng.normal(size=n_ids)
    x = rng.normal(size=n)
    X = pd.DataFrame({"person": pd.Categorical(ids.astype(str)), "x": x})
    Y = {
        "level": effect[ids] + 0.5 * x + 0.3 * rng.normal(size=n),
        "high": (effect[ids] + 0.3 * rng.normal(size=n) > 0).astype(int),
    }
    return X, Y


def model(**params):
    defaults = dict(hidden_layer_sizes=(32,), max_epochs=40, random_state=0)
    return MultiTaskEstimator(**{**defaults, **params})


@pytest.fixture(scope="module")
def fitted():
    X, Y = id_frame()
    return model(target_encoding="auto").fit(X[:1000], {t: y[:1000] for t, y in Y.items()})


def test_statistics_of_a_many_category_column_are_learned(fitted):
    X, Y = id_frame()
    test = slice(1000, None)
    baseline = model(target_encoding=None).fit(X[:1000], {t: y[:1000] for t, y in Y.items()})
    with_statistics = r2_score(Y["level"][test], fitted.predict(X[test])["level"])
    without = r2_score(Y["level"][test], baseline.predict(X[test])["level"])
    # 300 categories of about 3 rows each: the slot embedding barely learns them.
    assert with_statistics > without + 0.1, (with_statistics, without)


def test_auto_leaves_columns_of_few_categories_alone():
    X, Y = id_frame(n=400, n_ids=20)
    est = model(target_encoding="auto", max_epochs=1).fit(X, Y)
    assert est._feature_encoder.statistic_lookups() == []
    assert MultiTaskEstimator().target_encoding == "auto"
    est = model(target_encoding="all", max_epochs=1).fit(X, Y)
    lookups = est._feature_encoder.statistic_lookups()
    assert [(lookup.column, len(lookup.categories)) for lookup in lookups] == [(0, 20), (0, 20)]


def test_auto_picks_columns_whose_rows_are_mostly_in_rare_categories(rng):
    # Issue 31: ids seen a few times each get statistics; many categories of many
    # rows each (the former rule: more than 64) keep their slots alone.
    n = 2000
    X = pd.DataFrame(
        {
            "person": [f"p{i}" for i in rng.randint(700, size=n)],  # ~3 rows each
            "shop": [f"s{i}" for i in rng.randint(100, size=n)],  # ~20 rows each
            "half": np.where(np.arange(n) < n // 2, "common", [f"h{i}" for i in range(n)]),
            "x": rng.normal(size=n),
        }
    )
    Y = {"y": rng.normal(size=n)}
    est = model(max_epochs=1).fit(X, Y)
    assert sorted({lookup.column for lookup in est._feature_encoder.statistic_lookups()}) == [0, 2]
    assert model(max_epochs=1, min_frequency=1).fit(X, Y)._feature_encoder.statistic_lookups()


def test_a_class_of_fewer_rows_than_folds_cross_fits_without_strata(rng):
    # Issue 31: with statistics on by default, StratifiedKFold(5) refused a class of
    # 3 rows; such a task now takes plain folds.
    n = 60
    X = pd.DataFrame({"id": [f"c{i}" for i in rng.randint(30, size=n)], "x": rng.normal(size=n)})
    Y = {"rare": np.where(np.arange(n) < 3, "yes", "no"), "level": rng.normal(size=n)}
    est = model(max_epochs=1).fit(X, Y)
    assert len(est._feature_encoder.statistic_lookups()) == 2
    assert set(est.predict(X)["rare"]) <= {"yes", "no"}


def test_a_rows_statistic_in_fit_does_not_read_its_own_label():
    X, Y = id_frame(n=600, n_ids=150)
    strings = [X["person"].astype(str).to_numpy(dtype=object)]

    def statistics(y):
        # Unstandardised: the scale of all labels would move every statistic a little.
        encoded = fit_targets(read_targets({"level": y}), None, None, False)
        return TargetStatistics([0], random_state=0).fit_transform(strings, encoded)[:, 0]

    y = Y["level"].copy()
    before = statistics(y)
    y[7] += 100.0  # one label far off: its own row's statistic must not move
    after = statistics(y)
    assert after[7] == pytest.approx(before[7])
    same_person = np.flatnonzero(strings[0] == strings[0][7])
    assert any(after[i] != before[i] for i in same_person if i != 7)


def test_unseen_and_missing_categories_read_the_tasks_mean(fitted):
    X = pd.DataFrame({"person": pd.Categorical(["never seen", None]), "x": [0.0, 0.0]})
    lookups = fitted._feature_encoder.statistic_lookups()
    encoder = fitted._feature_encoder
    statistics = encoder.encode(encoder.validate(fitted, X, reset=False))
    expected = [lookup.default for lookup in lookups]
    np.testing.assert_allclose(statistics[:, 2:], [expected, expected], rtol=1e-6)


def test_predictions_survive_pickling(fitted):
    X, _ = id_frame(seed=1)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X)["level"], fitted.predict(X)["level"])


def test_onnx_graph_appends_the_statistics_as_predict_does(fitted):
    import onnxruntime as ort

    X, _ = id_frame(seed=1)
    X = X.copy()
    X.loc[:4, "person"] = None
    X["person"] = X["person"].cat.add_categories(["never seen"])
    X.loc[5:9, "person"] = "never seen"
    graph = to_onnx(fitted, X[:5])
    session = ort.InferenceSession(graph.SerializeToString())
    names = [output.name for output in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, onnx_inputs(graph, X))))
    np.testing.assert_allclose(outputs["level"].ravel(), fitted.predict(X)["level"], atol=1e-4)
    np.testing.assert_allclose(
        outputs["high_proba"], fitted.predict_proba(X)["high"], atol=1e-5
    )


def test_an_unknown_value_is_refused_before_training():
    X, Y = id_frame(n=100)
    with pytest.raises(ValueError, match="target_encoding"):
        model(target_encoding="yes").fit(X, Y)
