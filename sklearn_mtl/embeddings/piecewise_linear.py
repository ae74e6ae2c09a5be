"""Piecewise-linear embeddings (PLE) on quantile bins learned in fit."""

import math
import numbers
import warnings

import rtdl_num_embeddings
import torch
from sklearn.utils._param_validation import Interval

from ._base import BaseNumericEmbedding


class PiecewiseLinearEmbedding(BaseNumericEmbedding):
    """Piecewise-linear embedding of each numeric column (PLE, Gorishniy et al., 2022).

    Fit cuts each numeric column into ``n_bins`` bins at its quantiles; a
    value then reads as one number per bin (1 for the bins below it, its
    position inside its own bin, 0 above), which a per-column linear map turns
    into ``d_embedding`` numbers, added to a linear embedding of the value
    itself ("version B" of ``rtdl_num_embeddings``: the piecewise part starts
    at zero and is learned). Monotone, smooth effects of a column are easy to
    express this way, and so are jumps at a quantile.

    Parameters
    ----------
    n_bins : int, default=48
        Bins per column, at most; a column with fewer distinct values gets
        fewer (a 0/1 column one), and at most one fewer than the rows.
    d_embedding : int, default=16
        Width of each column's embedding.

    Notes
    -----
    The bins are the quantiles of the standardised, clipped column over the
    rows that give the numeric statistics in fit (at most 10,000, unweighted;
    a missing value reads 0, the column's mean). Parameters per numeric column:
    ``(n_bins + 2) d_embedding``. Implemented by
    ``rtdl_num_embeddings.compute_bins`` and
    ``rtdl_num_embeddings.PiecewiseLinearEmbeddings``.

    References
    ----------
    .. [1] The piecewise linear encoding of section 3.2 of Gorishniy, Rubachev
       and Babenko, "On Embeddings for Numerical Features in Tabular Deep
       Learning", NeurIPS 2022 (quantile bins, the first variant).

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.embeddings import PiecewiseLinearEmbedding
    >>> module = PiecewiseLinearEmbedding(n_bins=8).build(torch.randn(100, 3))
    >>> module(torch.randn(5, 3)).shape
    torch.Size([5, 3, 16])
    """

    _parameter_constraints = {
        "n_bins": [Interval(numbers.Integral, 2, None, closed="left")],
        "d_embedding": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_bins=48, *, d_embedding=16):
        self.n_bins = n_bins
        self.d_embedding = d_embedding

    def build(self, values):
        self._validate_params()
        bins = quantile_bins(values, self.n_bins)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*two bin edges", category=UserWarning)
            return _PiecewiseLinearEmbeddings(bins, self.d_embedding)


def quantile_bins(values, n_bins):
    """Bin edges of each column of ``values``: ``compute_bins`` where it applies.

    ``compute_bins`` needs columns of at least two distinct values and fewer
    bins than rows; a constant column (or too few rows) gets the single bin
    ``[-1, 1]`` around its standardised value 0.
    """
    n_rows, n_columns = values.shape
    bins = [torch.tensor([-1.0, 1.0])] * n_columns
    n_bins = min(n_bins, n_rows - 1)
    varying = [j for j in range(n_columns) if n_rows and (values[:, j] != values[0, j]).any()]
    if varying and n_bins >= 2:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*two bin edges", category=UserWarning)
            edges = rtdl_num_embeddings.compute_bins(values[:, varying].float(), n_bins)
        for j, column_edges in zip(varying, edges):
            bins[j] = column_edges
    return bins


class _PiecewiseLinearEmbeddings(rtdl_num_embeddings.PiecewiseLinearEmbeddings):
    """rtdl's module and parameters ("version B"), evaluated in fewer operations.

    rtdl clips each column's bin values by slicing its encoding in three,
    clipping each part and concatenating them again, and multiplies the
    encoding column by column through a transposed, so copied, view. In
    evaluation the rows are laid out column-major from the start, and the
    encoding is clipped in one pair of operations against per-bin bounds made
    once (``lower``, ``upper``): the same function, bit for bit, in about 0.6
    of rtdl's time at one row and at a thousand. Training, whose backward pass
    this does not speed up, keeps rtdl's forward pass.
    """

    def __init__(self, bins, d_embedding):
        super().__init__(bins, d_embedding, activation=False, version="B")
        weight = self.impl.weight  # (columns, bins): padded with zeros to the widest
        lower, upper = torch.zeros_like(weight), torch.ones_like(weight)
        if weight.shape[1] > 1:  # rtdl clips nothing when every column has one bin
            # The first bin value is clipped at 1 only, the last at 0 only (not at
            # all for a column of one bin), the others to [0, 1].
            lower[:, 0], upper[:, -1] = -math.inf, math.inf
            if self.impl.single_bin_mask is not None:
                lower[self.impl.single_bin_mask, -1] = -math.inf
        else:
            lower.fill_(-math.inf)
            upper.fill_(math.inf)
        self.register_buffer("lower", lower, persistent=False)
        self.register_buffer("upper", upper, persistent=False)

    def forward(self, x):
        if self.training:
            return super().forward(x)
        columns = x.T[..., None]  # (columns, batch, 1)
        impl, linear0 = self.impl, self.linear0
        encoding = torch.addcmul(impl.bias[:, None], impl.weight[:, None], columns)
        encoding = torch.minimum(torch.maximum(encoding, self.lower[:, None]), self.upper[:, None])
        # Version B: the bias is linear0's; the piecewise part's map has none.
        z = torch.addcmul(linear0.bias[:, None], linear0.weight[:, None], columns)
        return (z + encoding @ self.linear.weight).transpose(0, 1)
