import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, task_scorer


def frame_data(rng, n=200):
    X = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(list("abc"), size=n)})
    Y = pd.DataFrame(
        {
            "label": np.where(X["num"] + 0.3 * rng.normal(size=n) > 0, "yes", "no"),
            "value": (X["cat"] == "a") * 2.0 + rng.normal(scale=0.3, size=n),
        }
    )
    Y.loc[:20, "label"] = None
    return X, Y


def test_task_scorer_runs_the_pipeline_preprocessing(rng):
    X, Y = frame_data(rng)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["cat"]), (StandardScaler(), ["num"])),
        MultiTaskEstimator(
            hidden_layer_sizes=(16,), max_epochs=20, batch_size=32, lr=1e-2, random_state=0
        ),
    ).fit(X, Y)
    labelled = Y["label"].notna().to_numpy()
    proba = model[-1].predict_proba(model[:-1].transform(X[labelled]))["label"][:, 1]
    expected = roc_auc_score(Y["label"][labelled], proba)
    assert task_scorer("label", "roc_auc")(model, X, Y) == expected
    assert expected > 0.9
    assert task_scorer("value")(model, X, Y) > 0.5


def test_grid_search_over_a_pipeline_with_task_scorers(rng):
    X, Y = frame_data(rng)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["cat"]), (StandardScaler(), ["num"])),
        MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=2, random_state=0),
    )
    search = GridSearchCV(
        model,
        {"multitaskestimator__task_weights__value": [0.5, 2.0]},
        scoring={"auc": task_scorer("label", "roc_auc"), "r2": task_scorer("value")},
        refit="auc",
        cv=2,
    ).fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_auc"]).all()
    assert search.best_estimator_[-1].task_weights["value"] in (0.5, 2.0)
