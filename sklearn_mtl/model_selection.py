"""Cross-validation over the tasks of a multi-task model.

:func:`sklearn.model_selection.cross_val_predict` stacks one array of
predictions per fold; a multi-task model predicts a container of tasks, and
its probabilities are a dict. :func:`cross_val_predict` gives the
out-of-fold predictions of every task, in the container ``fit`` was given.
"""

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, StrOptions, validate_params
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_samples

from ._pipeline import fitted_final_estimator, split_final_estimator, transform
from ._tasks import (
    TargetDict,
    check_n_samples,
    labelled_values,
    read_targets,
    resolve_tasks,
    task_folds,
    wrap_like,
)

__all__ = ["cross_val_predict"]


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix"],
        "Y": ["array-like", dict],
        "groups": ["array-like", None],
        "cv": ["cv_object"],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
        "params": [dict, None],
        "pre_dispatch": [numbers.Integral, str],
        "method": [StrOptions({"predict", "predict_proba"})],
    },
    prefer_skip_nested_validation=True,
)
def cross_val_predict(
    estimator,
    X,
    Y,
    *,
    groups=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    params=None,
    pre_dispatch="2*n_jobs",
    method="predict",
):
    """Out-of-fold predictions of every task of a multi-task model.

    Each row is predicted by a clone of ``estimator`` fitted on the folds
    that do not hold it, as :func:`sklearn.model_selection.cross_val_predict`
    does for one target. Rows whose labels are missing are predicted too: a
    missing label only keeps a row out of that task's training loss.

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        A :class:`~sklearn_mtl.MultiTaskEstimator`, or a Pipeline whose last
        step is one. It is cloned, never fitted in place.

    X : array-like or DataFrame of shape (n_samples, n_features)
        Features, as ``estimator.fit`` takes them.

    Y : dict, TargetDict, DataFrame or ndarray
        Targets of every task, in any container ``fit`` accepts.

    groups : array-like of shape (n_samples,), default=None
        Group labels for a group splitter (e.g.
        :class:`~sklearn.model_selection.GroupKFold`).

    cv : int, cross-validation generator or iterable, default=None
        The folds: None means 5, an int the number of folds, unshuffled
        ``KFold`` folds, or ``StratifiedKFold`` folds when ``Y`` holds a
        single classification task (as scikit-learn does for a classifier).
        Every row must be in exactly one test fold. A splitter that needs
        labels gets one task's through its splits:
        ``cv=list(StratifiedKFold(5).split(X, Y["task"]))``.

    n_jobs : int, default=None
        Number of folds fitted in parallel. None means 1 unless in a
        :func:`joblib.parallel_backend` context.

    verbose : int, default=0
        Verbosity of the parallel jobs.

    params : dict, default=None
        Parameters of ``estimator.fit``, such as ``sample_weight`` in any of
        its forms; arrays, DataFrames, ``TargetDict`` and dicts of arrays
        with one entry per row are restricted to each fold's training rows.

    pre_dispatch : int or str, default="2*n_jobs"
        Number of jobs dispatched at once, as in joblib.

    method : {"predict", "predict_proba"}, default="predict"
        ``"predict"``: labels of classification tasks and values of
        regression tasks. ``"predict_proba"``: class probabilities of the
        classification tasks.

    Returns
    -------
    predictions : dict, TargetDict, DataFrame or ndarray
        For ``"predict"``, the kind of container ``Y`` is, with one
        prediction per row of ``X`` for every task. For ``"predict_proba"``,
        a dict classification task -> array of shape (n_samples, n_classes),
        as ``predict_proba`` returns it (the array alone for a 1-D ``Y``).
        Its columns are the task's classes in the whole of ``Y``: a class
        missing from a fold's training rows gets probability 0 there, with a
        warning, as in scikit-learn.

    Raises
    ------
    ValueError
        For a ``cv`` whose test folds are not a partition of the rows, or
        ``"predict_proba"`` without a classification task.

    See Also
    --------
    sklearn.model_selection.cross_val_predict : The same for one target.
    sklearn_mtl.inspection.compare_single_task : Cross-validated scores of each
        task, multi-task against single-task.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MultiTaskEstimator, TargetDict
    >>> from sklearn_mtl.model_selection import cross_val_predict
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(120, 3))
    >>> Y = TargetDict(pos=X[:, 0] > 0, val=X[:, 1])
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=3,
    ...                          random_state=0)
    >>> Y_pred = cross_val_predict(est, X, Y, cv=3)
    >>> type(Y_pred).__name__, Y_pred.shape
    ('TargetDict', (120, 2))
    >>> cross_val_predict(est, X, Y, cv=3, method="predict_proba")["pos"].shape
    (120, 2)
    """
    _, final, _ = split_final_estimator(
        estimator,
        expected="cross_val_predict takes a MultiTaskEstimator, alone or as the last step "
        "of a Pipeline",
    )
    targets = read_targets(Y)
    n_samples = _num_samples(X)
    check_n_samples(n_samples, targets)
    rows_of_tasks = TargetDict(zip(targets.names, targets.columns))
    classes = _classes(targets, final.tasks) if method == "predict_proba" else None
    splits = task_folds(cv, X, targets, final.tasks, groups)
    test_rows = np.concatenate([test for _, test in splits])
    if len(test_rows) != n_samples or not np.array_equal(np.sort(test_rows), np.arange(n_samples)):
        raise ValueError(
            "cross_val_predict needs every row in exactly one test fold, but the test "
            "folds of cv are not a partition of the rows; use a splitter such as KFold, "
            "GroupKFold or StratifiedKFold (not ShuffleSplit or TimeSeriesSplit)."
        )
    folds = Parallel(n_jobs=n_jobs, verbose=verbose, pre_dispatch=pre_dispatch)(
        delayed(_fit_and_predict)(
            clone(estimator), X, rows_of_tasks, train, test, params or {}, classes
        )
        for train, test in splits
    )
    order = np.empty(n_samples, dtype=np.intp)
    order[test_rows] = np.arange(n_samples)
    names = list(folds[0])
    predictions = {name: np.concatenate([fold[name] for fold in folds])[order] for name in names}
    if method == "predict_proba":
        if targets.container == "array1d":
            return predictions[names[0]]
        return predictions
    return wrap_like(
        targets.container, targets.keys, targets.names, predictions, getattr(X, "index", None)
    )


