"""Memory-mapped features: checked in chunks, read batch by batch from disk.

A NumPy memory map (``np.memmap``, ``np.load(path, mmap_mode="r")``) given as
``X`` is never copied whole: it is validated chunk by chunk and training reads
each batch's rows from the map (one sorted gather per batch, so the disk is
read forwards), while targets and row weights, ``n_tasks`` floats per row,
stay in memory. In-memory arrays never come here.
"""

import numpy as np
import torch
from sklearn.utils.validation import validate_data

from ._engine import INFERENCE_BATCH_SIZE, TensorData

#: Bytes of X read at once when checking or predicting.
CHUNK_BYTES = 1 << 22


def is_memmap(X):
    """Whether ``X`` is a NumPy memory map (``np.memmap`` or a view of one)."""
    return isinstance(X, np.memmap)


def _chunk_rows(X):
    row_bytes = max(1, X.shape[1] * X.dtype.itemsize)
    return max(1, CHUNK_BYTES // row_bytes)


def validate_mapped(estimator, X, *, reset):
    """Check a memory-mapped ``X`` like ``validate_data`` does, without copying it.

    Checks the shape, a numeric dtype and, chunk by chunk, that every value is
    finite; sets (``reset=True``) or checks ``n_features_in_``. Returns ``X``
    itself.
    """
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D memory-mapped X, got {X.ndim} dimension(s) of shape "
            f"{X.shape}; reshape it to (n_samples, n_features)."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"The memory-mapped X has dtype {X.dtype}; it must be numeric (e.g. float32)."
        )
    # The first row through validate_data: sample and feature counts, n_features_in_.
    validate_data(estimator, X[:1], reset=reset, dtype=np.float32)
    step = _chunk_rows(X)
    for start in range(0, X.shape[0], step):
        if not np.isfinite(X[start : start + step]).all():
            raise ValueError(
                f"Input X contains NaN or infinity in rows {start} to "
                f"{min(start + step, X.shape[0]) - 1} of the memory map; impute or drop "
                "those rows first (e.g. sklearn.impute.SimpleImputer)."
            )
    return X


def map_chunks(function, X):
    """``function`` applied to consecutive row chunks of ``X``; dict outputs concatenated."""
    # Whole inference batches, as for in-memory X: the same sums, the same outputs.
    step = INFERENCE_BATCH_SIZE * max(1, _chunk_rows(X) // INFERENCE_BATCH_SIZE)
    parts = [
        function(np.array(X[start : start + step], dtype=np.float32))
        for start in range(0, len(X), step)
    ]
    return {name: torch.cat([part[name] for part in parts]) for name in parts[0]}


class MappedRows:
    """Rows of a memory map, read on indexing as a float32 tensor on ``device``.

    Supports what the engine's batch iterator asks of a feature tensor:
    ``shape``, ``device``, a slice, a 1-D integer tensor index and
    ``index_select(0, index)``.

    Parameters
    ----------
    array : np.memmap of shape (n_rows, n_features)
    rows : ndarray of int or None
        The rows of ``array`` this view holds, sorted; None for all.
    device : str or torch.device
    """

    def __init__(self, array, rows, device):
        self.array, self.rows, self.device_ = array, rows, torch.device(device)

    @property
    def shape(self):
        n = self.array.shape[0] if self.rows is None else len(self.rows)
        return (n, self.array.shape[1])

    @property
    def device(self):
        # Where batches are delivered, so that the engine gathers the targets
        # there too; indices are brought to the host to read the map.
        return self.device_

    def _positions(self, key):
        if isinstance(key, slice):
            if self.rows is not None:
                return self.rows[key]
            return np.arange(*key.indices(self.shape[0]))
        positions = np.asarray(key.cpu() if isinstance(key, torch.Tensor) else key)
        return positions if self.rows is None else self.rows[positions]

    def __getitem__(self, key):
        positions = self._positions(key)
        if np.all(positions[1:] >= positions[:-1]):
            block = np.asarray(self.array[positions], dtype=np.float32)
        else:
            order = np.argsort(positions, kind="stable")
            block = np.empty((len(positions), self.array.shape[1]), dtype=np.float32)
            block[order] = self.array[positions[order]]
        return torch.from_numpy(block).to(self.device_)

    def index_select(self, dim, index):
        """Rows ``index`` as a tensor, like :meth:`torch.Tensor.index_select` on ``dim=0``."""
        if dim != 0:
            raise ValueError("A memory-mapped X is indexed by rows (dim=0) only.")
        return self[index]

    def take(self, positions):
        """A view of the rows at ``positions`` (sorted), without reading them."""
        return MappedRows(self.array, self._positions(positions), self.device_)


class MappedData(TensorData):
    """A :class:`~sklearn_mtl._engine.TensorData` whose features stay on disk.

    Parameters
    ----------
    X : np.memmap of shape (n_samples, n_features)
    y, w : ndarray of shape (n_samples, n_tasks)
        Encoded targets and row weights, moved to ``device``.
    device : str or torch.device
    """

    def __init__(self, X, y, w, device):
        super().__init__(
            MappedRows(X, None, device),
            torch.as_tensor(np.ascontiguousarray(y)).to(device),
            torch.as_tensor(np.ascontiguousarray(w)).to(device),
        )

    def subset(self, index):
        """The rows ``index`` (a sorted 1-D integer tensor), features still on disk."""
        on_device = index.to(self.y.device)
        return TensorData(self.X.take(index), self.y[on_device], self.w[on_device])
