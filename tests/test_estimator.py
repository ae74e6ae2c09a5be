import warnings

import numpy as np
import pandas as pd
import pytest

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl._tasks import encode_targets, read_targets
from sklearn_mtl._training import make_dataset
from sklearn_mtl.datasets import ADULT_TASKS, load_adult, make_multitask


def as_container(Y, kind):
    if kind == "dict":
        return dict(Y)
    if kind == "targetdict":
        return TargetDict(Y)
    if kind == "frame":
        return pd.DataFrame(dict(Y))
    if kind == "array2d":
        return np.column_stack([Y[name] for name in Y]).astype(float)
    return Y["task_1"]


@pytest.mark.parametrize("kind", ["dict", "targetdict", "frame", "array2d", "array1d"])
def test_predict_returns_the_container_of_fit(mixed_data, kind, fast):
    X, Y = mixed_data
    Y = as_container(Y, kind)
    tasks = {"task_0": "regression"} if kind == "array2d" else None
    est = MultiTaskEstimator(tasks=tasks, **fast).fit(X, Y)
    pred = est.predict(X[:7])
    if kind in ("dict", "targetdict", "frame"):
        assert type(pred) is type(Y)
        assert list(pred.keys()) == list(Y.keys())
        assert all(len(pred[k]) == 7 for k in Y.keys())
    elif kind == "array2d":
        assert isinstance(pred, np.ndarray) and pred.shape == (7, 3)
    else:
        assert isinstance(pred, np.ndarray) and pred.shape == (7,)
        assert set(np.unique(pred)) <= {0, 1}


def test_frame_predictions_keep_x_index(mixed_data, fast):
    X, Y = mixed_data
    X = pd.DataFrame(X, index=np.arange(300) + 1000, columns=[f"f{i}" for i in range(6)])
    est = MultiTaskEstimator(**fast).fit(X, pd.DataFrame(dict(Y), index=X.index))
    pred = est.predict(X.iloc[:4])
    assert list(pred.index) == [1000, 1001, 1002, 1003]
    assert list(est.feature_names_in_) == list(X.columns)


def test_fitted_attributes(mixed_data, fast):
    X, Y = mixed_data
    est = MultiTaskEstimator(task_weights={"task_2": 0.5}, **fast).fit(X, Y)
    assert est.tasks_ == {"task_0": "regression", "task_1": "binary", "task_2": "multiclass"}
    assert set(est.classes_) == {"task_1", "task_2"}
    np.testing.assert_array_equal(est.classes_["task_2"], [0, 1, 2])
    assert est.n_features_in_ == 6
    assert est.n_epochs_ == 3 == len(est.history_)
    assert est.task_weights_ == {"task_0": 1.0, "task_1": 1.0, "task_2": 0.5}
    assert est.history_[-1, "weight_task_2"] == 0.5
    for name in Y:
        assert np.isfinite(est.history_[-1, f"train_loss_{name}"])
    assert (
        est.weighting_ is not est.weighting
        and est.architecture_.__class__.__name__ == "SharedBottom"
    )
    assert est.net_.module_.heads[2].output.out_features == 3
    proba = est.predict_proba(X[:5])
    assert set(proba) == {"task_1", "task_2"}
    assert proba["task_2"].shape == (5, 3)
    np.testing.assert_allclose(proba["task_2"].sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["red", "green", "blue"])[np.arange(300) % 3],
        (np.arange(300) % 2).astype(bool),
        pd.Series(np.array(["lo", "hi"])[np.arange(300) % 2], dtype="category"),
        np.arange(300) % 3 + 10,
    ],
    ids=["str", "bool", "categorical", "int"],
)
def test_label_types_come_back_as_given(rng, labels):
    X = rng.normal(size=(300, 3))
    # Make the labels learnable from X.
    X[:, 0] = pd.factorize(np.asarray(labels))[0] * 2.0
    est = MultiTaskEstimator(
        hidden_layer_sizes=(16,), max_epochs=20, batch_size=32, lr=1e-2, random_state=0
    )
    est.fit(X, {"label": labels, "value": X[:, 1]})
    pred = est.predict(X)["label"]
    assert set(np.unique(pred)) == set(np.unique(np.asarray(labels)))
    assert np.mean(pred == np.asarray(labels)) > 0.95


