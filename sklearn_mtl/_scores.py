"""Each task's default score (accuracy, R^2, D^2...) over the rows labelled for it.

:meth:`MultiTaskEstimator.score_tasks` is :func:`default_scores`; the per-task
views of :mod:`sklearn_mtl._task_view` and ``task_scorer(task)`` score through
it too, so that every default score skips missing labels and reads sample
weights alike.
"""

import torch
from sklearn.utils.validation import check_is_fitted

from ._encoding import labelled_rows
from ._row_weights import task_sample_weights
from ._targets import check_fitted_tasks, check_n_samples, read_targets


def default_scores(estimator, X, Y, sample_weight=None):
    """Task -> default score of the fitted ``estimator`` on the tasks of ``Y``.

    ``sample_weight`` takes every form ``fit`` takes (1-D, one column per task
    of ``Y``, a DataFrame or a dict); rows whose label for a task is missing
    are left out of that task's score, their weights with them.
    """
    check_is_fitted(estimator)
    targets = read_targets(Y)
    check_fitted_tasks(targets.names, estimator.tasks_)
    outputs = estimator._outputs(X)
    check_n_samples(len(next(iter(outputs.values()))), targets)
    weights = task_sample_weights(sample_weight, X, targets.names)
    scores = {}
    for j, name in enumerate(targets.names):
        column = None if weights is None else weights[:, j]
        task = estimator._task_types[name]
        rows = labelled_rows(targets, name, task, estimator._encodings[name], column)
        y_pred = estimator._decode(name, outputs[name][torch.from_numpy(rows.mask)])
        scores[name] = float(task.score(rows.y_true, y_pred, sample_weight=rows.sample_weight))
    return scores
