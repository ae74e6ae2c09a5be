"""Folds of the package's own cross-validation (issue 18, case 13)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold, cross_val_score

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl._tasks import read_targets, task_folds
from sklearn_mtl.inspection import compare_single_task

N = 60
SORTED_CLASSES = np.repeat(["a", "b", "c"], N // 3)


def classes_per_training_fold(folds, labels):
    return [set(np.asarray(labels)[train]) for train, _ in folds]


@pytest.mark.parametrize("cv", [3, None])
def test_int_cv_stratifies_a_single_classification_task(cv):
    X = np.zeros((N, 2))
    folds = task_folds(cv, X, read_targets(SORTED_CLASSES))
    assert len(folds) == (5 if cv is None else cv)
    # Unstratified KFold would leave one class out of every training fold.
    assert all(seen == {"a", "b", "c"} for seen in classes_per_training_fold(folds, SORTED_CLASSES))
    tests = np.sort(np.concatenate([test for _, test in folds]))
    np.testing.assert_array_equal(tests, np.arange(N))


def test_missing_labels_are_one_more_stratum():
    labels = pd.Series(SORTED_CLASSES).where(np.arange(N) % 4 != 0)
    folds = task_folds(3, np.zeros((N, 1)), read_targets({"t": labels}))
    for _, test in folds:
        assert labels.iloc[test].isna().sum() == 5
        assert labels.iloc[test].value_counts().tolist() == [5, 5, 5]


def test_regressions_several_tasks_and_splitters_keep_kfold():
    X = np.zeros((N, 1))
    kfold = [test.tolist() for _, test in KFold(3).split(X)]
    for Y, declared in [
        (np.arange(N) / 7.0, None),
        (np.arange(N) % 3, {"task_0": "regression"}),
        (TargetDict(a=SORTED_CLASSES, b=np.arange(N) / 7.0), None),
    ]:
        folds = task_folds(3, X, read_targets(Y), declared)
        assert [test.tolist() for _, test in folds] == kfold
    splitter = KFold(4, shuffle=True, random_state=0)
    folds = task_folds(splitter, X, read_targets(SORTED_CLASSES))
    assert [t.tolist() for _, t in folds] == [t.tolist() for _, t in splitter.split(X)]


def test_compare_single_task_scores_a_sorted_classification_task():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(N, 3))
    X[:, 0] += np.repeat([0.0, 3.0, 6.0], N // 3)
    est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=30, lr=1e-2, random_state=0)
    table = compare_single_task(est, X, {"grade": SORTED_CLASSES}, cv=3)
    assert np.isfinite(table.loc["grade", ["multi_task", "single_task"]].astype(float)).all()
    assert table.loc["grade", "multi_task"] > 0.6
    # scikit-learn's own int cv is KFold for a non-classifier: out of the package's reach.
    with pytest.warns(UserWarning, match="Scoring failed"):
        scores = cross_val_score(est, X, SORTED_CLASSES, cv=3)
    assert np.isnan(scores).all()