def test_regression_targets_are_restored_to_their_units(rng):
    X = rng.normal(size=(400, 3))
    y = 1000.0 + 250.0 * X[:, 0]
    est = MultiTaskEstimator(hidden_layer_sizes=(32,), max_epochs=20, batch_size=32, random_state=0)
    est.fit(X, {"price": y, "sign": X[:, 1] > 0})
    task = est._predictor.tasks["price"]
    assert task.mean_ == pytest.approx(y.mean()) and task.scale_ == pytest.approx(y.std())
    pred = est.predict(X)["price"]
    assert abs(pred.mean() - 1000.0) < 20.0
    assert est.score_tasks(X, {"price": y})["price"] > 0.9


def test_without_standardisation_large_targets_learn_worse(rng):
    X = rng.normal(size=(400, 3))
    Y = {"price": 1000.0 + 250.0 * X[:, 0], "sign": X[:, 1] > 0}
    scores = {}
    for standardize in (True, False):
        est = MultiTaskEstimator(
            hidden_layer_sizes=(32,),
            max_epochs=20,
            batch_size=32,
            standardize_targets=standardize,
            random_state=0,
        ).fit(X, Y)
        scores[standardize] = est.score_tasks(X, Y)["price"]
    assert scores[True] > 0.9 > scores[False]


