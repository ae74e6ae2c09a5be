"""Training and inference data as batches: whole batches sliced from tensors, never items.

Features, encoded targets and row weights become a :class:`TensorData` on the
training device (:func:`make_dataset`), or a :class:`MappedData` whose
features stay on disk, read one sorted gather per batch; :func:`prepared_data`
passes the features through the input layer's first stage once per fit.
:class:`RandomSplit` holds out the early-stopping validation rows.
"""

import contextlib

import numpy as np
import torch

from .._features import CHUNK_BYTES, is_memmap
from .._nn import FeatureLayer

#: The most rows per forward pass at prediction, validation and inspection time.
INFERENCE_BATCH_SIZE = 8192

#: The fewest rows per forward pass that :func:`inference_batch_size` chooses:
#: below it the per-batch cost of calling the modules dominates.
MIN_INFERENCE_BATCH_SIZE = 256

#: Bytes that the widest module output of one inference batch may take. glibc's
#: default malloc reuses blocks this small, where it returned larger ones to the
#: system and faulted them in again batch after batch. Predicting 100,000 rows
#: (30 alternating rounds, 2026-12-07): at trunk (64,) 4,096 rows took 21.1 ms
#: against 24.8 for 2,048 and 26.0 for 8,192 (19.2, 20.9 and 18.1 ms with the
#: allocator told to keep its blocks, where 8,192 is fastest); at (128, 128)
#: 2,048 rows 66.7 ms against 72.0 for 1,024 and 72.8 for 4,096 (68.4, 72.4
#: and 71.1 kept); at the defaults (embedding, members) 512 rows as fast as 256.
INFERENCE_BATCH_BYTES = 1 << 20

#: Training data moves to a CUDA device once per fit when it takes at most this
#: share of the device's free memory; otherwise it stays on the host and each
#: batch is copied through pinned memory.
DEVICE_MEMORY_FRACTION = 0.5

#: The largest copy of the training features that :func:`prepared_data` makes:
#: with more, fit prepares each batch as it comes (as predict does).
PREPARED_MAX_BYTES = 1 << 30

#: Bytes of prepared rows that :func:`prepared_data` makes at a time: with more
#: rows, it prepares them by parts, so that their temporaries stay small.
PREPARE_CHUNK_BYTES = 1 << 19


class TensorData(torch.utils.data.Dataset):
    """Features, encoded targets and row weights as tensors on one device.

    Parameters
    ----------
    X : torch.Tensor or MappedRows of shape (n_samples, n_features)
    y : torch.Tensor of shape (n_samples, n_tasks)
        Encoded targets, 0 where missing.
    w : torch.Tensor of shape (n_samples, n_tasks) or None
        Row weight per task, 0 where the label is missing; None when every
        entry is labelled and weighs 1 (the loss then skips its masks).
    """

    def __init__(self, X, y, w):
        self.X, self.y, self.w = X, y, w

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, index):
        return tuple(None if t is None else t[index] for t in self.tensors)

    @property
    def tensors(self):
        return self.X, self.y, self.w

    def subset(self, index):
        """The rows ``index`` (a 1-D integer tensor) as a new ``TensorData``."""
        index = index.to(self.X.device)
        return TensorData(*(None if t is None else t.index_select(0, index) for t in self.tensors))


def make_dataset(X, y, w, device):
    """Features ``X``, targets ``y`` and row weights ``w`` as a :class:`TensorData`.

    A memory-mapped ``X`` stays on disk (:class:`MappedData`); ``y`` and ``w``
    move to ``device``. Otherwise, on the CPU the tensors share the arrays'
    memory; on CUDA they are copied to the device once, unless they would take
    more than ``DEVICE_MEMORY_FRACTION`` of its free memory: they then stay on
    the host and :class:`BatchIterator` moves one batch at a time. Weights
    that are all 1 (no missing label, no sample or class weight) are dropped:
    the loss then averages each task without masks.
    """
    if w is not None and (w == 1).all():
        w = None
    if is_memmap(X):
        return MappedData(X, y, w, device)
    tensors = [None if a is None else host_tensor(a) for a in (X, y, w)]
    device = torch.device(device)
    if device.type == "cuda":
        nbytes = sum(t.numel() * t.element_size() for t in tensors if t is not None)
        free, _ = torch.cuda.mem_get_info(device)
        if nbytes > DEVICE_MEMORY_FRACTION * free:
            return TensorData(*tensors)
    return TensorData(*(None if t is None else t.to(device) for t in tensors))


