"""Synthetic multi-task problems with a controlled task relationship."""

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from .._tasks import TargetDict

_TASK_TYPES = ("regression", "binary", "multiclass", "count", "ordinal", "multilabel")


def _cluster_coefficients(rng, n_features, clusters, correlation):
    """Unit vectors, one column per task: cosine ``correlation`` within a cluster, 0 across.

    Each cluster of ``clusters`` (sizes, in task order) gets its own block of
    an orthonormal basis, so tasks of different clusters are orthogonal.
    """
    basis, _ = np.linalg.qr(rng.normal(size=(n_features, sum(clusters) + len(clusters))))
    columns, start = [], 0
    for size in clusters:
        block = basis[:, start : start + size + 1]
        columns.append(_coefficients_in(block, size, correlation))
        start += size + 1
    return np.hstack(columns)


def _task_coefficients(rng, n_features, n_tasks, correlation):
    """Unit vectors, one column per task, with pairwise cosine ``correlation``.

    ``W = U M`` with ``U`` orthonormal of shape ``(n_features, n_tasks + 1)``
    and ``M^T M`` the target Gram matrix ``(1 - c) I + c 11^T``: a common
    direction ``u_0`` weighted ``sqrt(c)`` for ``c >= 0`` (MMoE's
    construction), and for ``c < 0`` the square root of the Gram matrix on the
    task directions.
    """
    basis, _ = np.linalg.qr(rng.normal(size=(n_features, n_tasks + 1)))
    return _coefficients_in(basis, n_tasks, correlation)


def _coefficients_in(basis, n_tasks, correlation):
    """``n_tasks`` unit vectors of pairwise cosine ``correlation`` in the span of ``basis``."""
    common = np.sqrt(max(correlation, 0.0))
    rest = (1 - correlation) * np.eye(n_tasks) + min(correlation, 0.0)
    values, vectors = np.linalg.eigh(rest)
    root = vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T
    return common * basis[:, :1] + basis[:, 1:] @ root


