"""Cross-stitch networks: one column per task, mixed after every layer."""

import functools
import numbers

import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from .._nn import hidden_blocks
from ._base import BaseArchitecture
from ._experts import BatchedLinear, resolve_sizes


class CrossStitch(BaseArchitecture):
    """Cross-stitch network: one MLP column per task, linearly mixed per layer.

    Each task has its own column with hidden sizes ``column_hidden_sizes``.
    After every hidden layer a *cross-stitch unit* replaces each column's
    activations by a learned linear combination of all columns' activations,

    .. math:: \\tilde h_t^{(l)} = \\sum_{s=1}^{T} \\alpha^{(l)}_{ts} h_s^{(l)},

    so the network learns how much each task borrows from the others at each
    depth: ``alpha = I`` is one independent network per task, equal entries
    are hard sharing. Task ``t``'s head reads column ``t``.

    Parameters
    ----------
    alpha_self : float in [0, 1], default=0.9
        Initial weight of a column on itself; the rest, ``1 - alpha_self``, is
        spread evenly over the other columns (the paper's recommended
        initialisation is 0.9 / 0.1 for two tasks). With one task the unit
        starts as the identity.
    column_hidden_sizes : tuple of int, default=None
        Hidden layers of each column. None uses the estimator's
        ``hidden_layer_sizes``.

    Notes
    -----
    Parameter count of the body, with ``p`` input features, ``T`` tasks, ``h``
    the column sizes (``L = len(h)`` layers) and ``mlp(p, h)`` the weights and
    biases of an MLP with hidden sizes ``h``::

        T * mlp(p, h) + L * T**2

    plus the heads: ``T`` times a shared trunk of the same size.

    ``shared_parameters()`` are all of the body's: the units mix the columns
    after every layer, so each column's weights, and each unit, reach every
    task's output (unless an ``alpha`` is exactly 0).

    The learned units are inspectable after fit with
    :func:`~sklearn_mtl.inspection.stitch_weights`.
    Misra et al. train the units with a 100-1000 times larger learning rate;
    here they share the estimator's ``lr`` (Adam's steps do not depend on the
    gradient's scale, so the units move at the same rate as the columns).

    See Also
    --------
    MMoE : Input-dependent mixing of shared experts.
    sklearn_mtl.inspection.stitch_weights : The learned ``alpha`` of every layer.

    References
    ----------
    .. [1] I. Misra, A. Shrivastava, A. Gupta, M. Hebert, "Cross-stitch
       Networks for Multi-task Learning", CVPR 2016.

    Examples
    --------
    >>> from sklearn_mtl.architectures import CrossStitch
    >>> body = CrossStitch().build(5, ["a", "b"], hidden_layer_sizes=(8, 4),
    ...                            activation="relu", dropout=0.0)
    >>> body.out_features
    {'a': 4, 'b': 4}
    >>> sum(p.numel() for p in body.parameters())  # 2 * (5*8 + 8 + 8*4 + 4) + 2 * 2**2
    176
    """

    _parameter_constraints = {
        "alpha_self": [Interval(numbers.Real, 0, 1, closed="both")],
        "column_hidden_sizes": ["array-like", None],
    }

    def __init__(self, alpha_self=0.9, *, column_hidden_sizes=None):
        self.alpha_self = alpha_self
        self.column_hidden_sizes = column_hidden_sizes

    def build(self, n_features, task_names, *, hidden_layer_sizes, activation, dropout):
        sizes = resolve_sizes(self, "column_hidden_sizes", hidden_layer_sizes)
        return _CrossStitchBody(
            n_features, task_names, sizes, activation, dropout, float(self.alpha_self)
        )


class _CrossStitchBody(nn.Module):
    def __init__(self, n_features, task_names, sizes, activation, dropout, alpha_self):
        super().__init__()
        self.task_names = list(task_names)
        n_tasks = len(self.task_names)
        if n_tasks == 1:
            init = torch.ones(1, 1)
        else:
            off = (1 - alpha_self) / (n_tasks - 1)
            init = torch.full((n_tasks, n_tasks), off) + (alpha_self - off) * torch.eye(n_tasks)
        blocks, width = hidden_blocks(
            n_features, sizes, activation, dropout, functools.partial(BatchedLinear, n_tasks)
        )
        self.layers = nn.ModuleList(nn.Sequential(*block) for block in blocks)
        self.stitches = nn.ParameterList(nn.Parameter(init.clone()) for _ in blocks)
        self.out_features = dict.fromkeys(self.task_names, width)

    def forward(self, x):
        for layer, alpha in zip(self.layers, self.stitches):
            x = torch.einsum("ts,sbd->tbd", alpha, layer(x))
        return dict(zip(self.task_names, x))

    def stitch_weights(self):
        """The cross-stitch matrices, one ``(n_tasks, n_tasks)`` tensor per layer."""
        return [alpha.detach() for alpha in self.stitches]

    def shared_parameters(self):
        return list(self.parameters())
