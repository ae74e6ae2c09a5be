"""Projecting conflicting gradients (Yu et al., 2020)."""

import torch
from torchjd import aggregation

from ._base import GradientWeighting


class PCGradWeighting(GradientWeighting):
    """Remove the conflicting component of each task's gradient ("gradient surgery").

    For each task ``i``, in a random order over the other tasks ``j``: if
    ``g_i . g_j < 0``, project ``g_i`` onto the normal plane of ``g_j``,
    ``g_i <- g_i - (g_i . g_j / |g_j|^2) g_j``. The shared parameters then
    receive the sum of the projected gradients.

    Every projected gradient is a combination of the original ones, so the
    projections run on the ``n_tasks x n_tasks`` Gram matrix alone and the
    weights reported are each original gradient's coefficient in the sum
    (1 for every task when no pair conflicts, more than 1 for a task whose
    gradient was added back to remove a conflict).

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        The coefficients in force at the last step.

    See Also
    --------
    CAGradWeighting : Conflict-averse update around the average gradient.
    MGDAWeighting : The min-norm common descent direction.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix
    and ``O(n_tasks^3)`` work on the CPU; see :class:`GradientWeighting`.

    The user's ``task_weights`` scale the task gradients before the
    projections (PCGrad on the weighted losses): scaling the coefficients
    afterwards would bring back the conflict just removed. The projections
    are torchjd's ``PCGradWeighting``; the random order uses torch's global
    generator, seeded by the estimator's ``random_state``.

    References
    ----------
    .. [1] T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman, C. Finn,
       "Gradient Surgery for Multi-Task Learning", NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting import PCGradWeighting
    >>> g = np.array([[1.0, 0.0], [-1.0, 1.0]])  # conflicting: g_0 . g_1 = -1
    >>> PCGradWeighting().weigh(g @ g.T, np.ones(2), np.arange(2))
    array([2. , 1.5])
    """

    random_order = True

    def weigh(self, gram, losses, active):
        return aggregation.PCGradWeighting()(torch.from_numpy(gram)).numpy()
