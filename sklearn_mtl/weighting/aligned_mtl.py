"""Aligned-MTL: independent component alignment (Senushkin et al., 2023)."""

import torch
from sklearn.utils._param_validation import StrOptions
from torchjd import aggregation

from ._base import GradientWeighting


class AlignedMTLWeighting(GradientWeighting):
    """Align the task gradients into orthogonal components of equal size, then combine.

    Aligned-MTL looks at the system of task gradients ``J`` (one row per
    task) through its singular values: a large condition number means the
    tasks dominate or cancel each other. It replaces ``J`` by the nearest
    matrix whose non-zero singular values are all equal (to the smallest,
    by default), ``J B`` with ``B = sigma_min V Sigma^-1 V^T`` from the
    eigen-decomposition of the Gram matrix ``J J^T = V Sigma^2 V^T``, and
    takes the task-weighted sum of the aligned gradients: the update is
    ``J^T (B w)``. The weights are torchjd's ``AlignedMTLWeighting``.

    Parameters
    ----------
    scale_mode : {"min", "median", "rmse"}, default="min"
        Which singular value the aligned system keeps: the smallest (the
        paper's choice, and a stable step size), the median, or the root
        mean square (as in the authors' code).

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        Each gradient's coefficient in the update at the last step, times
        the number of active tasks (1 each for orthogonal gradients of equal
        norm).

    See Also
    --------
    IMTLWeighting : Equal projections on every task's direction.
    ConFIGWeighting : Equal angles with every task's direction.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram
    matrix and its ``n_tasks x n_tasks`` eigen-decomposition on the CPU,
    plus one backward pass for the heads.

    The user's ``task_weights`` are the ``w`` of the paper's algorithm, the
    weights of the aligned gradients. A coefficient may be negative
    (``negative_weights``): ``B`` mixes the tasks.

    References
    ----------
    .. [1] D. Senushkin, N. Patakin, A. Kuznetsov, A. Konushin, "Independent
       Component Alignment for Multi-Task Learning", CVPR 2023.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_mtl.weighting import AlignedMTLWeighting
    >>> s = AlignedMTLWeighting().initialize(["a", "b"], torch.ones(2), "cpu")
    >>> g = np.array([[3.0, 0.0], [0.0, 1.0]])  # orthogonal: both scaled to the smaller norm
    >>> s.weigh(g @ g.T, np.ones(2), np.arange(2)).round(4)
    array([0.3333, 1.    ])
    """

    negative_weights = True

    task_weights_enter = "preference"

    _parameter_constraints = {"scale_mode": [StrOptions({"min", "median", "rmse"})]}

    def __init__(self, scale_mode="min"):
        self.scale_mode = scale_mode

    def weigh(self, gram, losses, active):
        n = len(gram)
        preference = torch.from_numpy(self.base_weights_cpu_[active] / n)
        weighting = aggregation.AlignedMTLWeighting(preference, scale_mode=self.scale_mode)
        return n * weighting(torch.from_numpy(gram)).numpy()
