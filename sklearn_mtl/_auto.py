"""The size-dependent ``"auto"`` settings of a fit, and the evidence behind them.

``batch_size="auto"``, ``numeric_embedding="auto"``, ``ensemble_size="auto"``
and ``dropout="auto"`` (the defaults of :class:`~sklearn_mtl.MultiTaskEstimator`)
are resolved here from the number of rows of fit: below :data:`LARGE_FIT_ROWS`
rows the network is a plain MLP with dropout (no embedding, one member), from
there on it has both and no dropout. The measurements are in
``docs/benchmarks/tabular_quality.rst``.
"""

import numpy as np

#: From this many rows of fit, ``numeric_embedding="auto"`` is ``"periodic"`` and
#: ``ensemble_size="auto"`` is :data:`ENSEMBLE_SIZE`; below, None and 1. On a few
#: hundred rows the periodic embedding overfits (on make_multitask with 500 rows a
#: regression task's R^2 fell from 0.89 to 0.23), and an ensemble of 3 scored a
#: binary task's AUC 0.03 below one network on 300 rows.
LARGE_FIT_ROWS = 1000

#: ``ensemble_size="auto"`` on :data:`LARGE_FIT_ROWS` rows or more.
ENSEMBLE_SIZE = 3

#: ``dropout="auto"`` below :data:`LARGE_FIT_ROWS` rows; 0 from there, where
#: the ensemble regularises: on Adult, diamonds, flights and generated data
#: dropout 0 scored as well or better in a third fewer seconds (dropout's
#: random masks cost more than the layers' matrix products on a CPU), while
#: on 300 rows it lost up to 0.05 AUC.
SMALL_FIT_DROPOUT = 0.1


def auto_batch_size(n_samples):
    """``batch_size="auto"``: rows per optimiser step for a fit on ``n_samples`` rows.

    ``2 ** floor(log2(n_samples / 32))`` bounded to ``[32, 256]``, i.e. at
    least about 32 steps an epoch on small data (32 rows a batch below 2,048
    rows, 256 from 8,192), and 512 from 16,384 rows, where a batch of 512
    scored as well as 256 on Adult in fewer, cheaper steps.
    """
    if n_samples >= 16_384:
        return 512
    return int(min(256, max(32, 2 ** np.floor(np.log2(max(n_samples, 1) / 32)))))


def auto_numeric_embedding(n_samples):
    """``numeric_embedding="auto"``: ``"periodic"`` from :data:`LARGE_FIT_ROWS` rows."""
    return "periodic" if n_samples >= LARGE_FIT_ROWS else None


def auto_dropout(n_samples):
    """``dropout="auto"``: :data:`SMALL_FIT_DROPOUT` below :data:`LARGE_FIT_ROWS` rows, else 0."""
    return SMALL_FIT_DROPOUT if n_samples < LARGE_FIT_ROWS else 0.0


def auto_ensemble_size(n_samples):
    """``ensemble_size="auto"``: :data:`ENSEMBLE_SIZE` from :data:`LARGE_FIT_ROWS` rows, else 1."""
    return ENSEMBLE_SIZE if n_samples >= LARGE_FIT_ROWS else 1
