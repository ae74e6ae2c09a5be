"""Does multi-task learning help each task? Cross-validated comparison with single-task fits."""

import numbers

import numpy as np
import pandas as pd
import tqdm
from sklearn.base import clone
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.utils.parallel import Parallel, delayed

from .._pipeline import split_final_estimator, transform
from .._tasks import TASK_TYPES, TargetDict, read_targets, task_folds
from ..metrics import task_scorer

#: Verdicts of :func:`compare_single_task`.
HELPS, HURTS, UNCLEAR = "helps", "hurts", "no clear difference"

#: The job of the grouped clone, besides the multi-task one (None) and single tasks.
GROUPED = object()


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix"],
        "Y": ["array-like", dict],
        "cv": ["cv_object"],
        "scoring": [None, str, callable, dict],
        "threshold": [Interval(numbers.Real, 0, None, closed="left")],
        "task_groups": [None, StrOptions({"auto"}), list, tuple],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def compare_single_task(
    estimator,
    X,
    Y,
    cv=5,
    scoring=None,
    *,
    threshold=2.0,
    task_groups=None,
    n_jobs=None,
    verbose=0,
):
    """Cross-validate a multi-task model against the same model trained on each task alone.

    For every fold of ``cv`` the function fits a clone of ``estimator`` on all
    tasks, and for every task a clone with the same parameters trained on that
    task only (on the training rows labelled for it). Both are scored on the
    fold's test rows labelled for the task. The per-fold difference
    ``multi_task - single_task`` is paired (same rows, same parameters), so its
    spread across folds says whether the difference is larger than the noise.

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        A :class:`~sklearn_mtl.MultiTaskEstimator`, or a Pipeline whose last
        step is one (e.g. a ColumnTransformer followed by the estimator). It is
        cloned, never fitted in place. In the single-task clones ``tasks``,
        ``losses`` and a ``class_weight`` dict keep only the task's own entry
        and ``task_weights`` is reset to None (one task's weight only rescales
        its loss).

    X : array-like or DataFrame of shape (n_samples, n_features)
        Features, as ``estimator.fit`` takes them.

    Y : dict, TargetDict, DataFrame or ndarray
        Targets of every task, in any container ``MultiTaskEstimator.fit``
        accepts. Missing labels are left out of that task's training and score.

    cv : int, cross-validation generator or iterable, default=5
        Determines the folds, as in :func:`sklearn.model_selection.cross_validate`:
        an int is the number of folds of a ``StratifiedKFold`` when ``Y`` holds
        a single classification task (as scikit-learn does for a classifier),
        else of an unshuffled ``KFold``. Pass
        ``KFold(n_splits, shuffle=True, random_state=0)`` to shuffle.

    scoring : None, str, callable or dict, default=None
        How each task is scored, through :func:`sklearn_mtl.task_scorer`: None
        for each task's default score (accuracy or R^2), a scorer name or
        callable for every task, or a dict task -> name / callable (tasks not
        in it get their default score). Higher must be better, as for every
        scikit-learn scorer.

    threshold : float, default=2.0
        Number of standard errors the mean difference must exceed for a verdict
        other than "no clear difference" (see Notes).

    task_groups : list of list of str or "auto", default=None
        Also compare a grouping of the tasks: per fold, a clone with this
        ``task_groups`` (see :class:`~sklearn_mtl.MultiTaskEstimator`), while
        the multi-task clone then shares every task (``task_groups=None``).
        Adds the columns ``grouped`` (mean test score), ``grouped_difference``
        and ``grouped_difference_se`` (per fold, grouped minus the better on
        average of ``multi_task`` and ``single_task``) and ``grouped_verdict``
        (the same rule); ``comparison.attrs["groups"]`` holds each fold's
        partition.

    n_jobs : int, default=None
        Number of fits run in parallel (``(1 + n_tasks) * n_folds`` fits in
        all, one more per fold with ``task_groups``). None means 1 unless in a
        :func:`joblib.parallel_backend` context.

    verbose : int, default=0
        If positive, one progress line (tqdm, on stderr) over all the fits,
        advanced as each fit is scored, with the time elapsed and left. Each
        fit's own line comes from the estimator's ``verbose``; keep that at 0
        with this one on.

    Returns
    -------
    comparison : pandas.DataFrame
        One row per task (index ``task``) with columns ``metric``,
        ``multi_task`` and ``single_task`` (mean test scores over the folds),
        ``difference`` (their mean per-fold difference), ``difference_std``
        (its standard deviation across folds), ``difference_se`` (its standard
        error, ``std / sqrt(n_folds)``) and ``verdict``: ``"helps"``,
        ``"hurts"`` or ``"no clear difference"``. The per-fold scores are in
        ``comparison.attrs["fold_scores"]``: task -> ``{"multi_task": [...],
        "single_task": [...]}``.

    See Also
    --------
    task_affinity : Which tasks' gradients agree on the shared parameters.
    lookahead_affinity : How a step on one task changes another's held-out loss.
    sklearn.model_selection.cross_validate : Cross-validation of one model.

    Notes
    -----
    The verdict rule: with ``d_k`` the difference in fold ``k`` of ``K``,
    ``mean = mean(d_k)`` and ``se = std(d_k, ddof=1) / sqrt(K)``, the verdict is
    "helps" if ``mean > threshold * se``, "hurts" if ``mean < -threshold * se``
    and "no clear difference" otherwise. This is a paired t-like statistic
    ``|mean| / se > threshold``. Cross-validation folds share training rows, so
    their differences are positively correlated and ``se`` is optimistic
    (Nadeau and Bengio, 2003); with few folds a t quantile is also larger than
    2 (4.30 at 95% for 3 folds). Read "helps" and "hurts" as "worth a closer
    look", raise ``threshold`` or the number of folds for firmer conclusions,
    and fix ``random_state`` so that both models start from comparable
    initialisations.

    The cost is ``1 + n_tasks`` fits per fold; single-task fits are cheaper
    (they see fewer labelled rows when labels are missing).

    References
    ----------
    .. [1] C. Nadeau and Y. Bengio, "Inference for the Generalization Error",
       Machine Learning 52, 239-281, 2003.
    .. [2] R. Caruana, "Multitask Learning", Machine Learning 28, 41-75, 1997.

    Examples
    --------
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.datasets import make_multitask
    >>> from sklearn_mtl.inspection import compare_single_task
    >>> X, Y = make_multitask(200, 5, 2, correlation=0.9, random_state=0)
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(16,), max_epochs=5,
    ...                          random_state=0)
    >>> table = compare_single_task(est, X, Y, cv=2)
    >>> list(table.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['metric', 'multi_task', 'single_task', 'difference', 'difference_std',
     'difference_se', 'verdict']
    >>> list(table.index)
    ['task_0', 'task_1']
    """
    _, final, prefix = split_final_estimator(estimator)
    targets = read_targets(Y)
    names = targets.names
    labels = TargetDict({name: column for name, column in zip(names, targets.columns)})
    labelled = {name: ~targets.unlabelled(i) for i, name in enumerate(names)}
    scorers = _task_scorers(scoring, names)
    folds = task_folds(cv, X, targets, final.tasks)
    if len(folds) < 2:
        raise ValueError(
            f"cv gives {len(folds)} fold; compare_single_task needs at least 2 to "
            "measure the spread of the difference."
        )

    jobs = []
    for train, test in folds:
        jobs.append((None, train, test))
        for name in names:
            jobs.append((name, train[labelled[name][train]], test))
        if task_groups is not None:
            jobs.append((GROUPED, train, test))
    models = {None: clone(estimator)}
    if task_groups is not None:
        models[None].set_params(**{prefix + "task_groups": None})
        models[GROUPED] = clone(estimator).set_params(**{prefix + "task_groups": task_groups})
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_and_score)(
            clone(models[task])
            if task in models
            else _single_task_clone(estimator, final, prefix, task),
            X,
            labels,
            train,
            test,
            scorers,
            names if task in models else [task],
        )
        for task, train, test in jobs
    )
    if verbose:
        results = tqdm.tqdm(results, desc="compare_single_task", total=len(jobs), unit="fit")
    results = list(results)

    per_fold = {name: {"multi_task": [], "single_task": []} for name in names}
    task_types, groups = {}, []
    for (task, _, _), (scores, types, fold_groups) in zip(jobs, results):
        key = {None: "multi_task", GROUPED: "grouped"}.get(task, "single_task")
        for name, score in scores.items():
            per_fold[name].setdefault(key, []).append(score)
        task_types.update(types)
        if task == GROUPED:
            groups.append(fold_groups)
    rows = []
    for name in names:
        multi = np.asarray(per_fold[name]["multi_task"])
        single = np.asarray(per_fold[name]["single_task"])
        mean, std, se, verdict = _paired(multi - single, threshold)
        row = {
            "task": name,
            "metric": _metric_name(scorers[name], task_types[name]),
            "multi_task": float(multi.mean()),
            "single_task": float(single.mean()),
            "difference": mean,
            "difference_std": std,
            "difference_se": se,
            "verdict": verdict,
        }
        if task_groups is not None:
            grouped = np.asarray(per_fold[name]["grouped"])
            better = multi if multi.mean() >= single.mean() else single
            g_mean, _, g_se, g_verdict = _paired(grouped - better, threshold)
            row.update(
                grouped=float(grouped.mean()),
                grouped_difference=g_mean,
                grouped_difference_se=g_se,
                grouped_verdict=g_verdict,
            )
        rows.append(row)
    comparison = pd.DataFrame(rows).set_index("task")
    if task_groups is not None:
        comparison.attrs["groups"] = groups
    comparison.attrs["fold_scores"] = {
        name: {key: [float(s) for s in values] for key, values in scores.items()}
        for name, scores in per_fold.items()
    }
    return comparison