@contextlib.contextmanager
def prepared_data(dataset, network):
    """``dataset`` through ``network``'s input layer's first stage, read as such in the block.

    The first stage (:meth:`FeatureLayer.prepare`: standardising, clipping,
    logs, missing indicators, categorical slots) has no parameters and works
    row by row, so that running it once per fit rather than on every batch of
    every epoch changes no result; within the block the input layer runs its
    second stage only (:meth:`FeatureLayer.reading_prepared`). On a small
    network that is about 4 % of the training time.

    It costs a copy of the features, on their device: features on disk or on
    another device than the network's (a CUDA fit whose data stay on the
    host), a copy over ``PREPARED_MAX_BYTES``, or one over
    ``DEVICE_MEMORY_FRACTION`` of a CUDA device's free memory keep the
    general path, and the block gets ``dataset`` as given. So does a network
    without a :class:`FeatureLayer`.
    """
    layer = getattr(network, "inputs", None)
    X = dataset.X
    if (
        not isinstance(layer, FeatureLayer)
        or not isinstance(X, torch.Tensor)
        or any(buffer.device != X.device for buffer in layer.buffers())
    ):
        yield dataset
        return
    limit = PREPARED_MAX_BYTES
    if X.device.type == "cuda":
        limit = min(limit, DEVICE_MEMORY_FRACTION * torch.cuda.mem_get_info(X.device)[0])
    if 4 * X.shape[0] * layer.prepared_width > limit:
        yield dataset
        return
    n, step = X.shape[0], max(1, PREPARE_CHUNK_BYTES // (4 * layer.prepared_width))
    with torch.no_grad():
        if n <= step:
            rows = layer.prepare(X)
        else:
            rows = torch.empty(n, layer.prepared_width, dtype=torch.float32, device=X.device)
            for start in range(0, n, step):
                rows[start : start + step] = layer.prepare(X[start : start + step])
    with layer.reading_prepared():
        yield TensorData(rows, dataset.y, dataset.w)


class MappedRows:
    """Rows of a memory map, read on indexing as a float32 tensor on ``device``.

    Supports what :func:`iter_batches` asks of a feature tensor: ``shape``,
    ``device``, a slice, a 1-D integer tensor index and ``index_select(0, index)``.

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
        if isinstance(key, slice) and self.rows is None:
            # Consecutive rows (prediction): read straight into float32, no gather.
            return torch.from_numpy(np.array(self.array[key], dtype=np.float32)).to(self.device_)
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
    """A :class:`TensorData` whose features stay on disk.

    Parameters
    ----------
    X : np.memmap of shape (n_samples, n_features)
    y, w : ndarray of shape (n_samples, n_tasks)
        Encoded targets and row weights (or None), moved to ``device``.
    device : str or torch.device
    """

    def __init__(self, X, y, w, device):
        y, w = (None if a is None else host_tensor(a) for a in (y, w))
        w = None if w is None else w.to(device)
        super().__init__(MappedRows(X, None, device), y.to(device), w)

    def subset(self, index):
        """The rows ``index`` (a sorted 1-D integer tensor), features still on disk."""
        on_device = index.to(self.y.device)
        w = None if self.w is None else self.w[on_device]
        return TensorData(self.X.take(index), self.y[on_device], w)


def iter_batches(tensors, batch_size, device, order=None, shard=None):
    """Yield tuples of row slices of ``tensors``, on ``device``.

    Rows come in ``order`` (a permutation on the tensors' device), else in
    their stored order, ``batch_size`` at a time; ``shard`` (with ``order``)
    maps each batch's row indices to this process's share of them. Tensors already on
    ``device`` are sliced (a view) or gathered there; host tensors bound for
    a CUDA device are gathered into pinned memory and copied asynchronously,
    so the host never waits for the device. A None in ``tensors`` stays None.
    """
    device = torch.device(device)
    present = [t for t in tensors if t is not None]
    n = present[0].shape[0]
    transfer = device.type == "cuda" and present[0].device.type == "cpu"
    for batch in _batches(present, n, batch_size, device, order, shard, transfer):
        batch = iter(batch)
        yield tuple(None if t is None else next(batch) for t in tensors)


def _batches(tensors, n, batch_size, device, order, shard, transfer):
    """The batches of :func:`iter_batches`, for tensors that are all present."""
    for start in range(0, n, batch_size):
        if order is None:
            batch = [t[start : start + batch_size] for t in tensors]
            if transfer:
                batch = [_pinned_copy(b) for b in batch]
        else:
            index = order[start : start + batch_size]
            if shard is not None:
                index = shard(index)
            if transfer:
                batch = [_pinned_copy(t, index) for t in tensors]
            else:
                batch = [t.index_select(0, index) for t in tensors]
        if transfer:
            batch = [b.to(device, non_blocking=True) for b in batch]
        yield batch


def _pinned_copy(tensor, index=None):
    """Rows of a host tensor (all, or ``index``) in page-locked memory."""
    rows = tensor.shape[0] if index is None else index.shape[0]
    out = torch.empty((rows, *tensor.shape[1:]), dtype=tensor.dtype, pin_memory=True)
    if index is None:
        return out.copy_(tensor)
    return torch.index_select(tensor, 0, index, out=out)


def host_tensor(array, dtype=None):
    """``array`` as a contiguous CPU tensor, sharing its memory where it can.

    A read-only array (a frame's values, a broadcast, a buffer) is copied:
    torch warns on one, since it cannot keep a tensor from writing to it.
    """
    array = np.ascontiguousarray(array, dtype=dtype)
    if not array.flags.writeable:
        array = array.copy()
    return torch.from_numpy(array)


def inference_batches(X, device, batch_size=INFERENCE_BATCH_SIZE):
    """Consecutive batches of ``batch_size`` rows of ``X`` as float32 tensors.

    ``X`` is a validated array, a memory map (read a batch at a time) or the
    encoded rows of a DataFrame, encoded about ``CHUNK_BYTES`` at a time: a
    chunk's encoding has a fixed cost (a row slice, a conversion per column)
    that small batches would pay many times over. The batches are delivered
    on ``device``.
    """
    if not isinstance(X, np.ndarray):
        # The feature encoder's EncodedRows: whole batches per chunk.
        per_chunk = max(1, CHUNK_BYTES // (4 * max(1, X.shape[1]) * batch_size)) * batch_size
        for start in range(0, X.shape[0], per_chunk):
            chunk = torch.from_numpy(X[start : start + per_chunk])
            for first in range(0, len(chunk), batch_size):
                yield chunk[first : first + batch_size].to(device)
        return
    if is_memmap(X):
        features = MappedRows(X, None, device)
    else:
        features = host_tensor(X, np.float32)
        if len(features) <= batch_size:  # most calls of a service: one batch
            yield features.to(device)
            return
    for (batch,) in iter_batches((features,), batch_size, device):
        yield batch


def inference_batch_size(network, n_features, device):
    """Rows per forward pass of ``network`` at inference: a power of two, 256 to 8,192.

    As many as keep the widest output of any of its modules within
    ``INFERENCE_BATCH_BYTES``, measured by one forward pass of a row of zeros
    (``n_features`` wide, a valid encoded row) in evaluation mode. A narrow
    network reads up to 8,192 rows at a time, where calling its modules costs
    least per row; a wider one (a wider trunk, a numeric embedding, ensemble
    members) fewer, whose outputs then stay in the cache: at the defaults,
    256 rows predict about twice as fast as 8,192. Registers hooks on the
    network: call it only where nothing else runs the network (in fit).
    """
    widest = 0

    def record(module, args, output):
        nonlocal widest
        parts = output.values() if isinstance(output, dict) else [output]
        for part in parts:
            if isinstance(part, torch.Tensor):
                widest = max(widest, part.numel() * part.element_size())

    training = network.training
    handles = [module.register_forward_hook(record) for module in network.modules()]
    try:
        with torch.inference_mode():
            network.eval()(torch.zeros(1, n_features, device=device))
    finally:
        for handle in handles:
            handle.remove()
        network.train(training)
    rows = max(1, INFERENCE_BATCH_BYTES // max(widest, 1))
    power = 1 << (rows.bit_length() - 1)
    return int(min(INFERENCE_BATCH_SIZE, max(MIN_INFERENCE_BATCH_SIZE, power)))


class BatchIterator:
    """Iterate a :class:`TensorData` by whole batches.

    Each epoch draws one permutation (from ``generator`` when shuffling) and
    gathers the rows of each batch from the tensors at once, so every row is
    visited once per epoch and there is no per-item ``__getitem__`` or collate.

    Parameters
    ----------
    data : TensorData
    batch_size : int
    shuffle : bool
    generator : torch.Generator or None
        CPU generator for the permutation; seeded by the engine.
    shard : callable or None
        Data-parallel training: maps a batch's row indices to this process's
        share of them.
    device : str or torch.device or None
        Where batches are delivered; None means where ``data`` lives.
    """

    def __init__(self, data, batch_size, shuffle, generator=None, shard=None, device=None):
        self.data = data
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.shard = shard
        self.device = device

    def __len__(self):
        return -(-len(self.data) // self.batch_size)

    def __iter__(self):
        data = self.data
        device = data.X.device if self.device is None else self.device
        order = None
        if self.shuffle:
            order = torch.randperm(len(data), generator=self.generator)
        elif self.shard is not None:
            order = torch.arange(len(data))
        if order is not None:
            order = order.to(data.X.device)
        return iter_batches(data.tensors, self.batch_size, device, order, self.shard)


def check_validation_split(fraction, n_samples):
    """The number of rows ``fraction`` holds out of ``n_samples``, at least 1.

    Raises a ``ValueError`` naming the fix when no training row would be left.
    """
    n_valid = max(1, int(round(fraction * n_samples)))
    if n_valid >= n_samples:
        raise ValueError(
            f"validation_fraction={fraction} holds out {n_valid} of "
            f"n_samples={n_samples} rows and leaves none for training; lower it, "
            "pass more rows or switch early_stopping off."
        )
    return n_valid


class RandomSplit:
    """Hold out a random fraction of rows for validation (skorch's ``train_split``).

    Rows are split as a whole, so a row keeps all its labels, missing or not,
    on one side.

    Parameters
    ----------
    fraction : float
        Share of rows held out.
    seed : int
        Seed of the split.
    """

    def __init__(self, fraction, seed):
        self.fraction = fraction
        self.seed = seed

    def __call__(self, dataset, y=None, **fit_params):
        train, valid = self.rows(len(dataset))
        return dataset.subset(torch.from_numpy(train)), dataset.subset(torch.from_numpy(valid))

    def rows(self, n):
        """The training and validation row indices of ``n`` rows, each sorted."""
        n_valid = check_validation_split(self.fraction, n)
        order = np.random.RandomState(self.seed).permutation(n)
        return np.sort(order[n_valid:]), np.sort(order[:n_valid])

    def check_labelled(self, weights):
        """Raise unless a validation row counts (weighs more than 0) for some task.

        Without one, ``valid_loss`` is an empty sum, 0 at every epoch, and early
        stopping would keep the first epoch's untrained network as the best.
        Refused, as scikit-learn refuses an empty validation set (``SGDClassifier``).
        """
        counted = (weights > 0).any(axis=1)
        _, valid = self.rows(len(weights))
        if not counted[valid].any():
            raise ValueError(
                f"early_stopping: none of the {len(valid)} validation rows (validation_fraction="
                f"{self.fraction}) is labelled, with a positive weight, for any task "
                f"({int(counted.sum())} of the {len(weights)} rows are), so there is no "
                "validation loss to stop on. Set early_stopping=False (and choose max_epochs, "
                "e.g. by cross-validation with task_scorer), or raise validation_fraction "
                "until the validation rows include labelled ones."
            )
