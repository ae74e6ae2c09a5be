"""skorch callbacks that decide when a fit stops and how its learning rate moves.

:func:`training_callbacks` picks a fit's callbacks from :data:`STOPPING`, the
learning-rate schedule and ``verbose``. Each takes every setting in
``__init__`` and resets its state in ``on_train_begin``, as skorch's own
callbacks do.
"""

import functools
import math

import numpy as np
import torch
from skorch.callbacks import Callback, LRScheduler

from .._nn import restore, snapshot
from ._progress import EPOCH_TABLE, ProgressLine

#: ``lr_schedule="plateau"`` multiplies the learning rate by this, once, at the
#: first plateau (see docs/benchmarks/tabular_quality.rst).
PLATEAU_FACTOR = 0.1

#: After that, training stops after this many epochs without improvement: the
#: lower rate gains in its first few epochs, each better than the last. On
#: Adult, diamonds and flights, 1 scored as 2 and 4 did, in 1 to 9 fewer epochs.
PLATEAU_PATIENCE = 1

#: Early stopping lets training stop only after this many optimiser steps: on a
#: few hundred rows an epoch is a dozen steps, and a validation loss that has
#: not moved for a few epochs says little (see docs/benchmarks/tabular_quality.rst).
MIN_STEPS = 500


def min_epochs_before_stopping(n_train, batch_size):
    """Epochs of ``ceil(n_train / batch_size)`` steps that make :data:`MIN_STEPS` steps."""
    return -(-MIN_STEPS // max(1, -(-n_train // batch_size)))


class PatienceCallback(Callback):
    """Watch a loss every epoch; when it stops improving, stop training.

    A subclass says what it watches (:meth:`_improved`). When the loss has
    not fallen by ``threshold`` for ``patience`` epochs (and ``min_epochs``
    have run), training stops; with ``plateau`` (``lr_schedule="plateau"``)
    the first time, the network goes back to the best epoch's parameters, the
    learning rate is multiplied by :data:`PLATEAU_FACTOR`, and training goes on
    until :data:`PLATEAU_PATIENCE` epochs without improvement (``patience``
    if smaller). A subclass with ``stops = False`` only divides.

    skorch prints an epoch's row after every other callback, and stopping
    means raising in a hook, so the messages wait in ``held_messages_``: the
    stop happens when the next epoch begins, after the row is printed, and
    the messages follow it. Why training stops is also kept in
    ``stop_reason_`` (None while it goes on), which ends the progress line.

    Parameters
    ----------
    patience : int
        Epochs without improvement that end a phase of training.
    threshold : float
        Smallest decrease of the loss that counts as improvement.
    min_epochs : int, default=0
        Training never stops (nor divides) before this many epochs.
    plateau : bool, default=False
        Divide the learning rate once before stopping.
    sink : callable, default=print
        Where the messages go.
    """

    #: Whether running out of patience (after the division, with ``plateau``) stops.
    stops = True

    def __init__(self, patience, threshold, *, min_epochs=0, plateau=False, sink=print):
        self.patience = patience
        self.threshold = threshold
        self.min_epochs = min_epochs
        self.plateau = plateau
        self.sink = sink

    def on_train_begin(self, net, **kwargs):
        self.misses_ = 0
        self.divided_ = False
        self.stopping_ = False
        self.stop_reason_ = None
        self.held_messages_ = []

    def on_epoch_begin(self, net, **kwargs):
        self._release()
        if self.stopping_:
            del net.history[-1]  # the row skorch opened for an epoch that will not run
            raise KeyboardInterrupt

    def on_epoch_end(self, net, **kwargs):
        if self.divided_ and not self.stops:
            return
        self.misses_ = 0 if self._improved(net) else self.misses_ + 1
        if self.misses_ >= self._patience_now() and len(net.history) >= self.min_epochs:
            self._out_of_patience(net)

    def on_train_end(self, net, **kwargs):
        self._release()

    def _improved(self, net):
        """Whether the watched loss improved at the last epoch (recording it if so)."""
        raise NotImplementedError

    def _patience_now(self):
        return min(self.patience, PLATEAU_PATIENCE) if self.divided_ else self.patience

    def _out_of_patience(self, net):
        if self.plateau and not self.divided_:
            self.divided_, self.misses_ = True, 0
            epoch = self._restore_best(net)
            scale_learning_rate(net, PLATEAU_FACTOR)
            net.history.record("lr_divided", True)
            self.held_messages_.append(self._division_message(epoch))
        elif self.stops:
            self.stop_reason_ = self._stop_reason()
            self.held_messages_.append(f"Stopping since {self.stop_reason_}.")
            self.stopping_ = True

    def _restore_best(self, net):
        """Load the best epoch's parameters into the network; return that epoch."""
        return None

    def _division_message(self, epoch):
        return (
            f"No improvement in the last {self.patience} epochs: learning rate divided by "
            f"{1 / PLATEAU_FACTOR:g}, continuing from epoch {epoch}'s parameters until "
            f"{_epochs(self._patience_now())} without improvement."
        )

    def _stop_reason(self):
        """Why training stops, completing "Stopping since ..."."""
        raise NotImplementedError

    def _release(self):
        for message in self.held_messages_:
            self.sink(message)
        self.held_messages_ = []


class EarlyStopping(PatienceCallback):
    """Early stopping on the joint ``valid_loss``, restoring the best epoch's weights.

    Memory: one copy of the network's parameters (the best epoch's).
    """

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.best_score_, self.best_epoch_, self.best_state_ = np.inf, None, None

    def _improved(self, net):
        score = net.history[-1, "valid_loss"]
        if not score < self.best_score_ - self.threshold:
            return False
        self.best_score_, self.best_epoch_ = score, net.history[-1, "epoch"]
        self.best_state_ = snapshot(net.module_)
        return True

    def _restore_best(self, net):
        if self.best_state_ is not None:
            restore(net.module_, self.best_state_)
        return self.best_epoch_

    def _stop_reason(self):
        return f"valid_loss has not improved in the last {_epochs(self.misses_)}"

    def on_train_end(self, net, **kwargs):
        super().on_train_end(net, **kwargs)
        if self.best_state_ is not None and self.best_epoch_ != net.history[-1, "epoch"]:
            self._restore_best(net)
            self.sink(f"Restoring best model from epoch {self.best_epoch_}.")
        self.best_state_ = None  # restored: not pickled with the net

    def task_best_epochs(self, task_names):
        """Task -> the epoch whose network it predicts with: the best one for all."""
        return dict.fromkeys(task_names, self.best_epoch_)


class PerTaskEarlyStopping(PatienceCallback):
    """Keep each task's network state from that task's best validation epoch.

    After every epoch, a task whose ``valid_loss_<task>`` fell more than
    ``threshold`` below its best so far gets a copy of the network's
    parameters, and the history records ``valid_loss_<task>_best``. Training
    stops when no task has improved for ``patience`` epochs. At the end, the
    network holds the parameters of the epoch with the lowest joint
    ``valid_loss`` (as with joint early stopping), and the net keeps the
    states of the other best epochs in ``task_states_`` for
    :meth:`MultiTaskNet.predict_outputs`. Tasks whose best epochs coincide
    share one copy; a task without a labelled validation row uses the joint
    best epoch.

    Memory: one copy of the network's parameters per distinct best epoch, at
    most one per task plus one for the joint best.
    """

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.keys_ = ["valid_loss"] + [f"valid_loss_{name}" for name in net.task_names]
        self.best_scores_ = dict.fromkeys(self.keys_, np.inf)
        self.best_epochs_ = dict.fromkeys(self.keys_)
        self.states_ = {}

    def _improved(self, net):
        history = net.history
        epoch = history[-1, "epoch"]
        improved = False
        for key in self.keys_:
            score = history[-1, key]
            better = bool(np.isfinite(score) and score < self.best_scores_[key] - self.threshold)
            if better:
                self.best_scores_[key], self.best_epochs_[key] = score, epoch
                improved = improved or key != "valid_loss"
            if key != "valid_loss":
                history.record(f"{key}_best", better)
        kept = set(self.best_epochs_.values())
        if epoch in kept:
            self.states_[epoch] = snapshot(net.module_)
        self.states_ = {e: state for e, state in self.states_.items() if e in kept}
        return improved

    def _restore_best(self, net):
        joint = self.best_epochs_["valid_loss"]
        if joint is not None:
            restore(net.module_, self.states_[joint])
        return joint

    def _stop_reason(self):
        return f"no task's validation loss has improved in the last {_epochs(self.misses_)}"

    def on_train_end(self, net, **kwargs):
        super().on_train_end(net, **kwargs)
        joint = self.best_epochs_["valid_loss"]
        if joint is None:
            return
        restore(net.module_, self.states_[joint])
        best = net.best_epochs_ = self.task_best_epochs(net.task_names)
        net.task_states_ = {e: self.states_[e] for e in set(best.values()) if e != joint}
        # The states now live on the net, pickled once.
        self.states_ = {}

    def task_best_epochs(self, task_names):
        """Task -> its best validation epoch (the joint best for a task without one)."""
        joint = self.best_epochs_["valid_loss"]
        return {name: self.best_epochs_[f"valid_loss_{name}"] or joint for name in task_names}


class TrainLossPlateau(PatienceCallback):
    """``lr_schedule="plateau"`` without early stopping: one division, on the training loss.

    Watches the ``task_weights``-weighted sum of the per-task training
    losses; never stops training, which runs to ``max_epochs``.
    """

    stops = False

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.best_score_ = np.inf

    def _improved(self, net):
        losses = np.array([net.history[-1, f"train_loss_{name}"] for name in net.task_names])
        score = float(np.nansum(net.base_weights.cpu().numpy() * losses))
        if not score < self.best_score_ - self.threshold:
            return False
        self.best_score_ = score
        return True

    def _division_message(self, epoch):
        return (
            f"Training loss has not improved in the last {self.patience} epochs: "
            f"learning rate divided by {1 / PLATEAU_FACTOR:g}."
        )


#: ``early_stopping`` (as settled) -> the callback that decides when to stop,
#: and the name it is registered under.
STOPPING = {
    "joint": ("early_stopping", EarlyStopping),
    "per_task": ("early_stopping", PerTaskEarlyStopping),
    False: ("lr_plateau", TrainLossPlateau),
}


def training_callbacks(settings, n_train):
    """The ``(name, callback)`` pairs of a fit on ``n_train`` rows, for ``callbacks=``.

    ``verbose=1`` adds the progress line, last so that it hears why training
    stopped; from :data:`EPOCH_TABLE`, the stopping messages follow skorch's table.
    """
    plateau = settings.lr_schedule == "plateau"
    callbacks = []
    name, stopping = STOPPING[settings.early_stopping]
    callback = None
    if settings.early_stopping or plateau:
        callback = stopping(
            settings.n_iter_no_change,
            settings.tol,
            min_epochs=min_epochs_before_stopping(n_train, settings.batch_size),
            plateau=plateau,
            sink=print if settings.verbose >= EPOCH_TABLE else _silent,
        )
        callbacks.append((name, callback))
    if settings.lr_schedule in _DECAYS:
        steps = settings.max_epochs * -(-n_train // settings.batch_size)
        callbacks.append(("lr_scheduler", lr_schedule_callback(settings.lr_schedule, steps)))
    if settings.verbose == 1:
        callbacks.append(("progress", ProgressLine(stopping=callback)))
    return callbacks


def scale_learning_rate(net, factor):
    """Multiply the learning rate of every parameter group of the net's optimizer."""
    for group in net.optimizer_.param_groups:
        group["lr"] *= factor


def lr_schedule_callback(schedule, total_steps):
    """The learning rate's decay over ``total_steps`` optimizer steps, stepped every batch.

    ``schedule`` is ``"cosine"`` (``lr * (1 + cos(pi t / T)) / 2``) or
    ``"linear"`` (``lr * (1 - t / T)``); after ``T`` steps the factor stays 0.
    """
    factor = functools.partial(_DECAYS[schedule], total_steps=max(1, total_steps))
    return LRScheduler(torch.optim.lr_scheduler.LambdaLR, step_every="batch", lr_lambda=factor)


def _cosine(step, total_steps):
    return 0.5 * (1.0 + math.cos(math.pi * min(step / total_steps, 1.0)))


def _linear(step, total_steps):
    return max(0.0, 1.0 - step / total_steps)


_DECAYS = {"cosine": _cosine, "linear": _linear}


def _epochs(n):
    return "1 epoch" if n == 1 else f"{n} epochs"


def _silent(*args, **kwargs):
    pass
