"""The torch modules shared by every architecture: input layer, MLP blocks, heads, the loss.

The input layer (:class:`FeatureLayer`) turns the encoded features (see
:mod:`sklearn_mtl._features`) into the input vector: numeric columns scaled,
missing values flagged, categorical columns one-hot encoded or embedded. An
architecture (see :mod:`sklearn_mtl.architectures`) builds a *body* that maps
that vector to a representation per task. :class:`MultiTaskNetwork` chains
the two and puts one head per task on top, returning ``{task: output}``;
:class:`MultiTaskLoss` turns those outputs into one masked, weighted loss per
task. :func:`snapshot`, :func:`restore` and :func:`forward_with` keep and use
copies of a network's parameters (per-task early stopping).
"""

import itertools

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


#: A categorical column with at most this many slots is one-hot encoded; one
#: with more is embedded, :func:`embedding_width` wide. On Adult one-hot
#: scored at least as well as embeddings; embeddings keep wide columns narrow.
ONE_HOT_MAX_SLOTS = 64

#: Standardised numeric inputs are clipped to ``[-CLIP, CLIP]``, and outliers of
#: fit to that many robust standard deviations before the moments are taken.
CLIP = 5.0


def embedding_width(n_slots):
    """Width of the embedding of a categorical column with ``n_slots`` slots.

    fastai's rule of thumb, ``1.6 * n_slots ** 0.56`` rounded, capped at 16.
    """
    return int(min(16, round(1.6 * n_slots**0.56)))


class NumericInputs(nn.Module):
    """The numeric columns, standardised and clipped, then missing indicators.

    Per column, ``z = (x - center) * scale`` with the mean and 1 / standard
    deviation of fit, taken after clipping the values of fit to ``CLIP``
    robust standard deviations of the median (so that an outlier in fit
    cannot squash the other values). A missing value reads as ``z = 0`` (the
    mean); ``z`` is then clipped to ``[-CLIP, CLIP]``, so that an outlier at
    predict, however large (infinity included), stays a bounded input. The
    choices (against RealMLP's median / inter-quartile scaling with smooth
    clipping at 3, Holzmueller et al., NeurIPS 2024, a quantile transform and
    plain standardisation) were measured: see
    ``docs/benchmarks/raw_features.rst``. Columns with missing values in fit
    add a 0/1 indicator each.

    Parameters
    ----------
    n_features : int
        Width of the encoded matrix.
    positions : ndarray of int
        The numeric columns' positions in it.
    center, scale : ndarray of float32
        One per numeric column.
    missing : ndarray of int
        Positions, among the numeric columns, of those that get an indicator.
    """

    def __init__(self, n_features, positions, center, scale, missing):
        super().__init__()
        every_column = list(positions) == list(range(n_features))
        self.register_buffer("positions", None if every_column else _long(positions))
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("offset", -self.center * self.scale)
        self.register_buffer("missing", _long(missing) if len(missing) else None)
        self.out_features = len(positions) + len(missing)

    def forward(self, x):
        if self.positions is not None:
            x = x.index_select(1, self.positions)
        # Two or three cheap kernels: this runs on every batch of every numeric input.
        z = torch.addcmul(self.offset, x, self.scale)
        if self.missing is not None or not self.training:
            # Training batches are rows of fit, where these columns had no NaN.
            z = torch.nan_to_num_(z, nan=0.0, posinf=CLIP, neginf=-CLIP)
        return self._with_indicators(z.clamp_(-CLIP, CLIP), x)

    def _with_indicators(self, z, x):
        if self.missing is None:
            return z
        return torch.cat([z, x.index_select(1, self.missing).isnan().to(z.dtype)], dim=1)


class _OneHot(nn.Module):
    """Slot ``s`` of a column with ``n_slots`` as a one-hot row; slot 0 as zeros."""

    def __init__(self, n_slots):
        super().__init__()
        self.register_buffer("weight", torch.cat([torch.zeros(1, n_slots), torch.eye(n_slots)]))
        self.embedding_dim = n_slots

    def forward(self, codes):
        return F.embedding(codes, self.weight)


class CategoricalInputs(nn.Module):
    """The categorical columns' slots, one-hot encoded or embedded, side by side.

    A column with at most ``ONE_HOT_MAX_SLOTS`` slots is one-hot encoded; a
    wider one gets a learned ``nn.Embedding`` of :func:`embedding_width`
    columns. Slot 0 (a value of a kind fit never saw) reads as zeros either way.

    Parameters
    ----------
    positions : ndarray of int
        The categorical columns' positions in the encoded matrix.
    n_slots : tuple of int
        Each column's number of slots.
    """

    def __init__(self, positions, n_slots):
        super().__init__()
        self.register_buffer("positions", _long(positions))
        self.tables = nn.ModuleList(
            _OneHot(n)
            if n <= ONE_HOT_MAX_SLOTS
            else nn.Embedding(n + 1, embedding_width(n), padding_idx=0)
            for n in n_slots
        )
        self.out_features = sum(table.embedding_dim for table in self.tables)

    def forward(self, x):
        codes = x.index_select(1, self.positions).long()
        return torch.cat([table(codes[:, i]) for i, table in enumerate(self.tables)], dim=1)


