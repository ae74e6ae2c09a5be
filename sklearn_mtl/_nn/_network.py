"""The network: MLP blocks, task heads (CORAL's, non-crossing quantiles), and the whole of it.

:class:`MultiTaskNetwork` chains the input layer, an architecture's body and
one head per task, and returns ``{task: output}``.
"""

import functools

import torch
from torch import nn
from torch.nn.modules import module as _module

from ._ensemble import average_members, member_linear, split_members

ACTIVATIONS = {
    # In place: a block's linear map feeds its activation alone, and ReLU's backward
    # reads its output, so that each layer allocates one tensor per batch fewer.
    "relu": functools.partial(nn.ReLU, inplace=True),
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def hidden_blocks(n_inputs, hidden_sizes, activation="relu", dropout=0.0, linear=nn.Linear):
    """One ``[linear, activation(, Dropout)]`` list of modules per hidden size.

    ``linear(n_in, n_out)`` makes each layer's linear map (``nn.Linear``, or a
    batched one for banks of experts). Returns the blocks and the output width
    (``n_inputs`` when there is no layer).
    """
    blocks = []
    for size in hidden_sizes:
        block = [linear(n_inputs, size), ACTIVATIONS[activation]()]
        if dropout > 0:
            block.append(nn.Dropout(dropout))
        blocks.append(block)
        n_inputs = size
    return blocks, n_inputs


def make_mlp(n_inputs, hidden_sizes, activation="relu", dropout=0.0, linear=nn.Linear):
    """A stack of ``Linear -> activation [-> Dropout]`` layers as one ``nn.Sequential``.

    Returns the module and its output width (``n_inputs`` when there is no layer).
    """
    blocks, width = hidden_blocks(n_inputs, hidden_sizes, activation, dropout, linear)
    return nn.Sequential(*(module for block in blocks for module in block)), width


class Head(nn.Module):
    """A task head: optional hidden layers, then its output layer.

    ``output_layer`` is ``"linear"`` (``n_outputs`` free logits or values),
    ``"ordinal"`` (:class:`OrdinalOutput`, ``n_outputs`` ordered thresholds)
    or ``"quantile"`` (:class:`QuantileOutput`, ``n_outputs`` increasing values).
    With ``ensemble_size=k > 1`` it is ``k`` heads, one per member of an
    efficient ensemble: it reads ``(batch * k, n_inputs)`` rows (see
    the ensemble module) and returns ``(batch, k, n_outputs)``.
    """

    #: Whether the head is its output layer alone (no hidden layer, one member),
    #: which :class:`MultiTaskNetwork` then calls directly. False on heads
    #: pickled before the attribute existed: they take the general path.
    bare = False

    def __init__(
        self, n_inputs, hidden_sizes, n_outputs, activation, dropout, output_layer, ensemble_size=1
    ):
        super().__init__()
        self.ensemble_size = ensemble_size
        linear = member_linear(ensemble_size)
        self.hidden, width = make_mlp(n_inputs, hidden_sizes, activation, dropout, linear)
        if output_layer == "ordinal":
            self.output = OrdinalOutput(width, n_outputs, ensemble_size)
        elif output_layer == "quantile":
            self.output = QuantileOutput(linear(width, n_outputs))
        else:
            self.output = linear(width, n_outputs)
        self.bare = ensemble_size == 1 and not hidden_sizes

    def forward(self, x):
        if self.ensemble_size > 1:
            x = split_members(x, self.ensemble_size)
        if len(self.hidden):
            x = self.hidden(x)
        return self.output(x)


def _is_linear(module):
    """Whether ``module`` is a plain ``nn.Linear`` with a bias and no hook to call."""
    hooks = module._forward_hooks or module._forward_pre_hooks
    global_hooks = _module._global_forward_hooks or _module._global_forward_pre_hooks
    return type(module) is nn.Linear and module.bias is not None and not (hooks or global_hooks)


def stacked_linear(x, layers):
    """The outputs of several ``nn.Linear`` layers on one input ``(n, d)``, as one product.

    ``W @ x.T`` with the layers' weights stacked: ``x`` is read once, and the
    product has the shape a BLAS handles well when the layers are narrow (a
    few outputs against thousands of rows), where ``x @ W.T`` per layer
    takes about twice as long on a CPU. The same values up to rounding; each
    output is a view ``(n, width)`` of the product's transpose (strided, not
    copied: a copy per batch would take back a third of the gain).
    """
    weight = torch.cat([layer.weight for layer in layers])
    bias = torch.cat([layer.bias for layer in layers])
    stacked = torch.addmm(bias.unsqueeze(1), weight, x.t())
    return list(stacked.t().split([layer.out_features for layer in layers], dim=1))


class OrdinalOutput(nn.Module):
    """CORAL's output layer: ``w . x + b_k`` for ``k < n_thresholds``, one ``w``.

    One weight vector shared by every threshold makes the logits of
    ``P(y > k)`` differ only by their biases (Cao, Mirjalili and Raschka,
    2020). The biases are ``b_0 - cumsum(softplus(d))``, strictly decreasing
    whatever the parameters ``b_0, d``, so that the ``P(y > k)`` decrease in
    ``k`` (rank consistency) during training too, not only at the optimum.
    With ``n_members > 1``, each member of an ensemble has its own ``w`` and
    biases (input ``(batch, n_members, n_inputs)``).
    """

    def __init__(self, n_inputs, n_thresholds, n_members=1):
        super().__init__()
        self.linear = member_linear(n_members)(n_inputs, 1, bias=False)
        members = () if n_members == 1 else (n_members,)
        # Thresholds start evenly spaced around 0 (softplus(0) apart).
        spread = (n_thresholds - 1) * nn.functional.softplus(torch.zeros(())) / 2
        self.first = nn.Parameter(spread.expand(*members, 1).clone())
        gaps = torch.zeros(*members, n_thresholds - 1)
        self.gaps = nn.Parameter(gaps) if n_thresholds > 1 else None

    def biases(self):
        """The decreasing biases ``b_k``, shape ``(n_thresholds,)`` (per member: a row each)."""
        if self.gaps is None:
            return self.first
        steps = torch.cumsum(nn.functional.softplus(self.gaps), dim=-1)
        return torch.cat([self.first, self.first - steps], dim=-1)

    def forward(self, x):
        return self.linear(x) + self.biases()


class QuantileOutput(nn.Module):
    """Quantiles that never cross: the middle output, plus or minus sums of softplus gaps.

    A linear layer gives ``n`` free values ``z``; the quantile of the middle
    level ``m = n // 2`` is ``z_m``, and each other is its neighbour towards the
    middle plus (above) or minus (below) ``softplus(z_k)``. The outputs are so
    increasing (non-decreasing once softplus underflows) whatever the
    parameters and inputs, during training too; an ensemble's average of such
    rows is increasing as well.

    Parameters
    ----------
    linear : nn.Module
        Maps ``(..., n_inputs)`` to ``(..., n)``: an ``nn.Linear``, or an
        ensemble's per-member one.
    """

    def __init__(self, linear):
        super().__init__()
        self.linear = linear

    def forward(self, x):
        z = self.linear(x)
        middle = z.shape[-1] // 2
        centre, gaps = z[..., middle : middle + 1], nn.functional.softplus(z)
        above = centre + torch.cumsum(gaps[..., middle + 1 :], dim=-1)
        below = centre - torch.cumsum(gaps[..., :middle].flip(-1), dim=-1).flip(-1)
        return torch.cat([below, centre, above], dim=-1)


class MultiTaskNetwork(nn.Module):
    """An input layer and a body shared by the tasks, plus one head per task.

    Parameters
    ----------
    body : nn.Module
        Maps a batch of features to a representation: one tensor used by every
        task, or a dict ``{task: tensor}``. It has ``out_features`` (task ->
        width) and ``shared_parameters()``.
    task_names : list of str
        Task order; outputs are returned under these names.
    n_outputs : list of int
        Width of each task's output.
    head_hidden_sizes : tuple of int
        Hidden layers inside each head.
    activation : str
        Activation name, a key of ``ACTIVATIONS``.
    dropout : float
        Dropout after each hidden layer.
    output_layers : list of str, default=None
        Each task's output layer, ``"linear"``, ``"ordinal"`` or
        ``"quantile"`` (see :class:`Head`); None means linear for every task.
    inputs : nn.Module, default=None
        The input layer (a :class:`FeatureLayer`), whose output the body reads;
        None passes the features to the body as they are.
    members : MemberInputs or None, default=None
        An efficient ensemble's member copies of the input vector (see
        the ensemble module); the heads are then one per member.
    links : list of str, default=None
        With ``members``: each task's link (:data:`LINKS`),
        how its members' outputs are averaged in evaluation.
    """

    def __init__(
        self,
        body,
        task_names,
        n_outputs,
        head_hidden_sizes,
        activation,
        dropout,
        output_layers=None,
        inputs=None,
        members=None,
        links=None,
    ):
        super().__init__()
        output_layers = output_layers or ["linear"] * len(n_outputs)
        self.inputs = nn.Identity() if inputs is None else inputs
        self.members = members
        self.ensemble_size = 1 if members is None else members.k
        self.links = list(links or [])
        self.body = body
        self.task_names = list(task_names)
        #: Whether every task reads one representation tensor (hard sharing).
        self.body_is_shared = getattr(body, "shares_representation", False)
        # A ModuleList, not a ModuleDict: task names may hold dots.
        self.heads = nn.ModuleList(
            Head(
                body.out_features[name],
                head_hidden_sizes,
                width,
                activation,
                dropout,
                layer,
                self.ensemble_size,
            )
            for name, width, layer in zip(self.task_names, n_outputs, output_layers)
        )

    def forward(self, x):
        x = self.inputs(x)
        if self.members is not None:
            x = self.members(x)
        return self.forward_heads(self.body(x))

    def body_inputs(self, x):
        """What the body reads: the input vector (one copy per ensemble member)."""
        x = self.inputs(x)
        return x if self.members is None else self.members(x)

    def represent(self, x):
        """The body's representation of a batch of encoded features."""
        return self.body(self.body_inputs(x))

    def forward_heads(self, representation):
        """Outputs ``{task: tensor}`` from the body's representation.

        An ensemble's outputs are ``(batch, k, n_outputs)`` per member in
        training, their average ``(batch, n_outputs)`` in evaluation. In
        evaluation, heads that are each one ``nn.Linear`` of a shared
        representation are computed as one product (:func:`stacked_linear`).
        """
        # A bare head's output layer is called directly: one module call fewer per
        # task and batch, about a tenth of a small network's forward pass on the CPU.
        # (getattr: a head replaced by another module takes the general path.)
        heads = [head.output if getattr(head, "bare", False) else head for head in self.heads]
        if isinstance(representation, torch.Tensor):
            if not self.training and representation.dim() == 2 and all(map(_is_linear, heads)):
                outputs = stacked_linear(representation, heads)
            else:
                outputs = [head(representation) for head in heads]
        else:
            outputs = [head(representation[n]) for n, head in zip(self.task_names, heads)]
        if self.ensemble_size > 1 and not self.training:
            outputs = [average_members(out, link) for out, link in zip(outputs, self.links)]
        return dict(zip(self.task_names, outputs))

    def shared_parameters(self):
        """Parameters that more than one task's loss depends on (the input layer's too)."""
        members = [] if self.members is None else list(self.members.parameters())
        return [*self.inputs.parameters(), *members, *self.body.shared_parameters()]

    def task_parameters(self):
        """Every other parameter: heads and task-specific parts of the body."""
        shared = {id(p) for p in self.shared_parameters()}
        return [p for p in self.parameters() if id(p) not in shared]
