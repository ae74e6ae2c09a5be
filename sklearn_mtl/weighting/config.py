"""ConFIG: conflict-free gradients (Liu et al., 2025)."""

import numpy as np

from ._base import GradientWeighting


class ConFIGWeighting(GradientWeighting):
    """Move along the direction that makes the same angle with every task's gradient.

    ConFIG takes the unit vectors ``u_t = g_t / |g_t|`` and the direction
    ``v = U^+ w`` (``U`` has the rows ``u_t``, ``w`` the task weights), which
    has the same positive projection on every ``u_t`` (for linearly
    independent gradients): a conflict-free direction whatever the
    gradients' sizes. The update goes along ``v`` with the length
    ``sum_t g_t . v / |v|``, the summed progress of the tasks.

    torchjd's ``ConFIG`` aggregates the gradients themselves; here the same
    update is computed from the Gram matrix ``G`` alone, so it fits the
    per-task-gradient machinery of the other strategies: with
    ``D = diag(1 / |g_t|)``, ``c = D (D G D)^+ w`` gives ``v = J^T c``, and
    the update is ``(1^T G c / c^T G c) J^T c``.

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        Each gradient's coefficient in the update at the last step (1 each
        for orthogonal gradients of equal norm).

    See Also
    --------
    IMTLWeighting : Equal projections on every task's direction, another
        scale-invariant direction.
    UPGradWeighting : Conflict-free by projection.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix
    and the pseudo-inverse of an ``n_tasks x n_tasks`` matrix on the CPU,
    plus one backward pass for the heads. The paper's momentum variant
    (M-ConFIG, one task per step) is not implemented.

    The user's ``task_weights`` are ConFIG's weight vector ``w`` (equal
    weights give equal angles). A coefficient may be negative
    (``negative_weights``) while the update still conflicts with no task.

    References
    ----------
    .. [1] Q. Liu, M. Chu, N. Thuerey, "ConFIG: Towards Conflict-free
       Training of Physics Informed Neural Networks", ICLR 2025.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklearn_mtl.weighting import ConFIGWeighting
    >>> s = ConFIGWeighting().initialize(["a", "b"], torch.ones(2), "cpu")
    >>> g = np.array([[1.0, 0.0], [-1.0, 1.0]])
    >>> d = s.weigh(g @ g.T, np.ones(2), np.arange(2)) @ g
    >>> (g @ d / np.linalg.norm(g, axis=1)).round(4)  # equal projections on u_0, u_1
    array([0.3536, 0.3536])
    """

    negative_weights = True

    task_weights_enter = "preference"

    def weigh(self, gram, losses, active):
        inverse_norms = 1 / np.sqrt(np.diag(gram))
        cosines = gram * np.outer(inverse_norms, inverse_norms)
        direction = inverse_norms * (np.linalg.pinv(cosines) @ self.base_weights_cpu_[active])
        squared_norm = direction @ gram @ direction
        if not squared_norm > 0:
            return np.zeros(len(gram))
        return (gram @ direction).sum() / squared_norm * direction
