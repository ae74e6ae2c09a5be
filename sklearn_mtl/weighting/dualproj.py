"""Projection of the average gradient onto the dual cone (Quinton & Rey, 2024)."""

import torch
from torchjd import aggregation

from ._base import GradientWeighting
from ._solvers import NNLSProjector


class DualProjWeighting(GradientWeighting):
    """Project the average gradient onto the cone that conflicts with no task.

    DualProj averages the task gradients and projects the average onto the
    dual cone of all the gradients, ``{d : g_t . d >= 0 for every t}``: the
    closest update to the average that decreases no task's loss to first
    order (the projection of Gradient Episodic Memory, applied to tasks).
    It is the average itself when no task conflicts with it. The weights
    come from torchjd's ``DualProjWeighting`` on the Gram matrix; the
    projection is solved exactly by non-negative least squares
    (:class:`~sklearn_mtl.weighting._solvers.NNLSProjector`).

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        Each gradient's coefficient in the update at the last step, times
        the number of active tasks (1 each when the average conflicts with
        no task).

    See Also
    --------
    UPGradWeighting : Projects each gradient, then averages.
    MGDAWeighting : The min-norm common descent direction.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix
    and one non-negative least-squares problem in ``n_tasks`` variables on
    the CPU, plus one backward pass for the heads.

    The user's ``task_weights`` scale the gradients before the projection
    (equivalently, they weight the average that is projected), so the update
    still conflicts with no task.

    References
    ----------
    .. [1] P. Quinton, V. Rey, "Jacobian Descent for Multi-Objective
       Optimization", arXiv:2406.16232, 2024.
    .. [2] D. Lopez-Paz, M. Ranzato, "Gradient Episodic Memory for Continual
       Learning", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting import DualProjWeighting
    >>> g = np.array([[1.0, 0.0], [-2.0, 1.0]])  # the average conflicts with g_0
    >>> weights = DualProjWeighting().weigh(g @ g.T, np.ones(2), np.arange(2))
    >>> (g @ (weights @ g)).round(6)
    array([0., 1.])
    """

    non_conflicting = True

    def weigh(self, gram, losses, active):
        weighting = aggregation.DualProjWeighting(projector=NNLSProjector())
        return len(gram) * weighting(torch.from_numpy(gram)).numpy()
