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

#: At most this many held-out rows are scored at each measurement.
MAX_ROWS = 2048


class LookaheadAffinity(Callback):
    """Measure the lookahead affinity between tasks during training (TAG).

    At a measured step, for each task ``i``: one SGD step of learning rate
    ``lr`` on task ``i``'s loss over the training batch, applied to the
    network's shared parameters, then each task ``j``'s loss on held-out rows
    (the early-stopping validation rows); the affinity of ``i`` onto ``j`` is
    ``1 - L_j(after) / L_j(before)``, positive when the step on ``i`` lowered
    ``j``'s held-out loss. The parameters are restored after each lookahead.

    :data:`N_MEASUREMENTS` steps are measured, evenly over the first
    :data:`MEASURED_STEPS`; at the end of the epoch where they end (or of
    training, if sooner), the groups are chosen (:func:`choose_groups`), and
    training stops there unless they are one group of every task: its
    network is then the one to keep.

    Cost per measurement, with ``T`` tasks: ``T`` backward passes on a batch
    and ``T + 1`` forward passes over at most :data:`MAX_ROWS` held-out rows.

    Parameters
    ----------
    lr : float
        Learning rate of the lookahead step.

    Attributes
    ----------
    affinity_ : ndarray of shape (N_CHUNKS, n_tasks, n_tasks)
        ``[c, i, j]``: the affinity of task ``i`` onto task ``j`` on held-out
        chunk ``c``, averaged over measurements (NaN where a chunk has no label
        of ``j`` or none was measured).
    n_measurements_ : int
    groups_ : list of list of str
        The groups chosen.
    """

    def __init__(self, lr):
        self.lr = lr

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        _, valid = net.train_split(X)
        n = min(len(valid), MAX_ROWS)
        self.held_out_ = tuple(
            None if t is None else t[:n].to(net.device) for t in (valid.X, valid.y, valid.w)
        )
        rows = [c for c in np.array_split(np.arange(n), N_CHUNKS) if len(c)]
        self.chunks_ = torch.zeros(len(rows), n, device=net.device)
        for c, chunk in enumerate(rows):
            self.chunks_[c, chunk] = 1.0
        self.every_ = max(1, MEASURED_STEPS // N_MEASUREMENTS)
        self.groups_ = None
        n_tasks = len(net.task_names)
        self.sums_ = np.zeros((len(self.chunks_), n_tasks, n_tasks))
        self.counts_ = np.zeros_like(self.sums_)
        self.step_ = 0

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        self.step_ += 1
        if self.step_ % self.every_ or self.step_ > MEASURED_STEPS:
            return
        affinity = lookahead(
            net.module_, net.criterion_, batch, self.held_out_, self.chunks_, self.lr
        )
        measured = np.isfinite(affinity)
        self.sums_ += np.where(measured, affinity, 0.0)
        self.counts_ += measured

    def on_epoch_end(self, net, **kwargs):
        if self.groups_ is None and self.step_ >= MEASURED_STEPS:
            self.groups_ = choose_groups(self.affinity_, net.task_names)
            if len(self.groups_) > 1:
                raise KeyboardInterrupt  # skorch's way for a callback to stop training

    def on_train_end(self, net, **kwargs):
        if self.groups_ is None:
            self.groups_ = choose_groups(self.affinity_, net.task_names)

    @property
    def affinity_(self):
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.sums_ / self.counts_

    @property
    def n_measurements_(self):
        return int(self.counts_.max(initial=0))


def lookahead(module, criterion, batch, held_out, chunks, lr):
    """One lookahead measurement: ``[c, i, j]`` for chunks ``c`` and tasks ``i``, ``j``."""
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
                    affinity[:, i, :] = 1.0 - after / before
    finally:
        module.train(was_training)
    return affinity


def _chunk_losses(module, criterion, held_out, chunks):
    """Each task's loss per chunk of held-out rows, ``(n_chunks, n_tasks)``; NaN: unlabelled."""
    X, y, w = held_out
    return criterion.chunk_losses(module(X), y, w, chunks).double().cpu().numpy()
