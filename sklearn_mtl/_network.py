"""The torch modules shared by every architecture: MLP blocks, heads, the network, the loss.

The input layer (:class:`~sklearn_mtl._inputs.FeatureLayer`) turns the encoded
features into the input vector; an architecture (see
:mod:`sklearn_mtl.architectures`) builds a *body* that maps that vector to a
representation per task. :class:`MultiTaskNetwork` chains
the two and puts one head per task on top, returning ``{task: output}``;
:class:`MultiTaskLoss` turns those outputs into one masked, weighted loss per
task. :func:`snapshot`, :func:`restore` and :func:`forward_with` keep and use
copies of a network's parameters (per-task early stopping).
"""

import itertools

import torch
from torch import nn

from ._ensemble import average_members, member_linear, split_members

ACTIVATIONS = {
    "relu": nn.ReLU,
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

    ``output_layer`` is ``"linear"`` (``n_outputs`` free logits or values) or
    ``"ordinal"`` (:class:`OrdinalOutput`, ``n_outputs`` ordered thresholds).
    With ``ensemble_size=k > 1`` it is ``k`` heads, one per member of an
    efficient ensemble: it reads ``(batch * k, n_inputs)`` rows (see
    :mod:`sklearn_mtl._ensemble`) and returns ``(batch, k, n_outputs)``.
    """

    def __init__(
        self, n_inputs, hidden_sizes, n_outputs, activation, dropout, output_layer, ensemble_size=1
    ):
        super().__init__()
        self.ensemble_size = ensemble_size
        linear = member_linear(ensemble_size)
        self.hidden, width = make_mlp(n_inputs, hidden_sizes, activation, dropout, linear)
        if output_layer == "ordinal":
            self.output = OrdinalOutput(width, n_outputs, ensemble_size)
        else:
            self.output = linear(width, n_outputs)

    def forward(self, x):
        if self.ensemble_size > 1:
            x = split_members(x, self.ensemble_size)
        return self.output(self.hidden(x))


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
        Each task's output layer, ``"linear"`` or ``"ordinal"`` (see
        :class:`Head`); None means linear for every task.
    inputs : nn.Module, default=None
        The input layer (a :class:`FeatureLayer`), whose output the body reads;
        None passes the features to the body as they are.
    members : MemberInputs or None, default=None
        An efficient ensemble's member copies of the input vector (see
        :mod:`sklearn_mtl._ensemble`); the heads are then one per member.
    links : list of str, default=None
        With ``members``: each task's link (:data:`~sklearn_mtl._ensemble.LINKS`),
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
        return self.forward_heads(self.represent(x))

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
        training, their average ``(batch, n_outputs)`` in evaluation.
        """
        if isinstance(representation, torch.Tensor):
            outputs = [head(representation) for head in self.heads]
        else:
            outputs = [head(representation[n]) for n, head in zip(self.task_names, self.heads)]
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


class MultiTaskLoss(nn.Module):
    """One loss per task, averaged over the entries labelled for that task.

    ``forward(outputs, y, w)`` takes the network's outputs, the encoded targets
    ``y`` of shape ``(batch, n_columns)``, in which each task owns a slice of
    columns (one, or one per label of a multilabel task), and row weights
    ``w`` of the same shape (0 where the label is missing, else the sample
    and class weight). It returns the per-task losses ``sum(w * loss) /
    sum(w)`` over the task's columns and the per-task weight sums; a task with
    no labelled entry in the batch gets loss 0 and no gradient.

    Parameters
    ----------
    task_names : list of str
        Task order.
    task_types : list of task type objects
        Each with ``loss(output, target)`` returning per-row (or per-row and
        label) losses.
    slices : list of slice, default=None
        Each task's columns of ``y``; None means one column per task, in order.
    """

    def __init__(self, task_names, task_types, slices=None):
        super().__init__()
        self.task_names = list(task_names)
        self.task_types = list(task_types)
        if slices is None:
            slices = [slice(j, j + 1) for j in range(len(self.task_names))]
        self.slices = list(slices)
        owner = torch.cat([torch.full((s.stop - s.start,), j) for j, s in enumerate(self.slices)])
        # Which task each column belongs to, to sum the columns of each task at once.
        self.register_buffer("owner", owner, persistent=False)

    def forward(self, outputs, y, w):
        labelled = w > 0
        per_cell = []
        for name, task, columns in zip(self.task_names, self.task_types, self.slices):
            rows = labelled[:, columns]
            target = y[:, columns] if task.two_dimensional else y[:, columns.start]
            output = outputs[name]
            if output.dim() == 3:  # (batch, k, n): an ensemble's members in training
                per_cell.append(_member_loss(task, output, rows, target))
                continue
            loss = task.loss(_labelled_only(output, rows), target)
            per_cell.append(loss.reshape(len(y), -1))
        per_cell = torch.cat(per_cell, dim=1)
        # Selected, not multiplied by 0: an unlabelled entry's loss may overflow (0 x inf = NaN).
        per_cell = torch.where(labelled, per_cell * w, torch.zeros_like(per_cell))
        n_tasks = len(self.task_names)
        loss_sums = per_cell.new_zeros(n_tasks).index_add(0, self.owner, per_cell.sum(dim=0))
        weight_sums = w.new_zeros(n_tasks).index_add(0, self.owner, w.sum(dim=0))
        denominators = torch.where(weight_sums > 0, weight_sums, torch.ones_like(weight_sums))
        return loss_sums / denominators, weight_sums


def _member_loss(task, output, labelled, target):
    """Each row's (or cell's) loss averaged over the ``k`` members of an ensemble."""
    n, k = output.shape[:2]
    flat = _labelled_only(output.flatten(0, 1), labelled.repeat_interleave(k, dim=0))
    loss = task.loss(flat, target.repeat_interleave(k, dim=0))
    return loss.reshape(n, k, -1).mean(dim=1)


def _labelled_only(output, labelled):
    """``output`` with no gradient through unlabelled rows (or cells).

    Their loss is discarded by ``torch.where``, but its derivative would still be
    multiplied by 0 on the way back, and 0 x inf is NaN. ``labelled`` is
    ``(batch, 1)`` (broadcast over the outputs) or ``(batch, n_outputs)``.
    """
    if labelled.shape[1] != output.shape[1]:
        labelled = labelled.any(dim=1, keepdim=True)
    return torch.where(labelled, output, output.detach())


def snapshot(module):
    """Copies of ``module``'s parameters and buffers, in ``parameters()`` order.

    A list, not a state dict: its keys would differ between a module and its
    data-parallel wrapper, their order does not.
    """
    return [t.detach().clone() for t in itertools.chain(module.parameters(), module.buffers())]


def restore(module, state):
    """Copy a :func:`snapshot` back into ``module``."""
    with torch.no_grad():
        for target, saved in zip(itertools.chain(module.parameters(), module.buffers()), state):
            target.copy_(saved)


def forward_with(module, state):
    """``module``'s forward with the parameters and buffers of a :func:`snapshot`."""
    named = itertools.chain(module.named_parameters(), module.named_buffers())
    values = dict(zip((key for key, _ in named), state))
    return lambda X: torch.func.functional_call(module, values, (X,))