class FeatureLayer(nn.Module):
    """The network's input layer: encoded features to the input vector of the body.

    Numeric inputs (:class:`NumericInputs`) first, then categorical ones
    (:class:`CategoricalInputs`); ``out_features`` is the vector's width. A
    per-column numeric embedding (piecewise-linear or periodic) would map the
    standardised, clipped columns of :class:`NumericInputs` (before its
    missing indicators) to ``(batch, n_numeric, d)`` and flatten them here.

    Parameters
    ----------
    layout : sklearn_mtl._features.FeatureLayout
        What the encoder learned in fit.
    """

    def __init__(self, layout):
        super().__init__()
        self.numeric = self.categorical = None
        if len(layout.numeric):
            self.numeric = NumericInputs(
                layout.n_features, layout.numeric, layout.center, layout.scale, layout.missing
            )
        if len(layout.categorical):
            self.categorical = CategoricalInputs(layout.categorical, layout.n_slots)
        self.out_features = sum(
            part.out_features for part in (self.numeric, self.categorical) if part is not None
        )

    def forward(self, x):
        parts = [part(x) for part in (self.numeric, self.categorical) if part is not None]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def _long(values):
    return torch.as_tensor(values, dtype=torch.long)


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
    """

    def __init__(self, n_inputs, hidden_sizes, n_outputs, activation, dropout, output_layer):
        super().__init__()
        self.hidden, width = make_mlp(n_inputs, hidden_sizes, activation, dropout)
        layer = OrdinalOutput if output_layer == "ordinal" else nn.Linear
        self.output = layer(width, n_outputs)

    def forward(self, x):
        return self.output(self.hidden(x))


class OrdinalOutput(nn.Module):
    """CORAL's output layer: ``w . x + b_k`` for ``k < n_thresholds``, one ``w``.

    One weight vector shared by every threshold makes the logits of
    ``P(y > k)`` differ only by their biases (Cao, Mirjalili and Raschka,
    2020). The biases are ``b_0 - cumsum(softplus(d))``, strictly decreasing
    whatever the parameters ``b_0, d``, so that the ``P(y > k)`` decrease in
    ``k`` (rank consistency) during training too, not only at the optimum.
    """

    def __init__(self, n_inputs, n_thresholds):
        super().__init__()
        self.linear = nn.Linear(n_inputs, 1, bias=False)
        # Thresholds start evenly spaced around 0 (softplus(0) apart).
        spread = (n_thresholds - 1) * nn.functional.softplus(torch.zeros(())) / 2
        self.first = nn.Parameter(spread.reshape(1))
        self.gaps = nn.Parameter(torch.zeros(n_thresholds - 1)) if n_thresholds > 1 else None

    def biases(self):
        """The decreasing biases ``b_k``, shape ``(n_thresholds,)``."""
        if self.gaps is None:
            return self.first
        steps = torch.cumsum(nn.functional.softplus(self.gaps), dim=0)
        return torch.cat([self.first, self.first - steps])

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
    ):
        super().__init__()
        output_layers = output_layers or ["linear"] * len(n_outputs)
        self.inputs = nn.Identity() if inputs is None else inputs
        self.body = body
        self.task_names = list(task_names)
        #: Whether every task reads one representation tensor (hard sharing).
        self.body_is_shared = getattr(body, "shares_representation", False)
        # A ModuleList, not a ModuleDict: task names may hold dots.
        self.heads = nn.ModuleList(
            Head(body.out_features[name], head_hidden_sizes, width, activation, dropout, layer)
            for name, width, layer in zip(self.task_names, n_outputs, output_layers)
        )

    def forward(self, x):
        return self.forward_heads(self.represent(x))

    def represent(self, x):
        """The body's representation of a batch of encoded features."""
        return self.body(self.inputs(x))

    def forward_heads(self, representation):
        """Outputs ``{task: tensor}`` from the body's representation."""
        if isinstance(representation, torch.Tensor):
            return {name: head(representation) for name, head in zip(self.task_names, self.heads)}
        return {name: head(representation[name]) for name, head in zip(self.task_names, self.heads)}

    def shared_parameters(self):
        """Parameters that more than one task's loss depends on (the input layer's too)."""
        return [*self.inputs.parameters(), *self.body.shared_parameters()]

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
            loss = task.loss(_labelled_only(outputs[name], rows), target)
            per_cell.append(loss.reshape(len(y), -1))
        per_cell = torch.cat(per_cell, dim=1)
        # Selected, not multiplied by 0: an unlabelled entry's loss may overflow (0 x inf = NaN).
        per_cell = torch.where(labelled, per_cell * w, torch.zeros_like(per_cell))
        n_tasks = len(self.task_names)
        loss_sums = per_cell.new_zeros(n_tasks).index_add(0, self.owner, per_cell.sum(dim=0))
        weight_sums = w.new_zeros(n_tasks).index_add(0, self.owner, w.sum(dim=0))
        denominators = torch.where(weight_sums > 0, weight_sums, torch.ones_like(weight_sums))
        return loss_sums / denominators, weight_sums


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
