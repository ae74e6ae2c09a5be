"""Cross-validation folds where the package splits rows itself.

scikit-learn stratifies an int ``cv`` only for classifiers, and the estimator
is not one (its tasks may be regressions): :func:`task_folds` stratifies when
the targets hold a single classification task, as scikit-learn would for it.
"""

import numbers
import warnings

import numpy as np
from sklearn.model_selection import StratifiedKFold, check_cv

from ._resolve import resolve_tasks
from ._targets import labelled_values


def task_folds(cv, X, targets, declared=None, groups=None):
    """The ``(train, test)`` row indices of each fold of ``cv``.

    Parameters
    ----------
    cv : int, None, cross-validation generator or iterable
        As in :func:`sklearn.model_selection.cross_validate`. An int (None
        means 5) gives ``StratifiedKFold`` folds when ``targets`` hold one
        task and it is a classification task (declared in ``declared`` or
        inferred as in fit), stratified on its labels, missing labels being
        one more group; else unshuffled ``KFold`` folds. Anything else is
        used as given.
    X : array-like of shape (n_samples, n_features)
    targets : Targets
        The targets read by :func:`~sklearn_mtl._tasks.read_targets`.
    declared : dict or None
        The estimator's ``tasks`` parameter.
    groups : array-like of shape (n_samples,) or None
        Group labels, for a group splitter given as ``cv``.

    Returns
    -------
    folds : list of (ndarray, ndarray)
    """
    if (cv is None or isinstance(cv, numbers.Integral)) and len(targets.names) == 1:
        labels = _class_labels(targets, declared)
        if labels is not None:
            return list(StratifiedKFold(5 if cv is None else cv).split(X, labels))
    return list(check_cv(cv).split(X, None, groups))


def _class_labels(targets, declared):
    """Class codes of a single classification task, -1 where missing.

    None for a regression or count task, and for a multilabel one (whose rows
    have no single class to stratify on).
    """
    # Fit warns about doubtful types; these folds need only the type.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (task,) = resolve_tasks(targets, declared).values()
    if not task.is_classifier or task.two_dimensional:
        return None
    missing = targets.missing(0)
    values = labelled_values(targets.columns[0], missing, targets.names[0])
    codes = np.full(targets.n_samples, -1)
    codes[~missing] = np.unique(values, return_inverse=True)[1].ravel()
    return codes
