"""Synthetic multi-task problems with a controlled task relationship."""

import numbers

import numpy as np

from .._targets import TargetDict


def make_multitask(
    n_samples=1000,
    n_features=20,
    n_tasks=2,
    task_types=None,
    correlation=0.5,
    noise=0.1,
    n_sinusoids=10,
    n_classes=3,
    random_state=None,
):
    """Generate tasks whose relatedness is set by one number, as in MMoE §4.1.

    Following Ma et al. (2018), each task ``t`` has a weight vector ``w_t`` and

    .. math:: y_t = w_t^T x + \\sum_{i=1}^{m} \\sin(\\alpha_i w_t^T x + \\beta_i) + \\epsilon

    with ``x ~ N(0, I)``, ``epsilon ~ N(0, noise^2)`` and ``m = n_sinusoids``.
    The weight vectors are built from orthonormal vectors ``u_0, ..., u_T`` as
    ``w_t = sqrt(c) u_0 + sqrt(1 - c) u_t``, so that every pair of tasks has
    cosine similarity exactly ``c = correlation`` (the paper's construction,
    extended to more than two tasks). Classification tasks threshold the
    regression value at its median (binary) or bin it into ``n_classes``
    quantiles (multiclass).

    Parameters
    ----------
    n_samples : int, default=1000
    n_features : int, default=20
        Must exceed ``n_tasks``.
    n_tasks : int, default=2
    task_types : list of {"regression", "binary", "multiclass"}, default=None
        One per task; None means all regression.
    correlation : float in [0, 1], default=0.5
        Cosine similarity between the tasks' weight vectors.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to each task.
    n_sinusoids : int, default=10
        Number of sinusoids in the non-linear part.
    n_classes : int, default=3
        Classes of multiclass tasks.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    Y : TargetDict
        Tasks ``task_0``, ``task_1``, ...; classification labels are ints.

    References
    ----------
    .. [1] J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong, E. H. Chi, "Modeling Task
       Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
       KDD 2018.

    Examples
    --------
    >>> from sklearn_mtl.datasets import make_multitask
    >>> X, Y = make_multitask(200, 8, 3, ["regression", "binary", "multiclass"],
    ...                       correlation=0.9, random_state=0)
    >>> X.shape, Y.shape
    ((200, 8), (200, 3))
    """
    rng = (
        np.random.RandomState(random_state)
        if not isinstance(random_state, np.random.RandomState)
        else random_state
    )
    task_types = ["regression"] * n_tasks if task_types is None else list(task_types)
    if len(task_types) != n_tasks:
        raise ValueError(f"task_types has {len(task_types)} entries for {n_tasks} tasks.")
    if not isinstance(n_features, numbers.Integral) or n_features <= n_tasks:
        raise ValueError(
            f"n_features={n_features} must exceed n_tasks={n_tasks} to build "
            "task vectors with the requested correlation."
        )
    if not 0 <= correlation <= 1:
        raise ValueError(f"correlation must lie in [0, 1]; got {correlation}.")
    basis, _ = np.linalg.qr(rng.normal(size=(n_features, n_tasks + 1)))
    weights = np.sqrt(correlation) * basis[:, :1] + np.sqrt(1 - correlation) * basis[:, 1:]
    alphas, betas = rng.normal(size=n_sinusoids), rng.normal(size=n_sinusoids)
    X = rng.normal(size=(n_samples, n_features))
    Y = TargetDict()
    for t, kind in enumerate(task_types):
        linear = X @ weights[:, t]
        value = linear + np.sin(np.outer(linear, alphas) + betas).sum(axis=1)
        value = value + noise * rng.normal(size=n_samples)
        if kind == "regression":
            label = value
        elif kind == "binary":
            label = (value > np.median(value)).astype(int)
        elif kind == "multiclass":
            edges = np.quantile(value, np.linspace(0, 1, n_classes + 1)[1:-1])
            label = np.searchsorted(edges, value)
        else:
            raise ValueError(f"Unknown task type {kind!r}.")
        Y[f"task_{t}"] = label
    return X, Y
