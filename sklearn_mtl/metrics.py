"""Scoring one task of a multi-task model.

scikit-learn's scorers take ``(estimator, X, y)`` with one target. A
multi-task model has several, some with missing labels; :func:`task_scorer`
adapts any scikit-learn scorer to one task of it.
"""

import numpy as np
from sklearn.metrics import get_scorer
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from ._pipeline import split_final_estimator
from ._task_view import for_task
from ._tasks import check_fitted_tasks, read_targets, scored_rows

__all__ = ["task_scorer"]


class _TaskScorer:
    """Score one task with a scikit-learn scorer; see :func:`task_scorer`."""

    def __init__(self, task, scorer):
        self.task = task
        self.scorer = scorer

    def __call__(self, estimator, X, Y, sample_weight=None):
        check_is_fitted(estimator)
        _, model, _ = split_final_estimator(
            estimator,
            expected=f"task_scorer({self.task!r}) scores a MultiTaskEstimator, alone or as "
            "the last step of a Pipeline",
        )
        targets = read_targets(Y)
        if self.task not in targets.names:
            raise ValueError(
                f"task_scorer: task {self.task!r} is not in the targets; targets have "
                f"tasks {targets.names}."
            )
        check_fitted_tasks([self.task], model.tasks_, where=f"task_scorer({self.task!r}) has")
        task = model._predictor.tasks[self.task]
        self._check_response(task)
        ((_, rows),) = scored_rows(targets, X, sample_weight, model._predictor.tasks, [self.task])
        indices, y_true, weights = np.flatnonzero(rows.mask), rows.y_true, rows.sample_weight
        if task.two_dimensional and not isinstance(self.scorer, _DefaultScore):
            # scikit-learn's multilabel metrics take complete rows of 0/1 labels.
            complete = ~np.isnan(y_true).any(axis=1)
            indices, y_true = indices[complete], y_true[complete].astype(np.int64)
            weights = None if weights is None else weights[complete]
        kwargs = {} if weights is None else {"sample_weight": weights}
        return self.scorer(
            for_task(estimator, self.task), _safe_indexing(X, indices), y_true, **kwargs
        )

    def _check_response(self, task):
        response = getattr(self.scorer, "_response_method", "predict")
        methods = (response,) if isinstance(response, str) else tuple(response)
        if not task.is_classifier and "predict" not in methods:
            raise ValueError(
                f"task_scorer: task {self.task!r} is a {task.type_name} task, but the scorer "
                f"{self.scorer!r} needs {' or '.join(methods)}; use a regression scorer "
                "such as 'r2' or 'neg_mean_squared_error'."
            )

    def __repr__(self):
        return f"task_scorer({self.task!r}, {self.scorer!r})"


def task_scorer(task, scoring=None):
    """A scorer that scores one task of a :class:`MultiTaskEstimator`.

    Rows whose label for ``task`` is missing are skipped. The result works
    wherever scikit-learn takes a scorer: ``GridSearchCV(scoring=...)``
    (alone or in a multi-metric dict with ``refit=``), ``cross_validate``,
    ``permutation_importance``, on the estimator alone or on a ``Pipeline``
    whose last step it is.

    Parameters
    ----------
    task : str
        Name of the task to score.
    scoring : str or callable, default=None
        Any scikit-learn scorer name (``"roc_auc"``, ``"neg_log_loss"``,
        ``"r2"``...) or a scorer callable ``scorer(estimator, X, y)``. None
        means the task's default score (accuracy or R^2).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, Y, sample_weight=None) -> float``, where ``Y``
        is any target container ``fit`` accepts and ``sample_weight`` any
        form ``fit`` takes (1-D, one column per task of ``Y``, a DataFrame
        or a dict task -> weights); the task's own weights are used.

    Raises
    ------
    ValueError
        When called: for a task that is not in ``Y`` or was not fitted, for a
        class label the task never saw in fit, or for a scorer that needs
        probabilities on a regression task.

    See Also
    --------
    sklearn.metrics.get_scorer : The scorers available by name.
    sklearn.metrics.make_scorer : Make a scorer from a metric function.
    MultiTaskEstimator.score_tasks : Every task's default score at once.
    for_task : The single-task view the scorer scores.

    Notes
    -----
    The scorer hands the wrapped scikit-learn scorer the view
    ``for_task(estimator, task)``, which predicts only ``task`` (labels,
    probabilities, logits as decision function), and the labelled rows of
    ``X`` and ``Y[task]``, with the task's sample weights restricted to them.
    For a multilabel task, a scikit-learn scorer gets the rows with every
    label present (as 0/1 ints); the default score uses every labelled cell.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MultiTaskEstimator, task_scorer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> Y = {"pos": X[:, 0] > 0, "val": X[:, 1]}
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=5,
    ...                          random_state=0).fit(X, Y)
    >>> 0.0 <= task_scorer("pos", "roc_auc")(est, X, Y) <= 1.0
    True
    >>> Y["val"][:10] = np.nan  # unlabelled rows are skipped
    >>> bool(np.isfinite(task_scorer("val", "r2")(est, X, Y)))
    True
    """
    if scoring is None:
        scorer = _DefaultScore()
    elif isinstance(scoring, str):
        scorer = get_scorer(scoring)
    elif callable(scoring):
        scorer = scoring
    else:
        raise TypeError(
            f"scoring must be None, a scorer name or a callable; got {type(scoring).__name__}."
        )
    return _TaskScorer(task, scorer)


class _DefaultScore:
    def __call__(self, view, X, y, sample_weight=None):
        return view.score(X, y, sample_weight=sample_weight)

    def __repr__(self):
        return "default score"
