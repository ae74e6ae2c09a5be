"""The network's input layer: the encoded features to the vector every architecture reads.

Numeric columns standardised, clipped and optionally embedded, missing values
flagged, categorical columns one-hot encoded or embedded.
"""

import contextlib
import math

import torch
from torch import nn
from torch.nn import functional as F

from .._features import CLIP

#: A categorical column with at most this many slots is one-hot encoded; one
#: with more is embedded, :func:`embedding_width` wide. On Adult one-hot
#: scored at least as well as embeddings; embeddings keep wide columns narrow.
ONE_HOT_MAX_SLOTS = 64


#: Whether torch is tracing the network for an export, whose graph must keep
#: every branch (``torch.compiler.is_compiling``, torch 2.3 and later).
_tracing = getattr(torch.compiler, "is_compiling", lambda: False)


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
    ``docs/benchmarks/raw_features.rst``. The ``logged`` columns
    (non-negative and skewed in fit) come again after all the columns, as
    ``log1p(max(x, 0))`` standardised and clipped alike. Columns with missing
    values in fit add a 0/1 indicator each.

    Parameters
    ----------
    n_features : int
        Width of the encoded matrix.
    positions : ndarray of int
        The numeric columns' positions in it.
    center, scale : ndarray of float32
        One per numeric column, then one per logged column.
    missing : ndarray of int
        Positions, among the numeric columns, of those that get an indicator.
    logged : ndarray of int, default=()
        Positions, among the numeric columns, of those whose ``log1p`` is
        added.
    """

    def __init__(self, n_features, positions, center, scale, missing, logged=()):
        super().__init__()
        every_column = list(positions) == list(range(n_features))
        self.register_buffer("positions", None if every_column else _long(positions))
        self.register_buffer("logged", _long(logged) if len(logged) else None)
        self.register_buffer("center", torch.as_tensor(center, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("offset", -self.center * self.scale)
        self.register_buffer("missing", _long(missing) if len(missing) else None)
        self.embedding = None
        # With an embedding and columns it leaves alone: which are which (see embed).
        self.register_buffer("embedded", None)
        self.register_buffer("plain", None)
        #: Width of each column's part of the output: the columns, their logs, then
        #: the indicators.
        self.feature_widths = [1] * (len(positions) + len(logged) + len(missing))
        self.out_features = len(self.feature_widths)
        #: Width of :meth:`prepare`'s output.
        self.prepared_width = len(self.feature_widths)

    def embed(self, embedding, values):
        """Embed the standardised columns with a fresh module of ``embedding``.

        ``embedding`` is a :class:`~sklearn_mtl.embeddings.BaseNumericEmbedding`;
        ``values``, ``(n_rows, n_numeric)``, are the numeric columns of the rows
        of fit it learns its bins or ranges from (standardised here first,
        their logs added).
        Columns with at most two distinct values there (0/1 flags, one-hot
        columns of a preprocessing step, constants) stay as they are: any
        embedding of two values is an affine function of the column.
        """
        with torch.no_grad():
            x = self._with_logs(torch.as_tensor(values, dtype=torch.float32))
            z = self._standardise(x, training=False)
        varying = [j for j in range(z.shape[1]) if len(torch.unique(z[:, j])) > 2]
        if not varying:
            return
        plain = [j for j in range(z.shape[1]) if j not in varying]
        if plain:
            self.embedded, self.plain = _long(varying), _long(plain)
        self.embedding = embedding.build(z[:, varying])
        width = embedding.out_features(1)
        self.feature_widths[: z.shape[1]] = [width] * len(varying) + [1] * len(plain)
        self.out_features = sum(self.feature_widths)

    def forward(self, x):
        return self.finish(self.prepare(x, self.training))

    def prepare(self, x, training=True):
        """Forward's first stage, without parameters and row by row.

        The standardised columns (the numeric ones, then their logs), then the
        missing indicators: ``prepared_width`` columns.
        """
        if self.positions is not None:
            x = x.index_select(1, self.positions)
        z = self._standardise(self._with_logs(x), training)
        return self._with_indicators(z, x)

    def finish(self, z):
        """Forward's second stage: the embedding of :meth:`prepare`'s output, if any."""
        if self.embedding is None:
            return z
        if self.missing is None:
            return self._embedded(z)
        n = z.shape[1] - len(self.missing)  # the indicators come last
        return torch.cat([self._embedded(z[:, :n]), z[:, n:]], dim=1)

    def _embedded(self, z):
        """The embedded columns, flattened, then the columns left as they are."""
        if self.plain is None:
            return self.embedding(z).flatten(1)
        embedded = self.embedding(z.index_select(1, self.embedded)).flatten(1)
        return torch.cat([embedded, z.index_select(1, self.plain)], dim=1)

    def _with_logs(self, x):
        """``x``, then ``log1p(max(x, 0))`` of its logged columns (NaN kept)."""
        if self.logged is None:
            return x
        return torch.cat([x, torch.log1p(x.index_select(1, self.logged).clamp(min=0))], dim=1)

    def _standardise(self, x, training):
        # Two or three cheap kernels: at predict this runs on every batch.
        # A multiply, then an add, not a fused addcmul: the ONNX graph does the
        # same, rounding alike, and a periodic embedding would amplify any difference.
        z = (x * self.scale).add_(self.offset)
        if self.missing is not None or not training:
            # Training batches are rows of fit, where these columns had no NaN.
            # At predict, a finite sum (one read, where the replacement reads
            # and writes) shows that there is nothing to replace.
            if training or _tracing() or not math.isfinite(z.sum()):
                z = torch.nan_to_num_(z, nan=0.0, posinf=CLIP, neginf=-CLIP)
        return z.clamp_(-CLIP, CLIP)

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
        self.feature_widths = [table.embedding_dim for table in self.tables]
        self.out_features = sum(self.feature_widths)
        self.prepared_width = len(n_slots)
        if all(n <= ONE_HOT_MAX_SLOTS for n in n_slots):
            # Every column one-hot: column i's slot s is position starts[i] + s of one
            # row of sum(n_slots + 1) values, of which `kept` drops each slot 0.
            widths = torch.as_tensor(n_slots) + 1
            starts = torch.cumsum(widths, 0) - widths
            kept = torch.ones(int(widths.sum()), dtype=torch.bool)
            kept[starts] = False
            self.register_buffer("one_hot_starts", starts, persistent=False)
            self.register_buffer("one_hot_kept", torch.nonzero(kept).flatten(), persistent=False)

    def forward(self, x):
        return self.finish(self.prepare(x))

    def prepare(self, x):
        """Forward's first stage: the columns' slots, as floats (``prepared_width``)."""
        return x.index_select(1, self.positions)

    def finish(self, slots):
        """Forward's second stage: each column's one-hot row or embedding."""
        codes = slots.long()
        # (A layer pickled before the one-hot fast path has no such buffer.)
        starts = self._buffers.get("one_hot_starts")
        if starts is not None:
            # One scatter for every column, not a lookup and a copy each: the same rows,
            # in a quarter of the time at one row.
            width = len(self.one_hot_kept) + len(self.tables)
            # shape[0], not len(): an export keeps the batch size symbolic.
            rows = slots.new_zeros(slots.shape[0], width).scatter_(1, codes + starts, 1.0)
            return rows.index_select(1, self.one_hot_kept)
        return torch.cat([table(codes[:, i]) for i, table in enumerate(self.tables)], dim=1)


class FeatureLayer(nn.Module):
    """The network's input layer: encoded features to the input vector of the body.

    Numeric inputs (:class:`NumericInputs`, optionally embedded) first, then
    categorical ones (:class:`CategoricalInputs`); ``out_features`` is the
    vector's width and ``feature_widths`` the width of each input column's
    part of it (an efficient ensemble initialises its scaling per part).

    Forward runs in two stages: :meth:`prepare`, which has no parameters and
    works row by row (standardising, clipping, logs, indicators, slots), then
    the rest (embeddings, one-hot rows). Within :meth:`reading_prepared` it
    reads rows that :meth:`prepare` has already transformed, so that fit can
    prepare its rows once rather than every batch of every epoch.

    Parameters
    ----------
    layout : FeatureLayout
        What the encoder learned in fit.
    embedding : BaseNumericEmbedding or None, default=None
        The numeric embedding, built on the standardised numeric columns.
    values : ndarray of shape (n_rows, n_numeric), default=None
        With an embedding: the numeric columns of the rows of fit it learns from.
    """

    #: Whether forward reads :meth:`prepare`'s output (a class default, so that a
    #: layer pickled before the flag existed reads raw rows).
    reads_prepared = False

    def __init__(self, layout, embedding=None, values=None):
        super().__init__()
        self.numeric = self.categorical = None
        if len(layout.numeric):
            self.numeric = NumericInputs(
                layout.n_features,
                layout.numeric,
                layout.center,
                layout.scale,
                layout.missing,
                layout.logged,
            )
            if embedding is not None:
                self.numeric.embed(embedding, values)
        if len(layout.categorical):
            self.categorical = CategoricalInputs(layout.categorical, layout.n_slots)
        parts = self._parts()
        self.out_features = sum(part.out_features for part in parts)
        self.feature_widths = [w for part in parts for w in part.feature_widths]
        #: Width of :meth:`prepare`'s output.
        self.prepared_width = sum(part.prepared_width for part in parts)

    def __getstate__(self):
        # A network pickled during fit (a checkpoint) reads raw rows when loaded.
        return {**self.__dict__, "reads_prepared": False}

    def _parts(self):
        """The numeric and the categorical inputs, those the layout has."""
        return [part for part in (self.numeric, self.categorical) if part is not None]

    def forward(self, x):
        parts = self._parts()
        if self.reads_prepared:
            prepared = (
                x.split([part.prepared_width for part in parts], dim=1) if len(parts) > 1 else [x]
            )
            outputs = [part.finish(rows) for part, rows in zip(parts, prepared)]
        else:
            outputs = [part(x) for part in parts]
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)

    def prepare(self, x):
        """Forward's first stage on rows of fit: ``(n_rows, prepared_width)``.

        The numeric columns standardised and clipped, their logs and missing
        indicators (:meth:`NumericInputs.prepare`), then the categorical
        columns' slots. A new tensor: ``x`` is left as it is.
        """
        parts = [part.prepare(x) for part in self._parts()]  # numeric: training=True
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    @contextlib.contextmanager
    def reading_prepared(self):
        """Within the block, forward reads the output of :meth:`prepare`."""
        self.reads_prepared = True
        try:
            yield self
        finally:
            self.reads_prepared = False


def _long(values):
    return torch.as_tensor(values, dtype=torch.long)
