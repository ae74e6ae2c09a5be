"""skorch callbacks that decide when a fit stops and how its learning rate moves.

:class:`~sklearn_mtl._engine.MultiTaskNet` gets them through skorch's
``callbacks=``: early stopping on the joint validation loss
(:func:`early_stopping_callback`) or per task
(:func:`per_task_early_stopping_callback`), and ``lr_schedule``'s learning
rate: a decay every step (:func:`lr_schedule_callback`), or, for
``"plateau"``, one division by ten when the monitored loss stops improving
(built into the early-stopping callbacks, which then stop at a shorter second
plateau instead of the first; :class:`TrainLossPlateau` without early
stopping).
"""

import functools
import math

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler

from ._network import restore, snapshot

#: ``lr_schedule="plateau"`` multiplies the learning rate by this, once, at the
#: first plateau (see docs/benchmarks/tabular_quality.rst).
PLATEAU_FACTOR = 0.1

#: After that, training stops after this many epochs without improvement: the
#: lower rate gains in its first few epochs, each better than the last. On
#: Adult, diamonds and flights, 1 scored as 2 and 4 did, in 1 to 9 fewer epochs.
PLATEAU_PATIENCE = 1


def early_stopping_callback(n_iter_no_change, tol, verbose, min_epochs=0, plateau=False):
    """skorch's early stopping on ``valid_loss``, restoring the best epoch's weights.

    Training never stops before ``min_epochs`` epochs (see
    :func:`min_epochs_before_stopping`); with ``plateau`` (``lr_schedule="plateau"``)
    the first plateau divides the learning rate instead of stopping.
    Returned as a ``(name, callback)`` pair for ``MultiTaskNet(callbacks=[...])``.
    """
    callback = _LoggedEarlyStopping(
        monitor="valid_loss",
        patience=n_iter_no_change,
        threshold=tol,
        threshold_mode="abs",
        load_best=True,
        sink=print if verbose else _silent,
    )
    callback.min_epochs = min_epochs
    callback.plateau = plateau
    return ("early_stopping", callback)


#: Early stopping lets training stop only after this many optimiser steps: on a
#: few hundred rows an epoch is a dozen steps, and a validation loss that has
#: not moved for a few epochs says little (see docs/benchmarks/tabular_quality.rst).
MIN_STEPS = 500


