"""Plots of a fitted model's training history and of task affinity (needs matplotlib)."""

import numpy as np

from .._pipeline import fitted_final_estimator
from .._tasks import check_fitted_tasks


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "Plotting needs matplotlib, which is not installed; install it with "
            "pip install 'sklearn_mtl[plot]' (or pip install matplotlib)."
        ) from None
    return plt


def _axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots()
    return ax


def plot_training_history(estimator, *, tasks=None, ax=None):
    """Per-task training (solid) and validation (dashed) loss against the epoch.

    Validation curves appear when the model was fitted with
    ``early_stopping=True`` (the only case with a validation split).

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        A fitted estimator, or a fitted Pipeline ending in one.
    tasks : list of str, default=None
        Tasks to draw; None draws every task.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    plot_task_weights : The task weights in force at each epoch.

    Examples
    --------
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.datasets import make_multitask
    >>> from sklearn_mtl.inspection import plot_training_history
    >>> X, Y = make_multitask(100, 3, 2, ["regression", "binary"], random_state=0)
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)
    >>> ax = plot_training_history(est.fit(X, Y), tasks=["task_1"])
    >>> ax.get_legend_handles_labels()[1]
    ['task_1 (train)', 'task_1 (validation)']
    """
    _, final = fitted_final_estimator(estimator)
    tasks = _check_tasks(final, tasks)
    ax = _axes(ax)
    history = final.history_
    epochs = np.asarray(history[:, "epoch"])
    has_valid = "valid_loss" in history[-1]
    for i, task in enumerate(tasks):
        color = f"C{i % 10}"
        ax.plot(epochs, history[:, f"train_loss_{task}"], color=color, label=f"{task} (train)")
        if has_valid:
            ax.plot(
                epochs,
                history[:, f"valid_loss_{task}"],
                color=color,
                linestyle="--",
                label=f"{task} (validation)",
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Per-task losses")
    ax.legend()
    return ax


def plot_task_weights(estimator, *, tasks=None, ax=None):
    """The weight each task's loss received at each epoch (mean over its batches).

    Flat lines for ``weighting="static"``; dynamic strategies show how they
    shift the balance between tasks during training.

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        Fitted, alone or at the end of a Pipeline, with any weighting.
    tasks : list of str, default=None
        Tasks whose weights to draw (every task by default).
    ax : matplotlib Axes, default=None
        The axes to draw the weights on, or None for a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on, one line per task.

    See Also
    --------
    plot_training_history : Per-task losses against the epoch.
    """
    _, final = fitted_final_estimator(estimator)
    tasks = _check_tasks(final, tasks)
    ax = _axes(ax)
    history = final.history_
    epochs = np.asarray(history[:, "epoch"])
    for i, task in enumerate(tasks):
        ax.plot(epochs, history[:, f"weight_{task}"], color=f"C{i % 10}", label=task)
    ax.set_xlabel("epoch")
    ax.set_ylabel("task weight")
    ax.set_title(f"Task weights ({type(final.weighting_).__name__})")
    ax.legend()
    return ax


def plot_task_affinity(affinity, *, ax=None, cmap="RdBu_r", annotate=True):
    """Draw a task-affinity matrix as a heatmap on the fixed scale [-1, 1].

    Parameters
    ----------
    affinity : pandas.DataFrame of shape (n_tasks, n_tasks)
        The result of :func:`task_affinity`.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    cmap : str or Colormap, default="RdBu_r"
        A diverging colormap: cooperating tasks red, conflicting tasks blue.
    annotate : bool, default=True
        Write each value in its cell.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    task_affinity : Computes the matrix.
    """
    values = np.asarray(affinity, dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(
            f"affinity must be a square matrix (the result of task_affinity); got shape "
            f"{values.shape}."
        )
    ax = _axes(ax)
    image = ax.imshow(values, cmap=cmap, vmin=-1, vmax=1)
    labels = [str(label) for label in getattr(affinity, "columns", range(len(values)))]
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    if annotate:
        for i in range(len(values)):
            for j in range(len(values)):
                if np.isfinite(values[i, j]):
                    color = "white" if abs(values[i, j]) > 0.6 else "black"
                    ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", color=color)
    ax.figure.colorbar(image, ax=ax, label="gradient cosine similarity")
    ax.set_title("Task affinity")
    return ax


def _check_tasks(final, tasks):
    if tasks is None:
        return list(final.tasks_)
    check_fitted_tasks(tasks, final.tasks_, where="Unknown")
    return list(tasks)