@validate_params(
    {
        "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_tasks": [Interval(numbers.Integral, 1, None, closed="left")],
        "task_types": ["array-like", None],
        # Its range depends on n_tasks: checked in the body.
        "correlation": [Interval(numbers.Real, None, None, closed="neither")],
        "noise": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_sinusoids": [Interval(numbers.Integral, 0, None, closed="left")],
        "n_classes": [Interval(numbers.Integral, 2, None, closed="left")],
        "coef": ["boolean"],
        "clusters": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def make_multitask(
    n_samples=1000,
    n_features=20,
    n_tasks=2,
    task_types=None,
    correlation=0.5,
    noise=0.1,
    random_state=None,
    *,
    n_sinusoids=10,
    n_classes=3,
    coef=False,
    clusters=None,
):
    """Generate tasks whose relatedness is set by one number, as in MMoE §4.1.

    Following Ma et al. (2018), each task ``t`` has a unit weight vector
    ``w_t`` and

    .. math:: y_t = w_t^T x + \\sum_{i=1}^{m} \\sin(\\alpha_i w_t^T x + \\beta_i) + \\epsilon_t

    with ``x ~ N(0, I)``, ``epsilon_t ~ N(0, noise^2)``, ``m = n_sinusoids`` and
    ``alpha_i, beta_i ~ N(0, 1)`` shared by the tasks. Every pair of weight
    vectors has cosine similarity exactly ``correlation``, which is therefore
    also the Pearson correlation of the linear parts ``w_t^T x`` (the paper's
    two-task construction ``w_2 = c u_1 + sqrt(1 - c^2) u_2``, extended to
    ``n_tasks``). The sinusoids make the tasks' relationship non-linear, so
    the targets themselves correlate less than ``correlation`` unless it is 1.

    Classification tasks threshold that value at its median (``"binary"``)
    or bin it at its quantiles into ``n_classes`` balanced classes
    (``"multiclass"``, and ``"ordinal"`` as an ordered pandas Categorical).
    A ``"count"`` task draws Poisson counts of rate ``exp(z / 2)``, ``z`` the
    standardised value; a ``"multilabel"`` task has ``n_classes`` 0/1 labels,
    label ``k`` being whether the value exceeds its ``(k + 1) / (n_classes +
    1)`` quantile.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=20
        Number of features; must exceed ``n_tasks``.
    n_tasks : int, default=2
        Number of tasks, named ``task_0``, ``task_1``, ...
    task_types : list of {"regression", "binary", "multiclass", "count", \
            "ordinal", "multilabel"}, default=None
        One per task; None means all regression.
    correlation : float, default=0.5
        Cosine similarity between every pair of task weight vectors, in
        ``[-1 / (n_tasks - 1), 1]`` (``[-1, 1]`` for two tasks; more tasks
        cannot all be pairwise more opposed than that).
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each task (the
        paper's ``N(0, 0.01)`` variance).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight vectors, the sinusoids, ``X`` and the noise.
    n_sinusoids : int, default=10
        Number of sinusoids ``m`` in the non-linear part (0 makes the tasks
        linear).
    n_classes : int, default=3
        Classes of multiclass and ordinal tasks, labels of multilabel tasks.
    coef : bool, default=False
        Also return the task weight vectors.
    clusters : list of int, default=None
        Sizes of clusters of related tasks, in task order, summing to
        ``n_tasks``: tasks of one cluster have pairwise cosine ``correlation``
        (which must then be at least 0), tasks of different clusters are
        orthogonal, hence unrelated in their linear parts. A cluster of one is
        a task unrelated to every other. None: one cluster of every task.
        ``n_features`` must be at least ``n_tasks + len(clusters)``.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    Y : TargetDict
        Tasks ``task_0``, ``task_1``, ...; classification labels are ints
        (an ordered Categorical Series of ints for ordinal tasks, a 2-D int
        array for multilabel tasks).
    coef : ndarray of shape (n_features, n_tasks)
        The unit weight vector of each task. Only returned if ``coef=True``.

    See Also
    --------
    sklearn.datasets.make_regression : One linear task.

    References
    ----------
    .. [1] The synthetic data of the MMoE paper (Ma et al., KDD 2018, section
       3.2): tasks whose weight vectors have a set cosine similarity.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.datasets import make_multitask
    >>> X, Y, w = make_multitask(200, 8, 3, ["regression", "binary", "multiclass"],
    ...                          correlation=0.9, random_state=0, coef=True)
    >>> X.shape, Y.shape
    ((200, 8), (200, 3))
    >>> np.round(w.T @ w, 2)
    array([[1. , 0.9, 0.9],
           [0.9, 1. , 0.9],
           [0.9, 0.9, 1. ]])
    """
    if n_features <= n_tasks:
        raise ValueError(
            f"n_features={n_features} must exceed n_tasks={n_tasks} to build "
            "task vectors with the requested correlation; add features or drop tasks."
        )
    task_types = ["regression"] * n_tasks if task_types is None else list(task_types)
    if len(task_types) != n_tasks:
        raise ValueError(
            f"task_types has {len(task_types)} entries for n_tasks={n_tasks}; give one per task."
        )
    unknown = [task_type for task_type in task_types if task_type not in _TASK_TYPES]
    if unknown:
        raise ValueError(f"Unknown task types {unknown}; use any of {list(_TASK_TYPES)}.")
    lowest = -1.0 / (n_tasks - 1) if n_tasks > 1 else -1.0
    if not lowest <= correlation <= 1:
        raise ValueError(
            f"correlation must lie in [{lowest:.3g}, 1] for {n_tasks} tasks; got "
            f"{correlation!r}. Below {lowest:.3g}, {n_tasks} vectors cannot all be that "
            "opposed pairwise."
        )
    rng = check_random_state(random_state)
    if clusters is None:
        weights = _task_coefficients(rng, n_features, n_tasks, float(correlation))
    else:
        weights = _cluster_coefficients(
            rng,
            n_features,
            _check_clusters(clusters, n_tasks, n_features, correlation),
            float(correlation),
        )
    alphas, betas = rng.normal(size=n_sinusoids), rng.normal(size=n_sinusoids)
    X = rng.normal(size=(n_samples, n_features))
    Y = TargetDict()
    for t, task_type in enumerate(task_types):
        linear = X @ weights[:, t]
        value = linear + np.sin(np.outer(linear, alphas) + betas).sum(axis=1)
        value = value + noise * rng.normal(size=n_samples)
        Y[f"task_{t}"] = _label(task_type, value, n_classes, rng)
    if coef:
        return X, Y, weights
    return X, Y


def _check_clusters(clusters, n_tasks, n_features, correlation):
    """``clusters`` as a list of positive ints; raise unless they fit the tasks."""
    sizes = [int(size) for size in clusters]
    if any(size < 1 for size in sizes) or sum(sizes) != n_tasks:
        raise ValueError(
            f"clusters={list(clusters)} must be positive sizes summing to n_tasks={n_tasks}, "
            f"e.g. clusters=[{n_tasks - 1}, 1]."
        )
    if n_features < n_tasks + len(sizes):
        raise ValueError(
            f"n_features={n_features} must be at least n_tasks + len(clusters) = "
            f"{n_tasks + len(sizes)} to make the clusters orthogonal; add features."
        )
    if correlation < 0:
        raise ValueError(
            f"correlation={correlation!r} must be at least 0 with clusters; tasks of "
            "different clusters are already unrelated."
        )
    return sizes


def _label(task_type, value, n_classes, rng):
    """The labels of a task of type ``task_type`` from its latent ``value``."""
    if task_type == "regression":
        return value
    if task_type == "binary":
        return (value > np.median(value)).astype(int)
    if task_type == "count":
        return rng.poisson(np.exp((value - value.mean()) / value.std() / 2))
    if task_type == "multilabel":
        edges = np.quantile(value, np.arange(1, n_classes + 1) / (n_classes + 1))
        return (value[:, None] > edges).astype(int)
    edges = np.quantile(value, np.linspace(0, 1, n_classes + 1)[1:-1])
    label = np.searchsorted(edges, value)
    if task_type == "ordinal":
        return pd.Series(pd.Categorical.from_codes(label, range(n_classes), ordered=True))
    return label