def test_regression_targets_near_1e200_give_finite_predictions_in_their_units(rng):
    X = rng.normal(size=(300, 3))
    y = (2.0 + X[:, 0]) * 1e200
    est = MultiTaskEstimator(hidden_layer_sizes=(16,), max_epochs=20, batch_size=32, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow anywhere
        pred = est.fit(X, y).predict(X)
    assert np.isfinite(pred).all()
    assert abs(pred.mean() / 1e200 - 2.0) < 0.2
    assert np.corrcoef(pred / 1e200, y / 1e200)[0, 1] > 0.9


def test_random_state_makes_fit_reproducible(mixed_data, fast):
    X, Y = mixed_data
    params = dict(fast, dropout=0.2)
    a = MultiTaskEstimator(**params).fit(X, Y).predict_proba(X)
    b = MultiTaskEstimator(**params).fit(X, Y).predict_proba(X)
    c = MultiTaskEstimator(**dict(params, random_state=1)).fit(X, Y).predict_proba(X)
    np.testing.assert_array_equal(a["task_2"], b["task_2"])
    assert not np.allclose(a["task_2"], c["task_2"])


def test_fit_does_not_touch_global_torch_rng(mixed_data, fast):
    import torch

    X, Y = mixed_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MultiTaskEstimator(**fast).fit(X, Y)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_early_stopping_restores_the_best_epoch(rng, no_step_floor):
    # A small noisy problem and a large network overfit quickly.
    X = rng.normal(size=(200, 20))
    Y = {"y": X[:, 0] + rng.normal(scale=2.0, size=200), "z": rng.normal(size=200)}
    est = MultiTaskEstimator(
        hidden_layer_sizes=(256, 256),
        lr=1e-2,
        max_epochs=100,
        batch_size=32,
        early_stopping=True,
        validation_fraction=0.3,
        n_iter_no_change=5,
        random_state=0,
    ).fit(X, Y)
    valid = np.array(est.history_[:, "valid_loss"])
    best = int(np.argmin(valid))
    # lr_schedule="plateau": 5 epochs without improvement divided the learning rate,
    # then the first one without improvement stopped training.
    (divided,) = [row["epoch"] for row in est.history_ if row.get("lr_divided")]
    assert divided == int(np.argmin(valid[:divided])) + 1 + 5
    assert est.n_epochs_ == max(best + 1, divided) + 1 < 100
    assert "valid_loss_y" in est.history_[-1]
    # The restored network gives back the best epoch's validation loss.
    targets = read_targets(Y)
    y, mask = encode_targets(targets, est._predictor.tasks)
    data = make_dataset(X.astype(np.float32), y, mask.astype(np.float32), "cpu")
    _, valid_data = est.net_.train_split(data)
    (batch,) = list(est.net_.get_iterator(valid_data))
    assert float(est.net_.validation_step(batch)["loss"]) == pytest.approx(valid[best], rel=1e-5)


def test_score_is_mean_of_task_scores(mixed_data, fast):
    X, Y = mixed_data
    est = MultiTaskEstimator(**fast).fit(X, Y)
    scores = est.score_tasks(X, Y)
    assert est.score(X, Y) == pytest.approx(np.mean(list(scores.values())))
    assert est.score_tasks(X, {"task_1": Y["task_1"]}).keys() == {"task_1"}


def test_tasks_learn_beyond_baselines():
    X, Y = make_multitask(
        2000,
        10,
        3,
        ["regression", "binary", "multiclass"],
        correlation=0.8,
        noise=0.1,
        random_state=0,
    )
    train, test = slice(0, 1500), slice(1500, None)
    # The plain network this test was calibrated on (no embedding, one member, 40
    # epochs); the defaults on this problem are measured in benchmarks/tabular_quality.py.
    est = MultiTaskEstimator(
        hidden_layer_sizes=(64,),
        max_epochs=40,
        batch_size=32,
        dropout=0.0,
        lr=1e-3,
        weight_decay=0.0,
        numeric_embedding=None,
        ensemble_size=1,
        early_stopping=False,
        random_state=0,
    )
    est.fit(X[train], Y.iloc[np.arange(1500)])
    scores = est.score_tasks(X[test], Y.iloc[np.arange(1500, 2000)])
    # Baselines: R^2 0 for the mean, 0.5 / 0.33 accuracy for the balanced classes.
    assert scores["task_0"] > 0.75
    assert scores["task_1"] > 0.85
    assert scores["task_2"] > 0.75


@pytest.mark.slow
def test_adult_tasks_beat_their_baselines():
    from sklearn.compose import make_column_selector, make_column_transformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X_train, Y_train = load_adult("train")
    X_test, Y_test = load_adult("test")
    model = make_pipeline(
        make_column_transformer(
            (
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
            (StandardScaler(), make_column_selector(dtype_include="number")),
            sparse_threshold=0.0,
        ),
        MultiTaskEstimator(tasks=ADULT_TASKS, max_epochs=8, batch_size=512, random_state=0),
    ).fit(X_train, Y_train)
    scores = model[-1].score_tasks(model[:-1].transform(X_test), Y_test)
    majority_income = Y_test["income"].value_counts(normalize=True).max()  # 0.76
    majority_marital = Y_test["marital_status"].value_counts(normalize=True).max()  # 0.46
    assert scores["income"] > majority_income + 0.05
    assert scores["marital_status"] > majority_marital + 0.15
    assert scores["hours_per_week"] > 0.15


def test_absolute_error_loss_resists_outliers(rng):
    X = rng.normal(size=(400, 2))
    y = 3.0 * X[:, 0]
    y_dirty = y.copy()
    y_dirty[:20] += 500.0  # 5% gross outliers
    Y = {"y": y_dirty, "s": X[:, 1] > 0}
    scores = {}
    for loss in ("squared_error", "absolute_error", "huber"):
        # 120 epochs: the absolute error converges slowly (at 60 it reached
        # 0.76 to 0.96 R^2 by seed, before and after issue 13; at 120, 0.95 to 0.99).
        est = MultiTaskEstimator(
            hidden_layer_sizes=(32,),
            max_epochs=120,
            batch_size=32,
            lr=3e-3,
            dropout=0.0,
            weight_decay=0.0,
            early_stopping=False,
            n_bags=1,  # one network: the loss, not the average, resists
            losses={"y": loss},
            random_state=0,
        ).fit(X, Y)
        assert "loss='" + loss in repr(est.net_.criterion_.task_types[0])
        scores[loss] = est.score_tasks(X[20:], {"y": y[20:]})["y"]
    # The outliers drag the squared-error fit far off; the median fit ignores them.
    assert scores["absolute_error"] > 0.9
    assert scores["squared_error"] < scores["huber"] < scores["absolute_error"]


def test_losses_are_checked_against_tasks(mixed_data, fast):
    X, Y = mixed_data
    with pytest.raises(ValueError, match="losses has keys \\['nope'\\] that are not tasks"):
        MultiTaskEstimator(losses={"nope": "huber"}, **fast).fit(X, Y)
    with pytest.raises(ValueError, match="task 'task_1' the loss 'huber', which a binary"):
        MultiTaskEstimator(losses={"task_1": "huber"}, **fast).fit(X, Y)
