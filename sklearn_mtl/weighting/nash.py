"""Multi-task learning as a bargaining game (Navon et al., 2022)."""

import numpy as np

from ._base import GradientWeighting


class NashMTLWeighting(GradientWeighting):
    """Combine the task gradients by the Nash bargaining solution.

    Nash-MTL picks the update ``d = sum_t alpha_t g_t`` that maximises
    ``sum_t log(g_t . d)`` in a ball, whose solution satisfies
    ``(G G^T) alpha = 1 / alpha`` elementwise with ``alpha > 0``. That is the
    stationarity condition of the strictly convex problem
    ``min_alpha 1/2 alpha^T G G^T alpha - sum_t log alpha_t``, solved here
    by a damped Newton method (:func:`bargaining_weights`; no
    convex-programming dependency, and faster than SciPy's L-BFGS-B on this
    tiny problem). As in the
    authors' code, the Gram matrix is first divided by its Frobenius norm,
    which makes the update independent of the gradients' overall scale.

    Parameters
    ----------
    max_iter : int, default=50
        Newton iterations per step (warm-started from the last solution;
        a handful suffice).
    ridge : float, default=1e-6
        Added to the diagonal of the normalised Gram matrix so the problem
        has a solution when the gradients are linearly dependent.

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        The ``alpha`` in force at the last step.

    See Also
    --------
    IMTLWeighting : Impartial projections.
    MGDAWeighting : Min-norm combination.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix
    and a Newton solve in ``n_tasks`` variables on the CPU. The paper's
    cheaper variant that solves only every few steps is not implemented.

    ``alpha`` is scale-equivariant per task (doubling a task's gradient
    halves its ``alpha``), so the user's ``task_weights`` multiply ``alpha``
    after the solve instead of scaling the losses, where they would cancel.

    References
    ----------
    .. [1] A. Navon, A. Shamsian, I. Achituve, H. Maron, K. Kawaguchi,
       G. Chechik, E. Fetaya, "Multi-Task Learning as a Bargaining Game",
       ICML 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting import NashMTLWeighting
    >>> g = np.array([[1.0, 0.0], [0.0, 2.0]])  # orthogonal: alpha_t = 1 / |g_t|
    >>> alpha = NashMTLWeighting(ridge=0).weigh(g @ g.T, np.ones(2), np.arange(2))
    >>> (alpha[0] / alpha[1]).round(3)
    np.float64(2.0)
    """

    def __init__(self, max_iter=50, ridge=1e-6):
        self.max_iter = max_iter
        self.ridge = ridge

    def initialize(self, task_names, base_weights, device):
        self._check_param("max_iter", low=1)
        self._check_param("ridge", low=0)
        super().initialize(task_names, base_weights, device)
        self.alpha_ = np.ones(len(self.task_names_))
        return self

    def weigh(self, gram, losses, active):
        n = gram.shape[0]
        gram = gram / np.linalg.norm(gram) + self.ridge * np.eye(n)
        start = self.alpha_[active] if hasattr(self, "alpha_") else np.ones(n)
        alpha = bargaining_weights(gram, start, max_iter=self.max_iter)
        if hasattr(self, "alpha_"):
            self.alpha_[active] = alpha
        return alpha


def bargaining_weights(gram, start, max_iter=50, tol=1e-10):
    """Solve ``gram @ alpha = 1 / alpha`` with ``alpha > 0``.

    Damped Newton's method on the strictly convex
    ``f(alpha) = 1/2 alpha^T gram alpha - sum(log alpha)``, whose gradient
    vanishes exactly there; the step is halved until ``alpha`` stays positive
    and ``f`` decreases enough (Armijo). Converges in a few iterations; SciPy's
    L-BFGS-B solves the same problem but costs milliseconds per call.

    Parameters
    ----------
    gram : ndarray of shape (n, n)
        Positive definite Gram matrix.
    start : ndarray of shape (n,)
        Positive starting point (the previous step's solution).
    max_iter : int, default=50
    tol : float, default=1e-10
        Stop when the Newton decrement falls below it.

    Returns
    -------
    alpha : ndarray of shape (n,)
    """

    def objective(alpha):
        return 0.5 * alpha @ gram @ alpha - np.log(alpha).sum()

    alpha = np.clip(np.asarray(start, dtype=np.float64), 1e-3, None)
    for _ in range(max_iter):
        grad = gram @ alpha - 1.0 / alpha
        step = np.linalg.solve(gram + np.diag(1.0 / alpha**2), grad)
        decrement = grad @ step
        if decrement < tol:
            break
        size = 1.0
        while (alpha - size * step <= 0).any():
            size /= 2
        value = objective(alpha)
        while objective(alpha - size * step) > value - 1e-4 * size * decrement and size > 1e-12:
            size /= 2
        alpha = alpha - size * step
    return alpha
