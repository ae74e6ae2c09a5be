"""Unconflicting projection of gradients (Quinton & Rey, 2024)."""

import torch
from torchjd import aggregation

from ._base import GradientWeighting
from ._solvers import NNLSProjector


class UPGradWeighting(GradientWeighting):
    """Project each task's gradient onto the cone that conflicts with no task, and average.

    UPGrad (Jacobian descent with the unconflicting projection of
    gradients) projects every task gradient ``g_i`` onto the dual cone of
    all the gradients, ``{d : g_t . d >= 0 for every t}``, and averages the
    projections. The update therefore decreases no task's loss to first
    order (``g_t . d >= 0``), it is the plain average when no pair of
    gradients conflicts, and it is non-zero unless the point is Pareto
    stationary. The weights come from torchjd's ``UPGradWeighting`` on the
    Gram matrix; each projection is a small quadratic program, solved
    exactly here by non-negative least squares
    (:class:`~sklearn_mtl.weighting._solvers.NNLSProjector`).

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        Each gradient's coefficient in the update at the last step, times
        the number of active tasks (1 each when no gradients conflict).

    See Also
    --------
    DualProjWeighting : Projects the average instead of each gradient.
    MGDAWeighting : The min-norm common descent direction.
    PCGradWeighting : Projects pairwise, with no joint guarantee.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix,
    and ``n_tasks`` non-negative least-squares problems in ``n_tasks``
    variables on the CPU (well under a millisecond at 10 tasks), plus one
    backward pass for the heads.

    The user's ``task_weights`` scale the gradients before the projections
    (equivalently, they are UPGrad's preference vector), so the update still
    conflicts with no task.

    References
    ----------
    .. [1] P. Quinton, V. Rey, "Jacobian Descent for Multi-Objective
       Optimization", arXiv:2406.16232, 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting import UPGradWeighting
    >>> g = np.array([[1.0, 0.0], [-1.0, 1.0]])  # conflicting: g_0 . g_1 = -1
    >>> weights = UPGradWeighting().weigh(g @ g.T, np.ones(2), np.arange(2))
    >>> weights
    array([2. , 1.5])
    >>> g @ (weights @ g)  # neither task's loss increases
    array([0.5, 1. ])
    """

    non_conflicting = True

    def weigh(self, gram, losses, active):
        weighting = aggregation.UPGradWeighting(projector=NNLSProjector())
        return len(gram) * weighting(torch.from_numpy(gram)).numpy()
