"""Progressive Layered Extraction (PLE): stacked CGC levels."""

import numbers

from sklearn.utils._param_validation import Interval

from ._base import BaseArchitecture
from .cgc import build_extraction


class PLE(BaseArchitecture):
    """Progressive Layered Extraction: ``n_levels`` stacked CGC levels.

    Every level has ``n_task_experts`` experts per task and ``n_shared_experts``
    shared experts, as in :class:`CGC`. At level ``k``, task ``t``'s experts
    read task ``t``'s mixture from level ``k - 1`` and the shared experts read a
    *shared* mixture, made by an extra gate over all experts of level ``k - 1``.
    Task-specific and shared knowledge are thus separated progressively; the
    last level has no shared gate, and its per-task mixtures feed the heads.

    Parameters
    ----------
    n_levels : int, default=2
        Number of extraction levels ``L``; 1 is :class:`CGC`.
    n_shared_experts : int, default=2
        Shared experts per level, ``S``.
    n_task_experts : int, default=1
        Experts per task and level, ``K``.
    expert_hidden_sizes : tuple of int, default=None
        Hidden layers of each expert, at every level; the last size is the
        width of each level's output. None uses the estimator's
        ``hidden_layer_sizes``.

    Notes
    -----
    Parameter count of the body, with ``p`` input features, ``T`` tasks,
    ``d`` the last expert width, ``p_1 = p`` and ``p_k = d`` for ``k > 1``, and
    ``mlp(p, h)`` the weights and biases of an MLP with hidden sizes ``h``::

        sum_{k=1}^{L} (S + T * K) * mlp(p_k, h)      # experts
                    + T * (K + S) * p_k               # task gates
                    + [k < L] * (T * K + S) * p_k     # shared gates

    plus the heads.

    ``shared_parameters()`` are every parameter that reaches more than one
    task's output: the shared experts of every level, everything in levels
    ``1 .. L - 2`` (their task experts reach all tasks through the next shared
    gate), and at level ``L - 1`` everything except the task gates (each feeds
    only its own task at level ``L``). For ``L = 1`` this is :class:`CGC`'s.

    See Also
    --------
    CGC : A single level.
    MMoE : Only shared experts, one level.
    sklearn_mtl.inspection.gate_weights : Mean gate weight per gate and expert at
        a chosen level.

    References
    ----------
    .. [1] H. Tang et al., RecSys 2020: the paper of :class:`CGC`, whose
       section 4.3 stacks its levels into PLE.

    Examples
    --------
    >>> from sklearn_mtl.architectures import PLE
    >>> body = PLE(n_levels=2).build(5, ["a", "b"], hidden_layer_sizes=(8,),
    ...                              activation="relu", dropout=0.0)
    >>> len(body.levels), body.out_features
    (2, {'a': 8, 'b': 8})
    """

    _parameter_constraints = {
        "n_levels": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_shared_experts": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_task_experts": [Interval(numbers.Integral, 0, None, closed="left")],
        "expert_hidden_sizes": ["array-like", None],
    }

    def __init__(
        self, n_levels=2, *, n_shared_experts=2, n_task_experts=1, expert_hidden_sizes=None
    ):
        self.n_levels = n_levels
        self.n_shared_experts = n_shared_experts
        self.n_task_experts = n_task_experts
        self.expert_hidden_sizes = expert_hidden_sizes

    def build(self, n_features, task_names, *, hidden_layer_sizes, activation, dropout):
        return build_extraction(
            self, self.n_levels, n_features, task_names, hidden_layer_sizes, activation, dropout
        )
