"""Reaching the multi-task estimator inside a Pipeline."""

from .._estimator import MultiTaskEstimator


def split_final_estimator(estimator):
    """The preprocessing steps, the MultiTaskEstimator and its parameter prefix.

    Accepts a :class:`MultiTaskEstimator` or a Pipeline (possibly nested) whose
    last step is one. Returns ``(preprocessors, final, prefix)``: the Pipeline
    slices before the estimator, outermost first (empty for a bare estimator),
    the estimator, and the ``set_params`` prefix of its parameters (``""`` or
    ``"<step>__"``).
    """
    preprocessors, prefix, current = [], "", estimator
    while not isinstance(current, MultiTaskEstimator):
        steps = getattr(current, "steps", None)
        if not steps:
            raise TypeError(
                "Expected a MultiTaskEstimator or a Pipeline whose last step is one; "
                f"got {type(estimator).__name__}."
            )
        name, last = steps[-1]
        if len(steps) > 1:
            preprocessors.append(current[:-1])
        prefix += f"{name}__"
        current = last
    return preprocessors, current, prefix


def transform(preprocessors, X):
    """``X`` through fitted preprocessing steps, in order."""
    for step in preprocessors:
        X = step.transform(X)
    return X