def _classes(targets, declared):
    """Classification task -> its classes in the whole of ``targets``, as fit orders them.

    None for a multilabel task, whose every fold predicts every label. Raises
    before any fit when no task is a classification.
    """
    with warnings.catch_warnings():
        # The fits of the folds warn about the labels themselves.
        warnings.simplefilter("ignore")
        tasks = resolve_tasks(targets, declared)
    classes = {}
    for i, (name, task) in enumerate(tasks.items()):
        if task.is_classifier and task.two_dimensional:
            classes[name] = None
        elif task.is_classifier:
            labelled = labelled_values(targets.columns[i], targets.missing(i), name)
            classes[name] = task.fit(labelled, False).classes_
    if not classes:
        types = {name: task.type_name for name, task in tasks.items()}
        raise ValueError(
            "method='predict_proba' needs a classification task, but every task is a "
            f"regression: {types}. Use method='predict'."
        )
    return classes


def _fit_and_predict(model, X, Y, train, test, params, classes):
    """Fit ``model`` on the rows ``train``; predict the rows ``test`` (task -> array).

    ``classes`` is None for labels, or task -> the classes of the whole data for
    probabilities with one column per class of the whole data.
    """
    n_samples = _num_samples(X)
    fit_params = {key: _training_rows(value, train, n_samples) for key, value in params.items()}
    model.fit(_safe_indexing(X, train), Y.take(train), **fit_params)
    preprocessors, final = fitted_final_estimator(model)
    X_test = final._encode_X(transform(preprocessors, _safe_indexing(X, test)))
    if classes is None:
        return final._predictor.predictions(X_test)
    proba = final._predictor.probabilities(X_test)
    return {
        name: _all_classes(name, p, final.classes_[name], classes[name])
        for name, p in proba.items()
    }


def _all_classes(name, proba, fold_classes, classes):
    """``proba``'s columns spread to every class of the whole data, 0 for the others."""
    if classes is None or len(fold_classes) == len(classes):
        return proba
    warnings.warn(
        f"Task {name!r}: the training rows of a fold have {len(fold_classes)} of its "
        f"{len(classes)} classes; the others get probability 0 in that fold's "
        "predictions. Results may not be appropriate for your use case.",
        RuntimeWarning,
        stacklevel=2,
    )
    spread = np.zeros((len(proba), len(classes)), dtype=proba.dtype)
    spread[:, pd.Index(classes).get_indexer(fold_classes)] = proba
    return spread


def _training_rows(value, rows, n_samples):
    """``value`` restricted to ``rows`` when it has one entry per row, else as is.

    Unlike scikit-learn's cross-validation, a plain dict of per-row arrays
    (per-task sample weights) is restricted entry by entry.
    """
    if isinstance(value, dict) and not isinstance(value, TargetDict):
        return {key: _training_rows(entry, rows, n_samples) for key, entry in value.items()}
    shape = getattr(value, "shape", None)
    if shape is None and isinstance(value, list | tuple):
        shape = (len(value),)
    if shape and shape[0] == n_samples:
        return _safe_indexing(value, rows)
    return value
