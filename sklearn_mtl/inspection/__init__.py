"""Inspect task relationships: does multi-task learning help, and which tasks cooperate.

- :func:`compare_single_task`: cross-validated scores, multi-task against each
  task alone, with a verdict per task;
- :func:`task_affinity`: cosine similarity of the tasks' gradients on the shared
  parameters; :func:`gate_weights`, :func:`stitch_weights`: what soft sharing learned;
- plots (matplotlib, the ``plot`` extra): :func:`plot_training_history`,
  :func:`plot_task_weights`, :func:`plot_task_affinity`.
"""

from ._affinity import task_affinity
from ._gates import gate_weights, stitch_weights
from ._plot import plot_task_affinity, plot_task_weights, plot_training_history
from ._single_task import compare_single_task

__all__ = [
    "compare_single_task",
    "gate_weights",
    "plot_task_affinity",
    "plot_task_weights",
    "plot_training_history",
    "stitch_weights",
    "task_affinity",
]
