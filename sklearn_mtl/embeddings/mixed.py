"""Mixed embedding: piecewise-linear for discrete columns, periodic for continuous ones."""

import numbers

import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import BaseNumericEmbedding
from .periodic import PeriodicEmbedding
from .piecewise_linear import PiecewiseLinearEmbedding


class MixedEmbedding(BaseNumericEmbedding):
    """Piecewise-linear embedding of discrete columns, periodic embedding of the others.

    A numeric column with at most ``max_discrete_values`` distinct values in
    fit (a day of the month, a number of rooms, a rating) gets
    :class:`PiecewiseLinearEmbedding`, whose quantile bins then hold one value
    each; every other column gets :class:`PeriodicEmbedding`. The periodic
    frequencies draw the sharp thresholds of continuous columns (a capital
    gain, an age band); on a column of a few dozen values they can also
    single out each value and learn its noise. On New York flights trained on
    earlier months than those scored, a day-of-month column embedded
    periodically took the arrival delay's R\\ :sup:`2` to -0.25, where this
    embedding scores -0.04, and on Adult it scores as the periodic one. See
    :ref:`numeric-embeddings`.

    Parameters
    ----------
    max_discrete_values : int, default=48
        Columns with at most this many distinct values among the rows that
        give the statistics of fit (a missing value counts as one) are
        discrete.
    d_embedding : int, default=16
        Width of each column's embedding, of either kind.
    n_bins : int, default=48
        Quantile bins of :class:`PiecewiseLinearEmbedding`, for the discrete columns.
    n_frequencies : int, default=48
        Frequencies of :class:`PeriodicEmbedding`, for the continuous columns.
    frequency_scale : float or tuple of (float, float), default=(0.1, 10.0)
        :class:`PeriodicEmbedding`'s ``frequency_scale``.

    Notes
    -----
    The parameters are those of the two embeddings on their own columns; the
    body's first layer reads ``d_embedding`` inputs per numeric column, as
    with either.

    References
    ----------
    .. [1] Y. Gorishniy, I. Rubachev, A. Babenko, "On Embeddings for Numerical
       Features in Tabular Deep Learning", NeurIPS 2022 (piecewise-linear and
       periodic embeddings).

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.embeddings import MixedEmbedding
    >>> values = torch.stack([torch.randint(0, 7, (100,)).float(), torch.randn(100)], dim=1)
    >>> module = MixedEmbedding(d_embedding=8).build(values)
    >>> module.discrete_columns.tolist(), module.continuous_columns.tolist()
    ([0], [1])
    >>> module(values[:5]).shape
    torch.Size([5, 2, 8])
    """

    # The two embeddings' own constraints, which their builds check again.
    _parameter_constraints = {
        "max_discrete_values": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_bins": PiecewiseLinearEmbedding._parameter_constraints["n_bins"],
        **{
            name: PeriodicEmbedding._parameter_constraints[name]
            for name in ("d_embedding", "n_frequencies", "frequency_scale")
        },
    }

    def __init__(
        self,
        max_discrete_values=48,
        *,
        d_embedding=16,
        n_bins=48,
        n_frequencies=48,
        frequency_scale=(0.1, 10.0),
    ):
        self.max_discrete_values = max_discrete_values
        self.d_embedding = d_embedding
        self.n_bins = n_bins
        self.n_frequencies = n_frequencies
        self.frequency_scale = frequency_scale

    def build(self, values):
        self._validate_params()
        ordered = values.sort(dim=0).values
        distinct = 1 + (ordered[1:] != ordered[:-1]).sum(dim=0)
        discrete = distinct <= self.max_discrete_values
        piecewise = PiecewiseLinearEmbedding(self.n_bins, d_embedding=self.d_embedding)
        periodic = PeriodicEmbedding(
            self.n_frequencies,
            d_embedding=self.d_embedding,
            frequency_scale=self.frequency_scale,
        )
        return _MixedEmbeddings(discrete, piecewise, periodic, values)


class _MixedEmbeddings(nn.Module):
    """Each column through the module of its kind, in the columns' order."""

    def __init__(self, discrete, piecewise, periodic, values):
        super().__init__()
        discrete_columns = torch.nonzero(discrete).flatten()
        continuous_columns = torch.nonzero(~discrete).flatten()
        self.register_buffer("discrete_columns", discrete_columns)
        self.register_buffer("continuous_columns", continuous_columns)
        # Where each column's embedding lands among [discrete..., continuous...].
        order = torch.argsort(torch.cat([discrete_columns, continuous_columns]))
        self.register_buffer("order", order)
        self.discrete = self.continuous = None
        if len(discrete_columns):
            self.discrete = piecewise.build(values[:, discrete_columns])
        if len(continuous_columns):
            self.continuous = periodic.build(values[:, continuous_columns])

    def forward(self, x):
        if self.continuous is None:
            return self.discrete(x)
        if self.discrete is None:
            return self.continuous(x)
        parts = [
            self.discrete(x.index_select(1, self.discrete_columns)),
            self.continuous(x.index_select(1, self.continuous_columns)),
        ]
        return torch.cat(parts, dim=1).index_select(1, self.order)
