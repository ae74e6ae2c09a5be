"""Periodic embeddings (PLR): sines and cosines of learned frequencies, then a linear map."""

import math
import numbers

import rtdl_num_embeddings
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import BaseNumericEmbedding


class PeriodicEmbedding(BaseNumericEmbedding):
    """Periodic embedding of each numeric column (PLR, Gorishniy et al., 2022).

    Column ``j``'s standardised value ``x`` becomes
    ``ReLU(W_j [cos(2 pi c_j x), sin(2 pi c_j x)] + b_j)``: ``n_frequencies``
    learned frequencies ``c_j`` and a linear map of its own per column
    (``lite=False``), ``d_embedding`` wide. The frequencies let the network
    draw sharp thresholds (a capital gain above 0, an age band) that an MLP on
    the raw value learns slowly.

    The scale of the initial frequencies matters most: drawn from
    ``N(0, sigma^2)``, a small ``sigma`` gives smooth functions of ``x``, a large
    one sharp ones, and the best ``sigma`` differs between data sets. With
    ``frequency_scale=(low, high)`` (the default), frequency ``i`` of every
    column is drawn with its own ``sigma_i``, log-spaced from ``low`` to
    ``high``, so that smooth and sharp components are both there from the
    start; a float gives every frequency the same ``sigma``, as in the paper.
    See :ref:`numeric-embeddings` for the measurements behind the default.

    Parameters
    ----------
    n_frequencies : int, default=48
        Frequencies per column (``k`` in the paper).
    d_embedding : int, default=16
        Width of each column's embedding.
    frequency_scale : float or tuple of (float, float), default=(0.1, 10.0)
        ``sigma`` of the initial frequencies, or the range of log-spaced
        ``sigma_i`` (the inputs are standardised, clipped to +-5).
    lite : bool, default=False
        Share one linear map between the columns (fewer parameters, as in
        TabR's "lite" variant).

    Notes
    -----
    Parameters per numeric column: ``n_frequencies`` frequencies and
    ``(2 n_frequencies + 1) d_embedding`` in its linear map (once for all
    columns with ``lite=True``). The body's first layer reads ``d_embedding``
    inputs per numeric column instead of one. The module is
    ``rtdl_num_embeddings.PeriodicEmbeddings``, evaluated at predict without
    concatenating the cosines and sines.

    References
    ----------
    .. [1] Y. Gorishniy, I. Rubachev, A. Babenko, "On Embeddings for Numerical
       Features in Tabular Deep Learning", NeurIPS 2022, section 3.3
       (periodic activation functions; PLR and its lite variant).

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.embeddings import PeriodicEmbedding
    >>> module = PeriodicEmbedding(d_embedding=8).build(torch.randn(100, 3))
    >>> module(torch.randn(5, 3)).shape
    torch.Size([5, 3, 8])
    """

    _parameter_constraints = {
        "n_frequencies": [Interval(numbers.Integral, 1, None, closed="left")],
        "d_embedding": [Interval(numbers.Integral, 1, None, closed="left")],
        "frequency_scale": [Interval(numbers.Real, 0, None, closed="neither"), tuple, list],
        "lite": ["boolean"],
    }

    def __init__(
        self, n_frequencies=48, *, d_embedding=16, frequency_scale=(0.1, 10.0), lite=False
    ):
        self.n_frequencies = n_frequencies
        self.d_embedding = d_embedding
        self.frequency_scale = frequency_scale
        self.lite = lite

    def build(self, values):
        self._validate_params()
        scales = _frequency_scales(self.frequency_scale, self.n_frequencies)
        module = _PeriodicEmbeddings(
            values.shape[1],
            self.d_embedding,
            n_frequencies=self.n_frequencies,
            frequency_init_scale=1.0,
            lite=self.lite,
        )
        weight = module.periodic.weight  # (n_columns, n_frequencies)
        with torch.no_grad():
            nn.init.trunc_normal_(weight, 0.0, 1.0, a=-3.0, b=3.0)
            weight.mul_(scales)
        return module


def _frequency_scales(frequency_scale, n_frequencies):
    """``sigma`` of each frequency: one value, or log-spaced over ``(low, high)``."""
    if isinstance(frequency_scale, numbers.Real):
        return torch.full((n_frequencies,), float(frequency_scale))
    try:
        low, high = (float(s) for s in frequency_scale)
    except (TypeError, ValueError):
        low = high = math.nan
    if not (0 < low <= high < math.inf):
        raise ValueError(
            "PeriodicEmbedding's frequency_scale must be a positive number or a pair "
            f"(low, high) with 0 < low <= high; got {frequency_scale!r}, e.g. (0.1, 10.0)."
        )
    return torch.logspace(math.log10(low), math.log10(high), n_frequencies)


class _PeriodicEmbeddings(rtdl_num_embeddings.PeriodicEmbeddings):
    """rtdl's module and parameters, evaluated without its two largest copies.

    rtdl concatenates the cosines and sines (a ``(batch, columns, 2k)`` copy)
    and multiplies them column by column through a transposed, so copied,
    view. In evaluation the arguments are laid out column-major from the
    start, and ``[cos, sin] W`` is ``cos W_cos + sin W_sin``: the same function
    (its sums in another order, equal to about 1e-6) in about 0.85 of the
    time of ``predict`` at the defaults. Training, whose backward pass this
    does not speed up, and the lite variant (one map for every column, which
    rtdl multiplies without copies) keep rtdl's forward pass.
    """

    def forward(self, x):
        if self.training or isinstance(self.linear, nn.Linear):
            return super().forward(x)
        k = self.periodic.weight.shape[1]
        # (columns, batch, k): each column's rows contiguous for the matrix products.
        arg = (2 * math.pi * self.periodic.weight)[:, None, :] * x.T[..., None]
        weight, bias = self.linear.weight, self.linear.bias[:, None, :]
        z = torch.cos(arg) @ weight[:, :k] + torch.sin(arg) @ weight[:, k:] + bias
        if self.activation is not None:
            z = self.activation(z)
        return z.transpose(0, 1)
