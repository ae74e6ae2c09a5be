"""Lookahead task affinity (TAG): how a step on one task's loss changes the others'.

:class:`LookaheadAffinity` is a skorch callback that, at some of the first
steps of training, takes a step on one task's loss alone, measures every
task's loss on held-out rows before and after it, then chooses the groups.
"""

import numpy as np
import torch
from skorch.callbacks import Callback

from ._groups import choose_groups

#: Held-out rows are scored in this many chunks, to tell the signal from noise.
N_CHUNKS = 4

#: Optimiser steps measured, from the start: the tasks' affinity shows while
#: the body is being shaped, and the groups are chosen after them.
MEASURED_STEPS = 300

#: Lookahead measurements over the :data:`MEASURED_STEPS`.
N_MEASUREMENTS = 60

#: At most this many held-out rows are scored, a chunk at each measurement.
MAX_ROWS = 2048

#: Fewer measurements than this (a fit shorter than the measured steps) are
#: too few to tell a split from noise: every task then shares.
MIN_MEASUREMENTS = 16

#: Training rows drawn for each lookahead step: more than a batch, so that the
#: step's direction varies less from one measurement to the next.
STEP_ROWS = 128


class LookaheadAffinity(Callback):
    """Measure the lookahead affinity between tasks during training (TAG).

    At a measured step, for each task ``i``: one SGD step of learning rate
    ``lr`` on task ``i``'s loss over :data:`STEP_ROWS` training rows drawn at
    random (TAG steps on the batch; more rows make a steadier measure), on the
    network's shared parameters, then each task ``j``'s loss on held-out rows
    (the early-stopping validation rows); the affinity of ``i`` onto ``j`` is
    ``1 - L_j(after) / L_j(before)``, positive when the step on ``i`` lowered
    ``j``'s held-out loss. The parameters are restored after each lookahead.

    The held-out rows are cut into :data:`N_CHUNKS` chunks, scored
    separately, and measurement ``m`` is recorded in block ``m mod
    N_CHUNKS``: the affinity is averaged per block and chunk, so that its
    noise can be told from its signal both across held-out rows and across
    steps (:func:`choose_groups`).
    :data:`N_MEASUREMENTS` steps are measured, evenly over the first
    :data:`MEASURED_STEPS`; at the end of the epoch where they end (or of
    training, if sooner), the groups are chosen (:func:`choose_groups`; one
    group of every task after fewer than :data:`MIN_MEASUREMENTS`), and
    training stops there unless they are one group of every task: its
    network is then the one to keep.

    Cost per measurement, with ``T`` tasks: ``T`` backward passes on
    :data:`STEP_ROWS` rows and ``T + 1`` forward passes over at most
    :data:`MAX_ROWS` held-out rows.

    Parameters
    ----------
    lr : float
        Learning rate of the lookahead step.
    seed : int
        Seeds the training rows drawn.

    Attributes
    ----------
    affinity_ : ndarray of shape (N_CHUNKS, N_CHUNKS, n_tasks, n_tasks)
        ``[b, c, i, j]``: the affinity of task ``i`` onto task ``j`` on
        held-out chunk ``c``, averaged over the measurements of block ``b``
        (NaN where the chunk has no label of ``j`` or the block no measurement).
    groups_ : list of list of str
        The groups chosen.
    """

    def __init__(self, lr, seed):
        self.lr = lr
        self.seed = seed

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.train_, valid = net.train_split(X)
        self.rng_ = np.random.RandomState(self.seed)
        n = min(len(valid), MAX_ROWS)
        self.held_out_ = [
            None if t is None else t[:n].to(net.device) for t in (valid.X, valid.y, valid.w)
        ]
        self.chunks_ = [rows for rows in np.array_split(np.arange(n), N_CHUNKS) if len(rows)]
        self.every_ = max(1, MEASURED_STEPS // N_MEASUREMENTS)
        self.groups_ = None
        n_tasks = len(net.task_names)
        self.sums_ = np.zeros((N_CHUNKS, len(self.chunks_), n_tasks, n_tasks))
        self.counts_ = np.zeros_like(self.sums_)
        self.step_ = self.measured_ = 0

    def on_batch_end(self, net, training=None, **kwargs):
        if not training:
            return
        self.step_ += 1
        if self.step_ % self.every_ or self.step_ > MEASURED_STEPS:
            return
        b = self.measured_ % N_CHUNKS
        n_train = len(self.train_)
        rows = np.sort(self.rng_.choice(n_train, min(n_train, STEP_ROWS), replace=False))
        step_rows = self.train_.subset(torch.from_numpy(rows)).tensors
        affinity = lookahead(
            net.module_, net.criterion_, step_rows, self.held_out_, self.chunks_, self.lr
        )
        measured = np.isfinite(affinity)
        self.sums_[b] += np.where(measured, affinity, 0.0)
        self.counts_[b] += measured
        self.measured_ += 1

    def on_epoch_end(self, net, **kwargs):
        if self.groups_ is None and self.step_ >= MEASURED_STEPS:
            self.groups_ = self._choose(net.task_names)
            if len(self.groups_) > 1:
                raise KeyboardInterrupt  # skorch's way for a callback to stop training

    def on_train_end(self, net, **kwargs):
        if self.groups_ is None:
            self.groups_ = self._choose(net.task_names)

    def _choose(self, names):
        if self.measured_ < MIN_MEASUREMENTS:
            return [list(names)]
        return choose_groups(self.affinity_, names)

    @property
    def affinity_(self):
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sums_ / self.counts_


def lookahead(module, criterion, batch, held_out, chunks, lr):
    """One lookahead measurement, ``[c, i, j]``: how a step on ``i`` changed ``j``'s loss.

    ``batch`` and ``held_out`` are ``(X, y, w)`` tensors: the step's rows and
    those scored, in ``chunks`` (arrays of row positions) ``c``.
    """
    X = batch[0]
    # Its dropout masks come from a forked stream: measuring leaves training as it was.
    devices = [X.device] if X.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        return _lookahead(module, criterion, batch, held_out, chunks, lr)


def _lookahead(module, criterion, batch, held_out, chunks, lr):
    shared = [p for p in module.shared_parameters() if p.requires_grad]
    X, y, w = batch
    losses, _ = criterion(module(X), y, w)
    n_tasks = len(losses)
    affinity = np.full((len(chunks), n_tasks, n_tasks), np.nan)
    gradients = [
        torch.autograd.grad(loss, shared, retain_graph=True, allow_unused=True)
        if loss.requires_grad
        else None
        for loss in losses
    ]
    saved = [p.detach().clone() for p in shared]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            before = _chunk_losses(module, criterion, held_out, chunks)
            for i, gradient in enumerate(gradients):
                if gradient is None:
                    continue
                for parameter, g in zip(shared, gradient):
                    if g is not None:
                        parameter.sub_(lr * g)
                after = _chunk_losses(module, criterion, held_out, chunks)
                for parameter, value in zip(shared, saved):
                    parameter.copy_(value)
                with np.errstate(invalid="ignore", divide="ignore"):
                    affinity[:, i] = 1.0 - after / before
    finally:
        module.train(was_training)
    return affinity


def _chunk_losses(module, criterion, held_out, chunks):
    """Each task's loss per chunk, ``(n_chunks, n_tasks)``; NaN where a chunk has no label."""
    X, y, w = held_out
    outputs = module(X)
    losses = []
    for rows in chunks:
        part = slice(rows[0], rows[-1] + 1)
        sliced = {name: output[part] for name, output in outputs.items()}
        loss, weight_sums = criterion(sliced, y[part], None if w is None else w[part])
        losses.append(torch.where(weight_sums > 0, loss, torch.nan))
    return torch.stack(losses).double().cpu().numpy()
