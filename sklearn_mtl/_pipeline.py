"""Reaching the MultiTaskEstimator at the end of a (nested) Pipeline."""

from sklearn.utils.validation import check_is_fitted

from ._estimator import MultiTaskEstimator

_EXPECTED = "Expected a MultiTaskEstimator or a Pipeline whose last step is one"


def split_final_estimator(estimator, *, expected=_EXPECTED):
    """The preprocessing steps, the MultiTaskEstimator and its parameter prefix.

    Accepts a :class:`MultiTaskEstimator` or a Pipeline (possibly nested) whose
    last step is one. Returns ``(preprocessors, final, prefix)``: the Pipeline
    slices before the estimator, outermost first (empty for a bare estimator),
    the estimator, and the ``set_params`` prefix of its parameters (``""`` or
    ``"<step>__"``). Anything else raises a ``TypeError`` whose message starts
    with ``expected``.
    """
    preprocessors, prefix, current = [], "", estimator
    while not isinstance(current, MultiTaskEstimator):
        steps = getattr(current, "steps", None)
        if not steps:
            raise TypeError(f"{expected}; got {type(estimator).__name__}.")
        name, last = steps[-1]
        if len(steps) > 1:
            preprocessors.append(current[:-1])
        prefix += f"{name}__"
        current = last
    return preprocessors, current, prefix


def fitted_final_estimator(estimator):
    """The preprocessing steps and the fitted MultiTaskEstimator of ``estimator``.

    Raises ``NotFittedError`` when the estimator is not fitted.
    """
    preprocessors, final, _ = split_final_estimator(estimator)
    check_is_fitted(final)
    return preprocessors, final


def transform(preprocessors, X):
    """``X`` through fitted preprocessing steps, in order."""
    for step in preprocessors:
        X = step.transform(X)
    return X
