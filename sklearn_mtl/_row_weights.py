"""Row weights: how much each row counts in each task's loss.

A row's weight in task ``t``'s loss is its ``sample_weight`` times the
``class_weight`` of its label for ``t``, and 0 where that label is missing, so
that the masked loss of :class:`~sklearn_mtl._network.MultiTaskLoss` averages
each task over its own labelled rows.
"""

import numbers

import numpy as np


def row_weights(encoded, sample_weight, class_weight):
    """The ``(n_samples, n_tasks)`` float32 row weights of one fit.

    Parameters
    ----------
    encoded : EncodedTargets
        The fit's encoded targets and labelled-entry mask.
    sample_weight : ndarray of shape (n_samples,)
        Validated sample weights.
    class_weight : None, "balanced" or dict
        The estimator's ``class_weight``.
    """
    with np.errstate(over="ignore"):  # overflow is reported below, naming the fix
        weights = encoded.mask * sample_weight[:, None]
        weights *= class_row_weights(
            class_weight, encoded.names, encoded.encodings, encoded.y, encoded.mask
        )
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
    return weights


def class_row_weights(class_weight, names, encodings, y, mask):
    """Per-row, per-task class weights, shape ``(n_samples, n_tasks)``.

    ``class_weight`` is ``None``, ``"balanced"`` (every classification task) or
    a dict task -> ``"balanced"`` or dict label -> weight. ``"balanced"`` gives
    class ``c`` the weight ``n / (n_classes * n_c)`` counted over the task's
    labelled rows only, as :func:`sklearn.utils.class_weight.compute_class_weight`
    does over all rows; a dict weighs the labels it names, others 1.0. Entries
    of unlabelled rows and of regression tasks are 1.0.
    """
    weights = np.ones(y.shape, dtype=np.float32)
    if class_weight is None:
        return weights
    classifiers = [name for name in names if encodings[name].classes is not None]
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
                    f"class_weight has a key {task!r}, a regression task; class weights "
                    f"apply to classification tasks only: {classifiers}."
                )
    for task, spec in specs.items():
        j = names.index(task)
        classes = encodings[task].classes
        codes = y[mask[:, j], j].astype(np.intp)
        if isinstance(spec, str) and spec == "balanced":
            counts = np.bincount(codes, minlength=len(classes)).astype(np.float64)
            # A class absent from the labelled rows weighs nothing, so any weight works.
            per_class = len(codes) / (len(classes) * np.maximum(counts, 1))
        elif isinstance(spec, dict):
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
        else:
            raise ValueError(
                f"class_weight[{task!r}] is {spec!r}; use 'balanced' or a dict label -> weight."
            )
        weights[mask[:, j], j] = per_class[codes]
    return weights


def _comparable(classes, label):
    """Whether ``label`` can equal an element of ``classes`` (str vs number)."""
    if classes.dtype.kind in "OUS":
        return True
    return isinstance(label, numbers.Number | np.bool_)
