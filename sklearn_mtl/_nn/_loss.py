"""The multi-task loss: one masked, weighted loss per task."""

import torch
from torch import nn


class MultiTaskLoss(nn.Module):
    """One loss per task, averaged over the entries labelled for that task.

    ``forward(outputs, y, w)`` takes the network's outputs, the encoded targets
    ``y`` of shape ``(batch, n_columns)``, in which each task owns a slice of
    columns (one, or one per label of a multilabel task), and row weights
    ``w`` of the same shape (0 where the label is missing, else the sample
    and class weight). It returns the per-task losses ``sum(w * loss) /
    sum(w)`` over the task's columns and the per-task weight sums; a task with
    no labelled entry in the batch gets loss 0 and no gradient. ``w=None``
    means every entry is labelled and weighs 1: each task's loss is then its
    plain mean, without masks.

    Parameters
    ----------
    task_names : list of str
        Task order.
    task_types : list of task type objects
        Each with ``loss(output, target)`` returning per-row (or per-row and
        label) losses, and ``mean_loss`` their mean.
    slices : list of slice, default=None
        Each task's columns of ``y``; None means one column per task, in order.
    """

    def __init__(self, task_names, task_types, slices=None):
        super().__init__()
        self.task_names = list(task_names)
        self.task_types = list(task_types)
        if slices is None:
            slices = [slice(j, j + 1) for j in range(len(self.task_names))]
        self.slices = list(slices)
        widths = [s.stop - s.start for s in self.slices]
        owner = torch.cat([torch.full((width,), j) for j, width in enumerate(widths)])
        # Which task each column belongs to, to sum the columns of each task at once.
        self.register_buffer("owner", owner, persistent=False)
        self.register_buffer("widths", torch.tensor(widths, dtype=torch.float32), persistent=False)
        self._counts = {}

    def forward(self, outputs, y, w):
        if w is None:
            return self._unmasked(outputs, y)
        labelled = w > 0
        per_cell = []
        for name, task, columns in zip(self.task_names, self.task_types, self.slices):
            rows = labelled[:, columns]
            target = y[:, columns] if task.two_dimensional else y[:, columns.start]
            output = outputs[name]
            if output.dim() == 3:  # (batch, k, n): an ensemble's members in training
                per_cell.append(_member_loss(task, output, rows, target))
                continue
            loss = task.loss(_labelled_only(output, rows), target)
            per_cell.append(loss.reshape(len(y), -1))
        per_cell = torch.cat(per_cell, dim=1)
        # Selected, not multiplied by 0: an unlabelled entry's loss may overflow (0 x inf = NaN).
        per_cell = torch.where(labelled, per_cell * w, torch.zeros_like(per_cell))
        n_tasks = len(self.task_names)
        loss_sums = per_cell.new_zeros(n_tasks).index_add(0, self.owner, per_cell.sum(dim=0))
        weight_sums = w.new_zeros(n_tasks).index_add(0, self.owner, w.sum(dim=0))
        denominators = torch.where(weight_sums > 0, weight_sums, torch.ones_like(weight_sums))
        return loss_sums / denominators, weight_sums

    def _unmasked(self, outputs, y):
        """Each task's mean loss when every entry is labelled and weighs 1."""
        return torch.stack(self.task_means(outputs, y)), self.counts(y)

    def task_means(self, outputs, y):
        """Each task's plain mean loss, as a list of scalars: every entry labelled, of weight 1.

        What ``forward(outputs, y, None)`` stacks, for a caller that adds the
        losses itself (a stack and a sum cost more in the backward pass than
        additions).
        """
        losses = []
        for name, task, columns in zip(self.task_names, self.task_types, self.slices):
            target = y[:, columns] if task.two_dimensional else y[:, columns.start]
            output = outputs[name]
            if output.dim() == 3:  # (batch, k, n): an ensemble's members in training
                k = output.shape[1]
                output, target = output.flatten(0, 1), target.repeat_interleave(k, dim=0)
            losses.append(task.mean_loss(output, target))
        return losses

    def counts(self, y):
        """The per-task weight sums of a batch ``y`` whose entries are all labelled, of weight 1."""
        key = (len(y), y.device)
        counts = self._counts.get(key)
        if counts is None:  # one per batch size and device, mostly one per fit
            counts = self._counts[key] = self.widths * len(y)
        return counts


def _member_loss(task, output, labelled, target):
    """Each row's (or cell's) loss averaged over the ``k`` members of an ensemble."""
    n, k = output.shape[:2]
    flat = _labelled_only(output.flatten(0, 1), labelled.repeat_interleave(k, dim=0))
    loss = task.loss(flat, target.repeat_interleave(k, dim=0))
    return loss.reshape(n, k, -1).mean(dim=1)


def _labelled_only(output, labelled):
    """``output`` with no gradient through unlabelled rows (or cells).

    Their loss is discarded by ``torch.where``, but its derivative would still be
    multiplied by 0 on the way back, and 0 x inf is NaN. ``labelled`` is
    ``(batch, 1)`` (broadcast over the outputs) or ``(batch, n_outputs)``.
    """
    if labelled.shape[1] != output.shape[1]:
        labelled = labelled.any(dim=1, keepdim=True)
    return torch.where(labelled, output, output.detach())
