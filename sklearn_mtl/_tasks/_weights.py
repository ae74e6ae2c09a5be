"""Row weights: how much each row counts in each task's loss.

A row's weight in task ``t``'s loss is its ``sample_weight`` for ``t`` times the
``class_weight`` of its label for ``t``, and 0 where that label is missing, with
the encoded targets' layout (a column per task, or per label of a multilabel task).
"""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.validation import _check_sample_weight, _num_samples


def task_sample_weights(sample_weight, X, names):
    """Sample weights per row and task, ``(n_samples, n_tasks)`` float32, or None.

    Parameters
    ----------
    sample_weight : None, float, array-like, DataFrame or dict
        None (returned as is); a number or a 1-D array of one weight per row
        (every task); a 2-D array with one column per task, in the order of
        ``names``; a DataFrame with task-named columns, or a dict (or
        ``TargetDict``) task -> 1-D weights, where tasks not named weigh 1.
    X : array-like
        The features, for the number of rows.
    names : list of str
        The tasks, in order.

    Raises
    ------
    ValueError
        For a wrong shape, a task that is not in ``names``, a weight that is
        negative, not finite or not a number, or weights that are all 0.
    """
    if sample_weight is None:
        return None
    n_samples = _num_samples(X)
    if isinstance(sample_weight, pd.DataFrame):
        sample_weight = {key: sample_weight[key] for key in sample_weight.columns}
    if isinstance(sample_weight, dict):
        weights = _weights_by_task(sample_weight, names, n_samples)
    else:
        if not isinstance(sample_weight, numbers.Number):
            sample_weight = np.asarray(sample_weight)
        if np.ndim(sample_weight) >= 2:
            weights = _weight_matrix(sample_weight, names, n_samples)
        else:
            column = _check_sample_weight(
                sample_weight, X, dtype=np.float32, ensure_non_negative=True
            )
            weights = np.repeat(column[:, None], len(names), axis=1)
    if not weights.any():
        raise ValueError(
            "sample_weight is 0 for every row and task, so no row would count; give "
            "some rows a positive weight."
        )
    return weights


def _weights_by_task(sample_weight, names, n_samples):
    """The matrix of a dict task -> 1-D weights; tasks not named weigh 1."""
    keys = {str(key): key for key in sample_weight}
    unknown = [key for key in keys if key not in names]
    if unknown:
        raise ValueError(f"sample_weight has keys {unknown} that are not tasks; tasks are {names}.")
    weights = np.ones((n_samples, len(names)), dtype=np.float32)
    for name, key in keys.items():
        values = sample_weight[key]
        shape = np.shape(values)
        if shape != (n_samples,):
            raise ValueError(
                f"sample_weight[{key!r}] has shape {shape}; expected ({n_samples},), one "
                "weight per row of X. A plain dict is not sliced by rows in "
                "cross-validation (GridSearchCV, cross_validate): pass a "
                "sklearn_mtl.TargetDict or a DataFrame of weights instead."
            )
        weights[:, names.index(name)] = _checked(values, f"sample_weight[{key!r}]")
    return weights


def _weight_matrix(sample_weight, names, n_samples):
    """The checked ``(n_samples, n_tasks)`` matrix given as an array of 2 or more dimensions."""
    shape = np.shape(sample_weight)
    if shape != (n_samples, len(names)):
        raise ValueError(
            f"sample_weight has shape {shape}; expected ({n_samples},) for one weight "
            f"per row, or ({n_samples}, {len(names)}) for one per row and task, "
            f"columns in the order of the tasks {names}."
        )
    return _checked(sample_weight, "sample_weight")


def _checked(values, what):
    """``values`` as float32 weights, raising unless finite, non-negative numbers."""
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"{what} has dtype {values.dtype}; sample weights must be numbers, without "
            "missing values."
        )
    with np.errstate(over="ignore"):  # too large for float32: reported below
        values = values.astype(np.float32)
    if not np.isfinite(values).all():
        raise ValueError(
            f"{what} has NaN or infinite values (or values beyond float32's range); "
            "sample weights must be finite."
        )
    if (values < 0).any():
        raise ValueError(f"{what} has negative values; sample weights must be non-negative.")
    return values


