"""Gradient Vaccine (Wang et al., 2021)."""

import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from ._base import GradientWeighting

_EPS = 1e-8


class GradVacWeighting(GradientWeighting):
    """Raise each pair of task gradients to the similarity they usually have.

    Gradient Vaccine generalises PCGrad: it keeps, for every ordered pair of
    tasks ``(i, j)``, a moving average ``phi_hat_ij`` of the cosine
    similarity of their gradients. At each step, for each task ``i`` and
    the other tasks ``j`` in a random order, when the (already corrected)
    gradient ``g_i`` has a cosine ``phi_ij`` below that target, a multiple
    of ``g_j`` is added to ``g_i`` that brings the cosine exactly to
    ``phi_hat_ij``; then ``phi_hat_ij <- (1 - beta) phi_hat_ij + beta phi_ij``.
    The shared parameters receive the sum of the corrected gradients. With
    targets at 0 this is PCGrad; positive targets also pull merely
    orthogonal gradients together.

    Every corrected gradient is a combination of the original ones, so the
    whole procedure runs on the ``n_tasks x n_tasks`` Gram matrix, as in
    torchjd's ``GradVacWeighting``. Unlike that class, the targets are kept
    for every pair of tasks and only the pairs present in a batch are read
    and updated, so a task without labels in some batches keeps its own.

    Parameters
    ----------
    beta : float, default=0.5
        Rate of the moving average of the similarities (the default of
        LibMTL's and torchjd's implementations).

    Attributes
    ----------
    target_similarity_ : numpy.ndarray of shape (n_tasks, n_tasks)
        The targets ``phi_hat`` (0 at the start of a fit).
    weights_ : torch.Tensor of shape (n_tasks,)
        Each original gradient's coefficient in the sum at the last step (1
        for every task when no correction was needed).

    See Also
    --------
    PCGradWeighting : The special case with targets at 0.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix
    and ``O(n_tasks^3)`` work on the CPU, plus one backward pass for the
    heads. The paper also applies the correction per layer; this is the
    whole-model variant (LibMTL's default).

    The user's ``task_weights`` scale the task gradients before the
    corrections. The random order uses torch's global generator, seeded by
    the estimator's ``random_state``.

    References
    ----------
    .. [1] Z. Wang, Y. Tsvetkov, O. Firat, Y. Cao, "Gradient Vaccine:
       Investigating and Improving Multi-task Optimization in Massively
       Multilingual Models", ICLR 2021.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_mtl.weighting import GradVacWeighting
    >>> s = GradVacWeighting().initialize(["a", "b"], torch.ones(2), "cpu")
    >>> g = np.array([[1.0, 0.0], [-1.0, 1.0]])  # conflicting: PCGrad's projection at first
    >>> s.weigh(g @ g.T, np.ones(2), np.arange(2)).round(4)
    array([2. , 1.5])
    """

    random_order = True

    _parameter_constraints = {"beta": [Interval(numbers.Real, 0, 1, closed="both")]}

    def __init__(self, beta=0.5):
        self.beta = beta

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        n_tasks = len(self.task_names_)
        self.target_similarity_ = np.zeros((n_tasks, n_tasks))
        return self

    def weigh(self, gram, losses, active):
        n = len(gram)
        targets = self.target_similarity_[np.ix_(active, active)]
        norms = np.sqrt(np.diag(gram))
        coefficients = np.eye(n)
        for i in range(n):
            others = [j for j in range(n) if j != i]
            for j in (others[k] for k in torch.randperm(len(others)).tolist()):
                dots = coefficients[i] @ gram
                norm = np.sqrt(max(dots @ coefficients[i], 0.0))
                cosine = dots[j] / (norm * norms[j] + _EPS)
                target = targets[i, j]
                if cosine < target:
                    sine, target_sine = np.sqrt(max(1 - cosine**2, 0.0)), np.sqrt(1 - target**2)
                    lift = norm * (target * sine - cosine * target_sine)
                    coefficients[i, j] += lift / (norms[j] * target_sine + _EPS)
                targets[i, j] = (1 - self.beta) * target + self.beta * cosine
        self.target_similarity_[np.ix_(active, active)] = targets
        return coefficients.sum(axis=0)
