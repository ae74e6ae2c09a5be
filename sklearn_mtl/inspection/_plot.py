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


def plot_lookahead_affinity(affinity, *, groups=None, ax=None, cmap="RdBu_r", annotate=True):
    """Draw a lookahead-affinity matrix as a heatmap, tasks ordered and boxed by group.

    The colour scale is symmetric around 0 and spans the largest absolute
    value off the diagonal (a task's affinity onto itself is larger and says
    nothing about sharing): red where a step on the row's task lowered the
    column's task's held-out loss, blue where it raised it.

    Parameters
    ----------
    affinity : pandas.DataFrame of shape (n_tasks, n_tasks)
        The result of :func:`lookahead_affinity`, or an estimator's
        ``task_affinity_`` after ``task_groups="auto"``.
    groups : list of list of str, default=None
        Tasks in the order to draw them, a box around each group; None uses
        ``affinity.attrs["groups"]`` when there, else one group.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    cmap : str or Colormap, default="RdBu_r"
        A diverging colormap.
    annotate : bool, default=True
        Write each value, scaled by the power of ten shown in the title.

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    lookahead_affinity : Computes the matrix.
    plot_task_affinity : The same for gradient cosine similarity.
    """
    values = np.asarray(affinity, dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or not hasattr(affinity, "loc"):
        raise ValueError(
            "affinity must be a square DataFrame of tasks (the result of "
            f"lookahead_affinity); got {type(affinity).__name__} of shape {values.shape}."
        )
    if groups is None:
        groups = affinity.attrs.get("groups") or [list(affinity.columns)]
    order = [task for group in groups for task in group]
    values = affinity.loc[order, order].to_numpy(dtype=float)
    off = values[~np.eye(len(values), dtype=bool)]
    scale = np.nanmax(np.abs(off)) if np.isfinite(off).any() and len(off) else 1.0
    scale = scale if scale > 0 else 1.0
    power = int(np.floor(np.log10(scale)))
    ax = _axes(ax)
    image = ax.imshow(values, cmap=cmap, vmin=-scale, vmax=scale)
    ax.set_xticks(range(len(order)), order, rotation=45, ha="right")
    ax.set_yticks(range(len(order)), order)
    ax.set_xlabel("held-out loss of")
    ax.set_ylabel("step on")
    if annotate:
        for i in range(len(values)):
            for j in range(len(values)):
                if np.isfinite(values[i, j]):
                    text = f"{values[i, j] / 10.0**power:.1f}"
                    color = "white" if abs(values[i, j]) > 0.6 * scale else "black"
                    ax.text(j, i, text, ha="center", va="center", color=color, fontsize=8)
    start = 0
    for group in groups:
        size = len(group)
        ax.add_patch(
            _pyplot().Rectangle(
                (start - 0.5, start - 0.5), size, size, fill=False, edgecolor="black", lw=2
            )
        )
        start += size
    ax.figure.colorbar(image, ax=ax, label="1 - L_after / L_before")
    ax.set_title(f"Lookahead affinity (values x 1e{power})")
    return ax


def _check_tasks(final, tasks):
    if tasks is None:
        return list(final.tasks_)
    check_fitted_tasks(tasks, final.tasks_, where="Unknown")
    return list(tasks)
