"""Customized Gate Control (CGC): shared and task-specific experts."""

import numbers

import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import BaseArchitecture
from ._experts import ExpertBank, Gate, mix, resolve_sizes


class CGC(BaseArchitecture):
    """Customized Gate Control: shared experts plus experts owned by each task.

    Each task ``t`` has ``n_task_experts`` experts of its own; ``n_shared_experts``
    experts are read by every task. Task ``t``'s gate mixes only its own and the
    shared experts,

    .. math:: f_t(x) = \\sum_{e \\in E_t \\cup E_s} g_t(x)_e \\, e(x), \\qquad
              g_t(x) = \\mathrm{softmax}(W_t x),

    so a task cannot be disturbed by another task's private experts (the
    "seesaw" effect MMoE suffers from on weakly related tasks). CGC is one
    extraction level of :class:`PLE`.

    Parameters
    ----------
    n_shared_experts : int, default=2
        Experts read by every task, ``S``.
    n_task_experts : int, default=1
        Experts owned by each task, ``K`` (0 makes CGC an MMoE with ``S`` experts).
    expert_hidden_sizes : tuple of int, default=None
        Hidden layers of every expert, shared or task-owned (None: the
        estimator's ``hidden_layer_sizes``); the last is the heads' input width.

    Notes
    -----
    With ``p`` input features, ``T`` tasks and ``mlp(p, h)`` the weights and
    biases of an MLP with hidden sizes ``h``, the body has::

        (S + T * K) * mlp(p, h) + T * (K + S) * p

    (experts, then bias-free gates), plus the heads.

    ``shared_parameters()`` are the shared experts'; task experts and gates
    are each read by one task and count as task parameters.

    See Also
    --------
    MMoE : Only shared experts.
    PLE : Several CGC levels.
    sklearn_mtl.inspection.gate_weights : Mean gate weight per task and expert on
        given data (a task gives weight 0 to other tasks' experts).

    References
    ----------
    .. [1] H. Tang, J. Liu, M. Zhao, X. Gong, "Progressive Layered Extraction
       (PLE): A Novel Multi-Task Learning (MTL) Model for Personalized
       Recommendations", RecSys 2020.

    Examples
    --------
    >>> from sklearn_mtl.architectures import CGC
    >>> body = CGC(n_shared_experts=2, n_task_experts=1).build(
    ...     5, ["a", "b"], hidden_layer_sizes=(8,), activation="relu", dropout=0.0)
    >>> body.out_features
    {'a': 8, 'b': 8}
    >>> sum(p.numel() for p in body.parameters())  # (2 + 2) * (5*8 + 8) + 2 * 3 * 5
    222
    """

    _parameter_constraints = {
        "n_shared_experts": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_task_experts": [Interval(numbers.Integral, 0, None, closed="left")],
        "expert_hidden_sizes": ["array-like", None],
    }

    def __init__(self, n_shared_experts=2, *, n_task_experts=1, expert_hidden_sizes=None):
        self.n_shared_experts = n_shared_experts
        self.n_task_experts = n_task_experts
        self.expert_hidden_sizes = expert_hidden_sizes

    def build(self, n_features, task_names, *, hidden_layer_sizes, activation, dropout):
        return build_extraction(
            self, 1, n_features, task_names, hidden_layer_sizes, activation, dropout
        )


def build_extraction(architecture, n_levels, n_features, task_names, sizes, activation, dropout):
    """The :class:`ExtractionNetwork` of a CGC (one level) or PLE ``architecture``.

    ``sizes`` are the estimator's ``hidden_layer_sizes``, used when the
    architecture's ``expert_hidden_sizes`` is None.
    """
    return ExtractionNetwork(
        n_features,
        task_names,
        n_levels=n_levels,
        n_shared_experts=architecture.n_shared_experts,
        n_task_experts=architecture.n_task_experts,
        sizes=resolve_sizes(architecture, "expert_hidden_sizes", sizes),
        activation=activation,
        dropout=dropout,
    )


