"""Random loss weighting (Lin et al., 2022)."""

import torch
from sklearn.utils._param_validation import StrOptions

from ._base import LossWeighting


class RLWWeighting(LossWeighting):
    """Draw fresh random task weights at every step.

    At each step the weights are ``T * softmax(z)`` with ``z ~ N(0, I)``: a
    random point of the simplex, scaled so that every task's expected weight
    is about 1. Lin et al. show this simple baseline matches many tuned
    strategies and escapes poor local minima by its randomness.

    Parameters
    ----------
    distribution : {"normal", "uniform", "dirichlet"}, default="normal"
        How the logits are drawn: ``softmax`` of standard normal or of
        ``U(0, 1)`` draws, or a flat Dirichlet draw of the weights themselves.

    Attributes
    ----------
    weights_ : torch.Tensor of shape (n_tasks,)
        The weights drawn at the last step.

    See Also
    --------
    StaticWeighting : Fixed weights.

    Notes
    -----
    Cost per step: one backward pass, as ``static``.

    The user's ``task_weights`` multiply the random weights. The draws come
    from torch's global generator, which the estimator seeds from
    ``random_state``, so fits are reproducible. A task absent from a batch
    receives its drawn weight times a loss of 0. The weights of one epoch are
    random, so only their expectation is equal for symmetric tasks.

    References
    ----------
    .. [1] B. Lin, F. Ye, Y. Zhang, I. W. Tsang, "Reasonable Effectiveness of
       Random Weighting: A Litmus Test for Multi-Task Learning", TMLR 2022.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import RLWWeighting
    >>> s = RLWWeighting().initialize(["a", "b", "c"], torch.ones(3), "cpu")
    >>> total, weights = s.combine(torch.ones(3), torch.ones(3, dtype=torch.bool))
    >>> round(float(weights.sum()), 4)
    3.0
    """

    stochastic = True

    _parameter_constraints = {
        "distribution": [StrOptions({"normal", "uniform", "dirichlet"})],
    }

    def __init__(self, distribution="normal"):
        self.distribution = distribution

    def combine(self, losses, present):
        n_tasks = losses.shape[0]
        device = losses.device
        if self.distribution == "normal":
            draw = torch.softmax(torch.randn(n_tasks, device=device), 0)
        elif self.distribution == "uniform":
            draw = torch.softmax(torch.rand(n_tasks, device=device), 0)
        else:
            draw = torch.distributions.Dirichlet(torch.ones(n_tasks, device=device)).sample()
        weights = self.base_weights_ * n_tasks * draw
        return (weights * losses).sum(), weights
