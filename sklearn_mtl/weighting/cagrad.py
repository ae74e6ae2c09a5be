"""Conflict-averse gradient descent (Liu et al., 2021)."""

import numbers

import numpy as np
from scipy.optimize import minimize
from sklearn.utils._param_validation import Interval

from ._base import GradientWeighting


class CAGradWeighting(GradientWeighting):
    """Descend the average loss while raising the worst task's improvement.

    CAGrad looks, within a ball of radius ``c |g_0|`` around the average
    gradient ``g_0``, for the update ``d`` maximising the smallest
    per-task improvement ``min_t g_t . d``. Its dual is a problem on the
    simplex, ``min_w g_w . g_0 + c |g_0| |g_w|`` with ``g_w = sum_t w_t g_t``,
    solved here with SciPy's SLSQP on the Gram matrix; then
    ``d = g_0 + c |g_0| g_w / |g_w|``, divided by ``1 + c^2``.

    Parameters
    ----------
    c : float, default=0.5
        Radius of the ball, relative to ``|g_0|``: 0 gives plain averaging,
        large values approach MGDA.
    rescale : bool, default=True
        Divide the update by ``1 + c^2`` (the paper's default) so its scale
        does not grow with ``c``.

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        Each gradient's coefficient in ``n_tasks * d`` at the last step.

    See Also
    --------
    MGDAWeighting : The limit of large ``c``.
    PCGradWeighting : Projects conflicting pairs instead.

    Notes
    -----
    Cost per step: the per-task gradients of the shared parameters (one
    batched backward pass, ``n_tasks x n_shared`` floats), their Gram matrix
    and an SLSQP solve in ``n_tasks`` variables on the CPU.

    The update is reported as coefficients of the gradients times
    ``n_tasks`` (plain averaging gives 1 per task). The user's
    ``task_weights`` scale the task gradients before the solve (CAGrad on
    the weighted losses): scaling the coefficients afterwards would bring
    back the conflict the solve avoids. (torchjd's ``CAGradWeighting`` needs
    cvxpy; this SLSQP solve needs only SciPy.)

    References
    ----------
    .. [1] B. Liu, X. Liu, X. Jin, P. Stone, Q. Liu, "Conflict-Averse
       Gradient Descent for Multi-task Learning", NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl.weighting import CAGradWeighting
    >>> g = np.array([[1.0, 0.0], [0.0, 1.0]])  # orthogonal: d = 1.5 g_0 / (1 + c^2)
    >>> CAGradWeighting(c=0.5).weigh(g @ g.T, np.ones(2), np.arange(2)).round(4)
    array([1.2, 1.2])
    """

    _parameter_constraints = {
        "c": [Interval(numbers.Real, 0, None, closed="left")],
        "rescale": ["boolean"],
    }

    def __init__(self, c=0.5, rescale=True):
        self.c = c
        self.rescale = rescale

    def weigh(self, gram, losses, active):
        n = gram.shape[0]
        scale = np.trace(gram) / n
        gram = gram / scale  # the solve is scale invariant; keep it well conditioned
        radius = self.c * np.sqrt(max(gram.mean(), 0.0))
        g0_dot = gram.mean(axis=1)  # g_t . g_0

        def objective(w):
            norm = np.sqrt(max(w @ gram @ w, 0.0) + 1e-12)
            value = w @ g0_dot + radius * norm
            return value, g0_dot + radius * (gram @ w) / norm

        w = np.full(n, 1.0 / n)
        if radius > 0 and n > 1:
            w = minimize(
                objective,
                w,
                jac=True,
                method="SLSQP",
                bounds=[(0.0, 1.0)] * n,
                constraints={
                    "type": "eq",
                    "fun": lambda w: w.sum() - 1.0,
                    "jac": lambda w: np.ones(n),
                },
                options={"maxiter": 100},
            ).x
            w = np.clip(w, 0.0, None)
        norm = np.sqrt(max(w @ gram @ w, 0.0))
        lam = radius / norm if norm > 0 else 0.0
        coefficients = 1.0 / n + lam * w
        if self.rescale:
            coefficients /= 1 + self.c**2
        return n * coefficients