def min_epochs_before_stopping(n_train, batch_size):
    """Epochs of ``ceil(n_train / batch_size)`` steps that make :data:`MIN_STEPS` steps."""
    return -(-MIN_STEPS // max(1, -(-n_train // batch_size)))


class _StopOrDivide:
    """Stop, or divide the learning rate, when patience runs out; log it after the epoch.

    A subclass calls :meth:`_out_of_patience` at the end of an epoch after
    which its monitored loss has not improved for ``patience`` epochs. With
    ``plateau``, the first time the network goes back to the best epoch's
    parameters, the learning rate is multiplied by :data:`PLATEAU_FACTOR` and
    training goes on until :data:`PLATEAU_PATIENCE` epochs without improvement
    (``patience`` if smaller); then, or without ``plateau``, it stops.

    skorch runs ``PrintLog`` after every other callback, and an early-stopping
    callback stops training by raising in ``on_epoch_end``, so the row of the
    epoch that decides the stop would never be printed. The messages wait in
    ``held_messages_``; training stops when the next epoch begins (or training
    ends there), after the row is printed, and the messages follow it.
    """

    plateau = False

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.held_messages_, self.stopping_, self.divided_ = [], False, False

    def on_epoch_begin(self, net, **kwargs):
        self._release()
        if self.stopping_:
            del net.history[-1]  # the row skorch opened for an epoch that will not run
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        self._release()
        super().on_train_end(net, **kwargs)

    def _patience_now(self):
        """Epochs without improvement that end this phase of training."""
        return min(self.patience, PLATEAU_PATIENCE) if self.divided_ else self.patience

    def _out_of_patience(self, net, messages):
        if not self.plateau or self.divided_:
            self.held_messages_ += messages
            self.stopping_ = True
            return
        self.divided_ = True
        epoch = self._restore_best(net)
        scale_learning_rate(net, PLATEAU_FACTOR)
        net.history.record("lr_divided", True)
        self.misses_ = 0
        self.held_messages_.append(
            f"No improvement in the last {self.patience} epochs: learning rate divided by "
            f"{1 / PLATEAU_FACTOR:g}, continuing from epoch {epoch}'s parameters until "
            f"{_epochs(self._patience_now())} without improvement."
        )

    def _restore_best(self, net):
        """Load the best joint epoch's parameters into the network; return that epoch."""
        raise NotImplementedError

    def _release(self):
        for message in self.held_messages_:
            self.sink(message)
        self.held_messages_ = []


class _LoggedEarlyStopping(_StopOrDivide, EarlyStopping):
    """skorch's ``EarlyStopping``, stopping after the verbose log shows the epoch."""

    def on_epoch_end(self, net, **kwargs):
        sink, messages = self.sink, []
        self.sink = messages.append
        try:
            super().on_epoch_end(net, **kwargs)
            if self.misses_ >= self._patience_now():  # after a division of the rate
                messages.append(
                    f"Stopping since {self.monitor} has not improved in the last "
                    f"{_epochs(self.misses_)}."
                )
                self._out_of_patience(net, messages)
        except KeyboardInterrupt:
            if len(net.history) >= self.min_epochs:
                self._out_of_patience(net, messages)
            else:  # too early to stop: stop at the next epoch without improvement
                self.misses_ -= 1
        finally:
            self.sink = sink

    def _restore_best(self, net):
        if self.best_model_weights_ is not None:
            net.module_.load_state_dict(self.best_model_weights_)
        return self.best_epoch_


def scale_learning_rate(net, factor):
    """Multiply the learning rate of every parameter group of the net's optimizer."""
    for group in net.optimizer_.param_groups:
        group["lr"] *= factor


class TrainLossPlateau(Callback):
    """``lr_schedule="plateau"`` without early stopping: one division, on the training loss.

    When the ``task_weights``-weighted sum of the per-task training losses has
    not fallen by ``threshold`` for ``patience`` epochs (and ``min_epochs``
    have run), the learning rate is multiplied by :data:`PLATEAU_FACTOR`, once;
    training goes on to ``max_epochs``.
    """

    def __init__(self, patience, threshold, sink=print, min_epochs=0):
        self.patience = patience
        self.threshold = threshold
        self.sink = sink
        self.min_epochs = min_epochs

    def on_train_begin(self, net, **kwargs):
        self.best_, self.misses_, self.dropped_ = np.inf, 0, False

    def on_epoch_end(self, net, **kwargs):
        if self.dropped_:
            return
        losses = np.array([net.history[-1, f"train_loss_{name}"] for name in net.task_names])
        base = net.base_weights.cpu().numpy()
        loss = float(np.nansum(base * losses))
        if loss < self.best_ - self.threshold:
            self.best_, self.misses_ = loss, 0
        else:
            self.misses_ += 1
        if self.misses_ >= self.patience and len(net.history) >= self.min_epochs:
            scale_learning_rate(net, PLATEAU_FACTOR)
            net.history.record("lr_divided", True)
            self.dropped_ = True
            self.sink(
                f"Training loss has not improved in the last {self.patience} epochs: "
                f"learning rate divided by {1 / PLATEAU_FACTOR:g}."
            )


def lr_schedule_callback(schedule, total_steps):
    """The learning rate's decay over ``total_steps`` optimizer steps, stepped every batch.

    ``schedule`` is ``"cosine"`` (``lr * (1 + cos(pi t / T)) / 2``) or
    ``"linear"`` (``lr * (1 - t / T)``); after ``T`` steps the factor stays 0.
    Returned as a ``(name, callback)`` pair for ``MultiTaskNet(callbacks=[...])``.
    """
    factor = functools.partial(_DECAYS[schedule], total_steps=max(1, total_steps))
    callback = LRScheduler(torch.optim.lr_scheduler.LambdaLR, step_every="batch", lr_lambda=factor)
    return ("lr_scheduler", callback)


def _cosine(step, total_steps):
    return 0.5 * (1.0 + math.cos(math.pi * min(step / total_steps, 1.0)))


def _linear(step, total_steps):
    return max(0.0, 1.0 - step / total_steps)


_DECAYS = {"cosine": _cosine, "linear": _linear}


def per_task_early_stopping_callback(n_iter_no_change, tol, verbose, min_epochs=0, plateau=False):
    """:class:`PerTaskEarlyStopping` as a ``(name, callback)`` pair, like the joint one."""
    sink = print if verbose else _silent
    callback = PerTaskEarlyStopping(n_iter_no_change, tol, sink=sink, min_epochs=min_epochs)
    callback.plateau = plateau
    return ("early_stopping", callback)


def train_loss_plateau_callback(n_iter_no_change, tol, verbose, min_epochs=0):
    """:class:`TrainLossPlateau` as a ``(name, callback)`` pair."""
    sink = print if verbose else _silent
    callback = TrainLossPlateau(n_iter_no_change, tol, sink=sink, min_epochs=min_epochs)
    return ("lr_plateau", callback)


class PerTaskEarlyStopping(_StopOrDivide, Callback):
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

    Parameters
    ----------
    patience : int
        Epochs without improvement of any task before training stops.
    threshold : float
        Smallest decrease of a validation loss that counts as improvement.
    sink : callable, default=print
        Where the stopping message goes.
    min_epochs : int, default=0
        Training never stops before this many epochs.
    """

    def __init__(self, patience, threshold, sink=print, min_epochs=0):
        self.patience = patience
        self.threshold = threshold
        self.sink = sink
        self.min_epochs = min_epochs

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.keys_ = ["valid_loss"] + [f"valid_loss_{name}" for name in net.task_names]
        self.best_scores_ = dict.fromkeys(self.keys_, np.inf)
        self.best_epochs_ = dict.fromkeys(self.keys_)
        self.states_ = {}
        self.misses_ = 0

    def on_epoch_end(self, net, **kwargs):
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
        self.misses_ = 0 if improved else self.misses_ + 1
        if self.misses_ >= self._patience_now() and len(history) >= self.min_epochs:
            message = (
                "Stopping since no task's validation loss has improved in the last "
                f"{_epochs(self.misses_)}."
            )
            self._out_of_patience(net, [message])

    def _restore_best(self, net):
        joint = self.best_epochs_["valid_loss"]
        if joint is not None:
            restore(net.module_, self.states_[joint])
        return joint

    def on_train_end(self, net, **kwargs):
        super().on_train_end(net, **kwargs)
        joint = self.best_epochs_["valid_loss"]
        if joint is None:
            return
        restore(net.module_, self.states_[joint])
        best = {name: self.best_epochs_[f"valid_loss_{name}"] or joint for name in net.task_names}
        net.best_epochs_ = best
        net.task_states_ = {e: self.states_[e] for e in set(best.values()) if e != joint}
        # The states now live on the net, pickled once.
        self.states_ = {}


def _epochs(n):
    return "1 epoch" if n == 1 else f"{n} epochs"


def _silent(*args, **kwargs):
    pass
