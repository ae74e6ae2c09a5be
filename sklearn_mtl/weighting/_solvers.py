"""Exact quadratic programs on the Gram matrix of the task gradients.

The weightings that promise never to increase a task's loss to first order
(MGDA, UPGrad, DualProj) rest on a small quadratic program over the Gram
matrix. Solved approximately (Frank-Wolfe, or a solver on a regularised Gram
matrix), they break that promise exactly where it matters: when gradients
nearly oppose and the right update is small. Both programs here are
non-negative least-squares problems once the Gram matrix is factored,
``G = L L^T``, and SciPy's active-set NNLS solves those exactly (to rounding),
with a merely semi-definite ``G``.
"""

import numpy as np
import torch
from scipy.optimize import nnls
from torchjd.linalg import DualConeProjector


def gram_factor(gram):
    """``L^T`` with ``L L^T = gram``, from its non-negative eigenvalues.

    The eigen-decomposition is of the cosine matrix ``D gram D`` (``D`` the
    inverse norms), whose entries lie in [-1, 1], and its columns are then
    scaled back: gradients whose norms differ by orders of magnitude keep
    their relative precision. A Gram matrix computed in floating point can
    have tiny negative eigenvalues; they are set to 0.

    Parameters
    ----------
    gram : ndarray of shape (n, n)

    Returns
    -------
    factor : ndarray of shape (n, n)
        Its columns play the role of the gradients: ``factor.T @ factor``
        equals ``gram`` up to rounding.
    """
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    cosines = gram * np.outer(inverse, inverse)
    values, vectors = np.linalg.eigh((cosines + cosines.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))).T * norms


def duplicate_groups(gram, rtol=1e-12):
    """Label each vector by the first one equal to it (itself if none).

    The programs below have many solutions when two tasks have the same
    gradient; solving them on one copy and sharing its weight equally keeps
    the weights symmetric in the tasks and permutation-equivariant.

    Parameters
    ----------
    gram : ndarray of shape (n, n)
    rtol : float, default=1e-12
        Vectors ``i`` and ``j`` are equal when ``|g_i - g_j|^2`` is at most
        ``rtol * (|g_i|^2 + |g_j|^2)``.

    Returns
    -------
    labels : ndarray of int, shape (n,)
    """
    norms = np.diag(gram)
    total = norms[:, None] + norms[None, :]
    same = total - 2 * gram <= rtol * total
    return same.argmax(axis=1)


def min_norm_weights(gram):
    """The point of the simplex minimising ``alpha^T gram alpha``, exactly.

    The min-norm point of the convex hull of the gradients (MGDA). With
    ``L^T`` from :func:`gram_factor`, it is ``u / sum(u)`` where ``u >= 0``
    minimises ``|L^T u|^2 + (sum(u) - 1)^2`` (Lawson & Hanson's reduction of
    least-distance programming to NNLS, ch. 23).

    Parameters
    ----------
    gram : ndarray of shape (n, n)
        Gram matrix of non-zero vectors.

    Returns
    -------
    alpha : ndarray of shape (n,)
        Non-negative, summing to 1. The combination ``d = sum_t alpha_t g_t``
        satisfies ``g_t . d >= |d|^2`` for every ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> min_norm_weights(g @ g.T).round(6)  # the point (0.8, 0.4) is closest to 0
    array([0.8, 0.2])
    """
    labels = duplicate_groups(gram)
    unique, counts = np.unique(labels, return_inverse=False, return_counts=True)
    gram = gram[np.ix_(unique, unique)]
    n = len(unique)
    system = np.vstack([gram_factor(gram / (np.trace(gram) / n)), np.ones((1, n))])
    target = np.zeros(n + 1)
    target[-1] = 1.0
    u = nnls(system, target)[0]
    alpha = u / u.sum() / counts
    return alpha[np.searchsorted(unique, labels)]


