"""``verbose=1``: one progress line per fit (tqdm), then the tasks' validation scores.

:class:`ProgressLine` is a skorch callback advanced once per epoch, never per
batch; :func:`report_validation_scores` prints the line that follows it.
"""

import sys
import textwrap

import numpy as np
import tqdm
from skorch.callbacks import Callback

from .._tasks import TargetDict, read_targets
from ._plan import current_plan

#: ``verbose`` from which the fit prints skorch's epoch table instead of the line.
EPOCH_TABLE = 2

#: The validation scores wrap at this width, that of the narrowest terminals.
LINE_WIDTH = 79


def announce(message, verbose, file=None):
    """Print one line about what a fit is doing, from ``verbose=1`` (process 0 only)."""
    if verbose >= 1 and current_plan().rank == 0:
        print(message, file=file or sys.stderr, flush=True)


class ProgressLine(Callback):
    """One line per fit: epochs run, time elapsed and left, the loss watched.

    The line shows the epochs run of ``max_epochs``, the time elapsed and the
    time left were every epoch to run, and the loss that early stopping
    watches (``valid_loss``; ``train_loss`` without a validation split) with
    its lowest value so far, and the epoch where ``lr_schedule="plateau"``
    divided the learning rate. At the end it shows the epoch whose network
    was kept (each task's, with ``early_stopping="per_task"``) and, when
    training stopped early, why. In a data-parallel fit only process 0 draws it.

    Cost: one update of a few numbers from the history per epoch, none per
    batch.

    Parameters
    ----------
    stopping : PatienceCallback or None, default=None
        The callback that may stop training; its ``stop_reason_`` ends the line.
    file : file object or None, default=None
        Where the line goes; None is ``sys.stderr`` as training begins, as for tqdm.
    """

    def __init__(self, *, stopping=None, file=None):
        self.stopping = stopping
        self.file = file

    def on_train_begin(self, net, **kwargs):
        self.lowest_ = np.inf
        self.divided_at_ = None
        self.bar_ = None
        if net.plan_.rank == 0:
            names = net.task_names
            self.bar_ = tqdm.tqdm(
                total=net.max_epochs,
                desc=names[0] if len(names) == 1 else f"{len(names)} tasks",
                unit="epoch",
                file=self.file or sys.stderr,
                dynamic_ncols=True,
            )

    def on_epoch_end(self, net, **kwargs):
        if self.bar_ is None:
            return
        row = net.history[-1]
        key = "valid_loss" if "valid_loss" in row else "train_loss"
        loss = row[key]
        self.lowest_ = min(self.lowest_, loss)
        if row.get("lr_divided"):
            self.divided_at_ = row["epoch"]
        status = f"{key}={loss:.4g}"
        if key == "valid_loss":
            status += f" (lowest {self.lowest_:.4g})"
        self.bar_.set_postfix_str(status + self._divided(), refresh=False)
        self.bar_.update()

    def close(self):
        """End the line where it stands: training failed."""
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
        self.bar_ = None

    def on_train_end(self, net, **kwargs):
        if self.bar_ is None:
            return
        bar, self.bar_ = self.bar_, None
        kept = net.best_epochs()
        if kept and None not in kept.values():
            bar.set_postfix_str(_kept(kept, net.history) + self._divided(), refresh=False)
        reason = None if self.stopping is None else self.stopping.stop_reason_
        if reason is not None:
            # Stopped: the time "left" to max_epochs no longer applies; why does,
            # in full, wrapped by the terminal rather than cut to its width.
            bar.bar_format = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}] stopped: "
            bar.bar_format += reason
            bar.dynamic_ncols, bar.ncols = False, None
        bar.close()

    def _divided(self):
        return "" if self.divided_at_ is None else f", lr/10 at epoch {self.divided_at_}"


def _kept(best_epochs, history):
    """The epoch (or each task's) that the fitted network predicts with, and its loss."""
    epochs = set(best_epochs.values())
    if len(epochs) == 1:
        (epoch,) = epochs
        return f"kept epoch {epoch}: valid_loss={history[epoch - 1, 'valid_loss']:.4g}"
    return "kept " + ", ".join(f"{task} epoch {epoch}" for task, epoch in best_epochs.items())


def report_validation_scores(predictor, X, targets):
    """Print each task's default score on the validation rows early stopping held out.

    ``predictor`` is the fitted :class:`~sklearn_mtl._predictor.Predictor`,
    ``X`` the encoded training features and ``targets`` the fit's
    :class:`~sklearn_mtl._tasks.Targets`. Tasks without a labelled validation
    row, and fits without a validation split, print nothing; scores are not
    weighted by ``sample_weight``. Process 0 of a data-parallel fit prints.
    """
    split = predictor.net.train_split
    if split is None or current_plan().rank != 0:
        return
    _, valid = split.rows(targets.n_samples)
    labelled = [i for i in range(len(targets.names)) if not targets.unlabelled(i)[valid].all()]
    if not labelled:
        return
    columns = {targets.names[i]: targets.columns[i] for i in labelled}
    scores = predictor.scores(X[valid], read_targets(TargetDict(columns).take(valid)))
    listed = ", ".join(
        f"{name} {predictor.tasks[name].score_name} {score:.3f}" for name, score in scores.items()
    )
    line = f"  validation ({len(valid):,} rows): {listed}"
    print(textwrap.fill(line, LINE_WIDTH, subsequent_indent="    "), file=sys.stderr)
