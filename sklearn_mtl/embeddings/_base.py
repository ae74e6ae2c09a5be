"""The base class of numeric embeddings."""

from sklearn.base import BaseEstimator


class BaseNumericEmbedding(BaseEstimator):
    """Base class of numeric embeddings: each numeric column to a learned vector.

    An embedding is a parameter object: its ``__init__`` stores
    hyper-parameters (grid-searchable as ``numeric_embedding__<name>``), and
    :meth:`build` makes a fresh torch module for one fit. The network's input
    layer (:class:`sklearn_mtl._nn._inputs.NumericInputs`) applies it to the
    standardised, clipped numeric columns, before their missing-value
    indicators, and flattens its output; every architecture reads the result.

    To add an embedding, subclass this in a new file and add one line to the
    registry in ``sklearn_mtl/embeddings/__init__.py``.
    """

    def build(self, values):
        """Make a fresh module for the numeric columns of one fit.

        Parameters
        ----------
        values : torch.Tensor of shape (n_rows, n_columns)
            The standardised, clipped numeric columns of the rows that give the
            columns' statistics in fit (at most 10,000, drawn once with a fixed
            seed; a missing value reads 0): what an embedding may learn from
            (bins, ranges) before training.

        Returns
        -------
        module : torch.nn.Module
            Maps ``(batch, n_columns)`` to ``(batch, n_columns, d_embedding)``.
        """
        raise NotImplementedError

    def out_features(self, n_columns):
        """Width of the flattened output for ``n_columns`` columns.

        Parameters
        ----------
        n_columns : int
            Number of numeric columns embedded.

        Returns
        -------
        width : int
        """
        return n_columns * self.d_embedding