class ExtractionLevel(nn.Module):
    """One CGC level: task and shared expert banks, task gates, optional shared gate.

    ``forward(task_inputs, shared_input)`` takes one input per task (or one
    tensor read by all at the first level) and the shared branch's input, and
    returns the per-task mixtures and the shared gate's mixture (None without
    a shared gate).
    """

    def __init__(self, n_inputs, task_names, n_task, n_shared, sizes, activation, dropout, *, gate):
        super().__init__()
        n_tasks = len(task_names)
        self.n_task, self.n_shared, self.n_tasks = n_task, n_shared, n_tasks
        # One bank per task, so that a private expert's parameters are separate
        # tensors that only that task reaches (see shared_parameters).
        self.task_experts = nn.ModuleList(
            ExpertBank(n_task, n_inputs, sizes, activation, dropout)
            for _ in (task_names if n_task else ())
        )
        self.shared_experts = ExpertBank(n_shared, n_inputs, sizes, activation, dropout)
        self.task_gates = nn.ModuleList(Gate(n_inputs, n_task + n_shared) for _ in task_names)
        self.shared_gate = Gate(n_inputs, n_tasks * n_task + n_shared) if gate else None
        self.out_features = self.shared_experts.out_features
        self.expert_names = [f"{name}/{i}" for name in task_names for i in range(n_task)] + [
            f"shared/{i}" for i in range(n_shared)
        ]

    def _experts(self, task_inputs, shared_input):
        """Each task's experts' outputs (a list) and the shared experts' outputs."""
        task_out = [
            bank(self._task_input(task_inputs, t)) for t, bank in enumerate(self.task_experts)
        ]
        return task_out, self.shared_experts(shared_input)

    def _task_pool(self, t, task_out, shared):
        return torch.cat([task_out[t], shared]) if task_out else shared

    def _task_input(self, task_inputs, t):
        return task_inputs if isinstance(task_inputs, torch.Tensor) else task_inputs[t]

    def forward(self, task_inputs, shared_input):
        task_out, shared = self._experts(task_inputs, shared_input)
        outputs = [
            mix(gate(self._task_input(task_inputs, t)), self._task_pool(t, task_out, shared))
            for t, gate in enumerate(self.task_gates)
        ]
        if self.shared_gate is None:
            return outputs, None
        pool = torch.cat([*task_out, shared])
        return outputs, mix(self.shared_gate(shared_input), pool)

    def gate_weights(self, task_inputs, shared_input, task_names):
        """``{gate: (batch, n_experts_in_level)}``, 0 for experts a gate cannot see."""
        n_private = self.n_tasks * self.n_task
        weights = {}
        for t, (name, gate) in enumerate(zip(task_names, self.task_gates)):
            g = gate(self._task_input(task_inputs, t))
            full = g.new_zeros(g.shape[0], n_private + self.n_shared)
            full[:, t * self.n_task : (t + 1) * self.n_task] = g[:, : self.n_task]
            full[:, n_private:] = g[:, self.n_task :]
            weights[name] = full
        if self.shared_gate is not None:
            weights[SHARED_GATE] = self.shared_gate(shared_input)
        return weights


#: Row name of the shared gate of a non-final PLE level in ``gate_weights``.
SHARED_GATE = "(shared)"


class ExtractionNetwork(nn.Module):
    """``n_levels`` extraction levels; every level but the last has a shared gate.

    Shared parameters, by which tasks' outputs they reach: the shared experts
    of every level; everything in levels before the last two (the shared gate
    mixes every task's experts into the next level's shared input); at the
    second-to-last level everything but the task gates (each feeds only its own
    task at the last level). Without task experts, no task gate is shared at
    any level.
    """

    def __init__(
        self,
        n_features,
        task_names,
        *,
        n_levels,
        n_shared_experts,
        n_task_experts,
        sizes,
        activation,
        dropout,
    ):
        super().__init__()
        self.task_names = list(task_names)
        levels, n_inputs = [], n_features
        for k in range(n_levels):
            level = ExtractionLevel(
                n_inputs,
                self.task_names,
                n_task_experts,
                n_shared_experts,
                sizes,
                activation,
                dropout,
                gate=k < n_levels - 1,
            )
            levels.append(level)
            n_inputs = level.out_features
        self.levels = nn.ModuleList(levels)
        self.out_features = dict.fromkeys(self.task_names, n_inputs)

    def forward(self, x):
        task_inputs, shared_input = x, x
        for level in self.levels:
            task_inputs, shared_input = level(task_inputs, shared_input)
        return dict(zip(self.task_names, task_inputs))

    def gate_weights(self, x):
        """Per level: expert names and ``{gate: (batch, n_experts)}`` gate weights."""
        task_inputs, shared_input, result = x, x, []
        for level in self.levels:
            weights = level.gate_weights(task_inputs, shared_input, self.task_names)
            result.append((level.expert_names, weights))
            task_inputs, shared_input = level(task_inputs, shared_input)
        return result

    def shared_parameters(self):
        *early, last = self.levels
        parameters = []
        for k, level in enumerate(early):
            # A task gate's output reaches other tasks only through that task's experts at
            # the next level, which the next shared gate mixes; without task experts it
            # feeds its own task alone.
            if k < len(early) - 1 and level.n_task > 0:
                parameters += level.parameters()
            else:
                task_gates = {id(p) for p in level.task_gates.parameters()}
                parameters += [p for p in level.parameters() if id(p) not in task_gates]
        return parameters + list(last.shared_experts.parameters())