class NNLSProjector(DualConeProjector):
    """torchjd's dual-cone projection, solved exactly by NNLS.

    For each ``u``, the weights ``w`` of the projection of ``J^T u`` onto the
    dual cone of the rows of ``J`` solve ``min_v v^T G v`` subject to
    ``v >= u`` (Quinton & Rey, 2024, Proposition 1). With ``v = u + x`` and
    ``G = L L^T`` that is ``min_{x >= 0} |L^T x + L^T u|^2``. Unlike the
    quadprog projector (an optional dependency of torchjd), no regularisation
    of ``G`` is needed, so the result keeps ``g_t . (J^T w) >= 0`` for every
    task to rounding, also for gradients of very different norms.
    """

    def __call__(self, U, G):
        gram = G.detach().cpu().double().numpy()
        labels = duplicate_groups(gram)
        unique, groups, counts = np.unique(labels, return_inverse=True, return_counts=True)
        gram = gram[np.ix_(unique, unique)]
        factor = gram_factor(gram / max(np.trace(gram), 1e-300))
        # Equal tasks share one constraint: their weights' sum must reach the sum of their u.
        merge = np.zeros((len(labels), len(unique)))
        merge[np.arange(len(labels)), groups] = 1.0

        def project(u):
            merged = u @ merge
            return u + (nnls(factor, -factor @ merged)[0] / counts)[groups]

        weights = np.apply_along_axis(project, -1, U.detach().cpu().double().numpy())
        return torch.as_tensor(weights, dtype=G.dtype, device=G.device)

    def __repr__(self):
        return f"{type(self).__name__}()"


def alpha_fair_weights(gram, alpha, start=None, *, max_iter=50, ridge=0.0, tol=1e-10):
    """Solve ``gram @ x = x ** (-1 / alpha)`` with ``x > 0`` (Nash-MTL: ``alpha = 1``).

    The alpha-fair direction of FairGrad, whose ``alpha = 1`` case is
    Nash-MTL's bargaining solution. It is where the gradient of the strictly
    convex ``1/2 x^T gram x - sum_t psi(x_t)`` vanishes, with
    ``psi' = x^(-1/alpha)``; damped Newton's method finds it in a few steps
    (the step is halved until ``x`` stays positive and the objective
    decreases enough). The variables are rescaled by the gradients' norms,
    ``y_t = |g_t| x_t``, so that the Newton systems involve the cosine matrix
    (entries in [-1, 1]) however different the norms: SciPy's least squares
    from the uniform point, as in the authors' code, stops far from the
    solution when the norms differ by orders of magnitude.

    Parameters
    ----------
    gram : ndarray of shape (n, n)
        Gram matrix of non-zero gradients.
    alpha : float
        Fairness degree, > 0.
    start : ndarray of shape (n,) or None
        Positive starting point (the previous step's solution); None starts
        from the solution for orthogonal gradients.
    max_iter : int, default=50
    ridge : float, default=0.0
        Added to the diagonal of the cosine matrix, so that a solution exists
        when the gradients are linearly dependent (at a Pareto-stationary
        point there is none).
    tol : float, default=1e-10
        Stop when every equation holds to this relative accuracy.

    Returns
    -------
    x : ndarray of shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([[1.0, 0.0], [0.0, 2.0]])  # orthogonal: x_t = |g_t|^(-2 / (1 + alpha))
    >>> alpha_fair_weights(g @ g.T, 1.0).round(6)
    array([1. , 0.5])
    """
    norms = np.sqrt(np.diag(gram))
    cosines = gram / np.outer(norms, norms) + ridge * np.eye(len(norms))
    scale = norms ** ((1 - alpha) / alpha)
    exponent = -1 / alpha

    def objective(y):
        if alpha == 1:
            utility = np.log(y)
        else:
            utility = y ** (1 + exponent) / (1 + exponent)
        return 0.5 * y @ cosines @ y - scale @ utility

    y = scale ** (alpha / (1 + alpha)) if start is None else np.asarray(start) * norms
    for _ in range(max_iter):
        target = scale * y**exponent
        grad = cosines @ y - target
        if np.abs(grad / target).max() < tol:
            break
        hessian = cosines + np.diag(-exponent * target / y)
        step = np.linalg.solve(hessian, grad)
        decrement = grad @ step
        size = 1.0
        while (y - size * step <= 0).any():
            size /= 2
        value = objective(y)
        while objective(y - size * step) > value - 1e-4 * size * decrement and size > 1e-12:
            size /= 2
        y = y - size * step
    return y / norms
