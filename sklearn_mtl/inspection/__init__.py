"""Inspect task relationships: does multi-task learning help, and which tasks cooperate.

- :func:`compare_single_task`: cross-validated scores of the multi-task model
  against the same model trained on each task alone, with a verdict per task;
- :func:`task_affinity`: cosine similarity between the tasks' gradients on the
  shared parameters of a fitted model;
- plots (need matplotlib, the ``plot`` extra): :func:`plot_training_history`,
  :func:`plot_task_weights`, :func:`plot_task_affinity`.
"""

from ._affinity import task_affinity
from ._plot import plot_task_affinity, plot_task_weights, plot_training_history
from ._single_task import compare_single_task

__all__ = [
    "compare_single_task",
    "plot_task_affinity",
    "plot_task_weights",
    "plot_training_history",
    "task_affinity",
]
