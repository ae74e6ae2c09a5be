"""Building blocks of the expert architectures: banks of parallel MLPs and gates.

Experts of one bank share their shape, so a bank keeps one weight tensor per
layer of shape ``(n_experts, n_in, n_out)`` and runs every expert in one batched
matrix product instead of a Python loop over small modules. The parameter count
is that of ``n_experts`` separate MLPs.
"""

import functools
import math
import numbers

import torch
from torch import nn

from .._nn import make_mlp


class BatchedLinear(nn.Module):
    """``n_models`` independent ``Linear(n_in, n_out)`` layers applied at once.

    ``forward`` takes one input ``(batch, n_in)`` read by every model, or one
    input per model ``(n_models, batch, n_in)``, and returns
    ``(n_models, batch, n_out)``. Initialised like ``nn.Linear``.
    """

    def __init__(self, n_models, n_in, n_out):
        super().__init__()
        bound = 1 / math.sqrt(n_in)
        self.weight = nn.Parameter(torch.empty(n_models, n_in, n_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_models, 1, n_out).uniform_(-bound, bound))

    def forward(self, x):
        if x.dim() == 2:
            return torch.einsum("bi,mio->mbo", x, self.weight) + self.bias
        return torch.baddbmm(self.bias, x, self.weight)


class ExpertBank(nn.Module):
    """``n_experts`` MLPs of the same shape, evaluated together.

    Parameters
    ----------
    n_experts : int
    n_inputs : int
    hidden_sizes : tuple of int
        Non-empty; the last size is the width of each expert's output.
    activation : str
    dropout : float

    ``forward(x)`` maps ``(batch, n_inputs)`` (or one input per expert,
    ``(n_experts, batch, n_inputs)``) to ``(n_experts, batch, hidden_sizes[-1])``.
    """

    def __init__(self, n_experts, n_inputs, hidden_sizes, activation, dropout):
        super().__init__()
        self.n_experts = n_experts
        self.layers, self.out_features = make_mlp(
            n_inputs, hidden_sizes, activation, dropout, functools.partial(BatchedLinear, n_experts)
        )

    def forward(self, x):
        return self.layers(x)


class Gate(nn.Module):
    """Softmax gate over ``n_experts``: ``softmax(W x)``, as in MMoE and PLE.

    A linear map without bias (the papers' ``W_g x``), ``n_inputs * n_experts``
    parameters.
    """

    def __init__(self, n_inputs, n_experts):
        super().__init__()
        self.linear = nn.Linear(n_inputs, n_experts, bias=False)

    def forward(self, x):
        return torch.softmax(self.linear(x), dim=-1)


def mix(weights, expert_outputs):
    """Gate-weighted sum of experts: ``(batch, E)`` x ``(E, batch, d)`` -> ``(batch, d)``."""
    return torch.einsum("be,ebd->bd", weights, expert_outputs)


def resolve_sizes(architecture, name, hidden_layer_sizes):
    """Hidden sizes of an expert or column: the architecture's ``name``, else the estimator's.

    Validates the architecture's parameters first. Raises a ``ValueError``
    naming the parameter to set when the sizes are empty or not positive
    integers.
    """
    architecture._validate_params()
    own_sizes = getattr(architecture, name)
    sizes = tuple(hidden_layer_sizes if own_sizes is None else own_sizes)
    if not sizes or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        source = name if own_sizes is not None else "hidden_layer_sizes"
        raise ValueError(
            f"{type(architecture).__name__} needs at least one hidden layer of positive "
            f"integer width; {source} is {sizes!r}. Set e.g. architecture__{name}=(32,)."
        )
    return tuple(int(s) for s in sizes)
