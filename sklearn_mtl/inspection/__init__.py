"""Inspect task relationships: does multi-task learning help, and which tasks cooperate.

- :func:`compare_single_task`: cross-validated scores, multi-task against each
  task alone, with a verdict per task;
- :func:`task_affinity`: cosine similarity of the tasks' gradients on the shared
  parameters; :func:`lookahead_affinity`: how a step on one task changes the
  others' held-out losses (TAG); :func:`gate_weights`, :func:`stitch_weights`;
- plots (matplotlib, the ``plot`` extra): :func:`plot_training_history`,
  :func:`plot_task_weights`, :func:`plot_task_affinity`, :func:`plot_lookahead_affinity`.
"""

from ._affinity import lookahead_affinity, task_affinity
from ._gates import gate_weights, stitch_weights
from ._plot import (
    plot_lookahead_affinity,
    plot_task_affinity,
    plot_task_weights,
    plot_training_history,
)
from ._single_task import compare_single_task

__all__ = [
    "compare_single_task",
    "gate_weights",
    "lookahead_affinity",
    "plot_lookahead_affinity",
    "plot_task_affinity",
    "plot_task_weights",
    "plot_training_history",
    "stitch_weights",
    "task_affinity",
]
