"""Multi-gate Mixture-of-Experts (MMoE)."""

import numbers

from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import BaseArchitecture
from ._experts import ExpertBank, Gate, mix, resolve_sizes


class MMoE(BaseArchitecture):
    """Multi-gate Mixture-of-Experts: shared experts, one softmax gate per task.

    Every task reads its own mixture of the same ``n_experts`` expert MLPs,

    .. math:: f_t(x) = \\sum_{i=1}^{E} g_t(x)_i \\, e_i(x), \\qquad
              g_t(x) = \\mathrm{softmax}(W_t x),

    so tasks that are related can use the same experts and tasks that are not
    can use different ones. With one expert it is hard parameter sharing.
    The gates are inspectable after fit with
    :func:`~sklearn_mtl.inspection.gate_weights`.

    Parameters
    ----------
    n_experts : int, default=4
        Number of experts ``E``.
    expert_hidden_sizes : tuple of int, default=None
        Hidden layers of each expert; its last size is the width each task's
        head reads. None uses the estimator's ``hidden_layer_sizes``.

    Notes
    -----
    Parameter count of the body, with ``p`` input features, ``T`` tasks and
    ``mlp(p, h)`` the weights and biases of an MLP with hidden sizes ``h``
    (``sum_k h_{k-1} h_k + h_k`` with ``h_0 = p``)::

        E * mlp(p, h) + T * E * p

    (experts, then bias-free gates), plus the heads.

    ``shared_parameters()`` are the experts': every task reads every expert.
    Each gate is read by one task only, so gates count as task parameters for
    gradient-level weighting strategies.

    Cost per step: ``E`` expert MLPs (run as one batched product) and ``T``
    small gates; about ``E`` times the cost of a shared trunk of the same
    expert size.

    See Also
    --------
    CGC : Adds experts that belong to one task.
    PLE : Stacks CGC levels.
    sklearn_mtl.inspection.gate_weights : Mean gate weight per task and expert on
        given data.

    References
    ----------
    .. [1] J. Ma, Z. Zhao, X. Yi, J. Chen, L. Hong, E. H. Chi, "Modeling Task
       Relationships in Multi-task Learning with Multi-gate Mixture-of-Experts",
       KDD 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.architectures import MMoE
    >>> from sklearn_mtl.datasets import make_multitask
    >>> from sklearn_mtl.inspection import gate_weights
    >>> X, Y = make_multitask(300, 6, 2, correlation=0.2, random_state=0)
    >>> est = MultiTaskEstimator(architecture=MMoE(n_experts=3), hidden_layer_sizes=(8,),
    ...                          max_epochs=2, random_state=0).fit(X, Y)
    >>> gates = gate_weights(est, X)
    >>> gates.shape
    (2, 3)
    >>> np.allclose(gates.sum(axis=1), 1.0)
    True
    """

    _parameter_constraints = {
        "n_experts": [Interval(numbers.Integral, 1, None, closed="left")],
        "expert_hidden_sizes": ["array-like", None],
    }

    def __init__(self, n_experts=4, *, expert_hidden_sizes=None):
        self.n_experts = n_experts
        self.expert_hidden_sizes = expert_hidden_sizes

    def build(self, n_features, task_names, *, hidden_layer_sizes, activation, dropout):
        sizes = resolve_sizes(self, "expert_hidden_sizes", hidden_layer_sizes)
        return _MMoEBody(n_features, task_names, self.n_experts, sizes, activation, dropout)


class _MMoEBody(nn.Module):
    def __init__(self, n_features, task_names, n_experts, sizes, activation, dropout):
        super().__init__()
        self.task_names = list(task_names)
        self.experts = ExpertBank(n_experts, n_features, sizes, activation, dropout)
        self.gates = nn.ModuleList(Gate(n_features, n_experts) for _ in self.task_names)
        self.out_features = dict.fromkeys(self.task_names, self.experts.out_features)
        self.expert_names = [f"expert_{i}" for i in range(n_experts)]

    def forward(self, x):
        experts = self.experts(x)
        return {name: mix(gate(x), experts) for name, gate in zip(self.task_names, self.gates)}

    def gate_weights(self, x):
        """One level: expert names and ``{task: (batch, n_experts)}`` gate weights."""
        return [(self.expert_names, {n: g(x) for n, g in zip(self.task_names, self.gates)})]

    def shared_parameters(self):
        return list(self.experts.parameters())
