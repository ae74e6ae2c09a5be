"""The torch modules shared by every architecture: MLP blocks, heads, the loss.

An architecture (see :mod:`sklearn_mtl.architectures`) builds a *body* that maps
features to a representation per task. :class:`MultiTaskNetwork` puts one head per
task on top of that body and returns ``{task: output}``; :class:`MultiTaskLoss`
turns those outputs into one masked, weighted loss per task.
"""

import torch
from torch import nn

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
    """A task head: optional hidden layers, then a linear output layer."""

    def __init__(self, n_inputs, hidden_sizes, n_outputs, activation, dropout):
        super().__init__()
        self.hidden, width = make_mlp(n_inputs, hidden_sizes, activation, dropout)
        self.output = nn.Linear(width, n_outputs)

    def forward(self, x):
        return self.output(self.hidden(x))


class MultiTaskNetwork(nn.Module):
    """A body shared by the tasks plus one head per task.

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
    """

    def __init__(self, body, task_names, n_outputs, head_hidden_sizes, activation, dropout):
        super().__init__()
        self.body = body
        self.task_names = list(task_names)
        #: Whether every task reads one representation tensor (hard sharing).
        self.body_is_shared = getattr(body, "shares_representation", False)
        # A ModuleList, not a ModuleDict: task names may hold dots.
        self.heads = nn.ModuleList(
            Head(body.out_features[name], head_hidden_sizes, width, activation, dropout)
            for name, width in zip(self.task_names, n_outputs)
        )

    def forward(self, x):
        return self.forward_heads(self.body(x))

    def forward_heads(self, representation):
        """Outputs ``{task: tensor}`` from the body's representation."""
        if isinstance(representation, torch.Tensor):
            return {name: head(representation) for name, head in zip(self.task_names, self.heads)}
        return {name: head(representation[name]) for name, head in zip(self.task_names, self.heads)}

    def shared_parameters(self):
        """Parameters that more than one task's loss depends on."""
        return list(self.body.shared_parameters())

    def task_parameters(self):
        """Every other parameter: heads and task-specific parts of the body."""
        shared = {id(p) for p in self.shared_parameters()}
        return [p for p in self.parameters() if id(p) not in shared]


class MultiTaskLoss(nn.Module):
    """One loss per task, averaged over the rows labelled for that task.

    ``forward(outputs, y, w)`` takes the network's outputs, the encoded targets
    ``y`` of shape ``(batch, n_tasks)`` and row weights ``w`` of the same shape
    (0 where the label is missing, else the sample and class weight). It returns
    the per-task losses ``sum(w * loss) / sum(w)`` and the per-task weight sums;
    a task with no labelled row in the batch gets loss 0 and no gradient.

    Parameters
    ----------
    task_names : list of str
        Task order, as in ``y``'s columns.
    task_types : list of task type objects
        Each with ``loss(output, target)`` returning per-row losses.
    """

    def __init__(self, task_names, task_types):
        super().__init__()
        self.task_names = list(task_names)
        self.task_types = list(task_types)

    def forward(self, outputs, y, w):
        labelled = w > 0
        per_row = torch.stack(
            [
                task.loss(_labelled_only(outputs[name], labelled[:, j]), y[:, j])
                for j, (name, task) in enumerate(zip(self.task_names, self.task_types))
            ],
            dim=1,
        )
        weight_sums = w.sum(dim=0)
        denominators = torch.where(weight_sums > 0, weight_sums, torch.ones_like(weight_sums))
        # Selected, not multiplied by 0: an unlabelled row's loss may overflow (0 x inf = NaN).
        per_row = torch.where(labelled, per_row * w, torch.zeros_like(per_row))
        return per_row.sum(dim=0) / denominators, weight_sums


def _labelled_only(output, labelled):
    """``output`` with no gradient through unlabelled rows.

    Their loss is discarded by ``torch.where``, but its derivative would still be
    multiplied by 0 on the way back, and 0 x inf is NaN.
    """
    rows = labelled.view(-1, *[1] * (output.dim() - 1))
    return torch.where(rows, output, output.detach())