def _paired(diff, threshold):
    """Mean, standard deviation, standard error and verdict of per-fold differences."""
    std = float(diff.std(ddof=1))
    se = std / np.sqrt(len(diff))
    mean = float(diff.mean())
    if mean > threshold * se:
        return mean, std, se, HELPS
    if mean < -threshold * se:
        return mean, std, se, HURTS
    return mean, std, se, UNCLEAR


def _task_scorers(scoring, names):
    """Task -> scoring (None, a name or a callable) for :func:`task_scorer`."""
    if isinstance(scoring, dict):
        unknown = [key for key in scoring if key not in names]
        if unknown:
            raise ValueError(f"scoring has keys {unknown} that are not tasks; tasks are {names}.")
        return {name: scoring.get(name) for name in names}
    return dict.fromkeys(names, scoring)


def _metric_name(scoring, task_type):
    if scoring is None:
        return TASK_TYPES[task_type].score_name
    if isinstance(scoring, str):
        return scoring
    return getattr(scoring, "__name__", None) or repr(scoring)


def _single_task_clone(estimator, final, prefix, task):
    """A clone of ``estimator`` whose multi-task step learns ``task`` only.

    Its per-task parameters (``tasks``, ``losses``, a ``class_weight`` dict)
    keep only ``task``'s entry; ``task_weights`` and ``task_groups`` are reset.
    """
    params = {f"{prefix}task_weights": None, f"{prefix}task_groups": None}
    for name in ("tasks", "losses", "class_weight"):
        value = getattr(final, name)
        if isinstance(value, dict):
            params[prefix + name] = {task: value[task]} if task in value else None
    return clone(estimator).set_params(**params)


def _fit_and_score(model, X, Y, train, test, scorers, names):
    """Fit ``model`` on the train rows of tasks ``names``; score each on the test rows."""
    Y_train = TargetDict({name: _safe_indexing(Y[name], train) for name in names})
    model.fit(_safe_indexing(X, train), Y_train)
    preprocessors, final, _ = split_final_estimator(model)
    X_test = transform(preprocessors, _safe_indexing(X, test))
    Y_test = Y.take(test)
    scores = {name: task_scorer(name, scorers[name])(final, X_test, Y_test) for name in names}
    return scores, {name: final.tasks_[name] for name in names}, final.task_groups_