def row_weights(encoded, sample_weight, class_weight):
    """The ``(n_samples, n_columns)`` float32 row weights of one fit.

    Parameters
    ----------
    encoded : EncodedTargets
        The fit's encoded targets, labelled-entry mask and column layout.
    sample_weight : ndarray of shape (n_samples, n_tasks) or None
        Sample weights per row and task, from :func:`task_sample_weights`.
    class_weight : None, "balanced" or dict
        The estimator's ``class_weight``.
    """
    with np.errstate(over="ignore"):  # overflow is reported below, naming the fix
        weights = encoded.mask.astype(np.float64)
        if sample_weight is not None:
            # Each task's weights for each of its columns.
            owners = [
                j for j, s in enumerate(encoded.slices.values()) for _ in range(s.start, s.stop)
            ]
            weights *= sample_weight[:, owners]
        weights *= class_row_weights(class_weight, encoded)
        weights = weights.astype(np.float32)
    if not np.isfinite(weights).all():
        raise ValueError(
            "Some row weights (sample_weight times class_weight) are too large for "
            "dtype('float32'), which the network trains in; only their ratios matter, so "
            "divide sample_weight or class_weight by a common factor."
        )
    if not weights.any():
        raise ValueError(
            "Every labelled row has weight 0 (sample_weight times class_weight, in "
            "float32), so there is nothing to learn; give some rows a positive weight."
        )
    for name, columns in encoded.slices.items():
        if not weights[:, columns].any():
            # As scikit-learn refuses all-zero sample weights, and as a task without labels.
            raise ValueError(
                f"Task {name!r} has weight 0 on every labelled row (sample_weight times "
                "class_weight, in float32), so it would never be trained and would predict "
                "from its untrained head; give some of its labelled rows a positive weight, "
                "or drop the task."
            )
    return weights


def class_row_weights(class_weight, encoded):
    """Per-row, per-column class weights, of the shape of ``encoded.y``.

    ``class_weight`` is ``None``, ``"balanced"`` (every classification task) or
    a dict task -> ``"balanced"`` or dict label -> weight. ``"balanced"`` gives
    class ``c`` the weight ``n / (n_classes * n_c)`` counted over the task's
    labelled rows only, as :func:`sklearn.utils.class_weight.compute_class_weight`
    does over all rows; for a multilabel task it balances the 0s and 1s of each
    label. A dict weighs the labels it names, others 1.0. Entries of unlabelled
    rows and of regression and count tasks are 1.0.
    """
    names, tasks, y, mask = encoded.names, encoded.tasks, encoded.y, encoded.mask
    weights = np.ones(y.shape, dtype=np.float32)
    if class_weight is None:
        return weights
    classifiers = [name for name in names if tasks[name].is_classifier]
    if isinstance(class_weight, str):
        specs = dict.fromkeys(classifiers, class_weight)
    else:
        specs = dict(class_weight)
        for task in specs:
            if task not in names:
                raise ValueError(
                    f"class_weight has a key {task!r} that is not a task; tasks are {names}."
                )
            if task not in classifiers:
                raise ValueError(
                    f"class_weight has a key {task!r}, a {tasks[task].type_name} task; "
                    f"class weights apply to classification tasks only: {classifiers}."
                )
    for task, spec in specs.items():
        multilabel = tasks[task].two_dimensional
        classes = np.array([0, 1]) if multilabel else tasks[task].classes_
        if multilabel and isinstance(spec, dict):
            raise ValueError(
                f"class_weight[{task!r}] is a dict, but task {task!r} is multilabel; "
                "use 'balanced' (which balances the 0s and 1s of each label)."
            )
        for j in range(encoded.slices[task].start, encoded.slices[task].stop):
            codes = y[mask[:, j], j].astype(np.intp)
            weights[mask[:, j], j] = _per_class(task, spec, classes, codes)[codes]
    return weights


def _per_class(task, spec, classes, codes):
    """The weight of each class of ``task`` under ``spec``, given the labelled ``codes``."""
    if isinstance(spec, str) and spec == "balanced":
        counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
        # A class absent from the labelled rows weighs nothing, so any weight works.
        return len(codes) / (len(classes) * np.maximum(counts, 1))
    if not isinstance(spec, dict):
        raise ValueError(
            f"class_weight[{task!r}] is {spec!r}; use 'balanced' or a dict label -> weight."
        )
    per_class = np.ones(len(classes))
    for label, weight in spec.items():
        found = np.flatnonzero(classes == label) if _comparable(classes, label) else []
        if len(found) == 0:
            raise ValueError(
                f"class_weight[{task!r}] has a label {label!r} that is not a class "
                f"of task {task!r}; its classes are {classes.tolist()}."
            )
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not np.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(
                f"class_weight[{task!r}][{label!r}] is {weight!r}; class weights "
                "must be finite non-negative numbers."
            )
        per_class[found[0]] = float(weight)
    return per_class


def _comparable(classes, label):
    """Whether ``label`` can equal an element of ``classes`` (str vs number)."""
    if classes.dtype.kind in "OUS":
        return True
    return isinstance(label, numbers.Number | np.bool_)
