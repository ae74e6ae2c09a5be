"""Task groups: checking a partition given as ``task_groups``, choosing one from affinity.

:func:`check_task_groups` reads the parameter; :func:`choose_groups` picks the
partition that the lookahead affinity (:mod:`._lookahead`) clearly supports.
"""

import itertools
import warnings

import numpy as np
import pandas as pd
from scipy import stats

#: A partition is chosen over sharing every task only when the lower end of a
#: two-sided interval of this confidence for its gain in affinity, over the
#: held-out chunks (Student's t: few chunks), is above 0.
SPLIT_CONFIDENCE = 0.95

#: Up to this many tasks every partition is scored; beyond, a greedy search.
EXHAUSTIVE_TASKS = 8


def check_task_groups(task_groups, names):
    """``task_groups`` as a tuple of tuples of task names, None, or ``"auto"``.

    None stays None (every task shares); so does a partition of one group.
    Raises a ``ValueError`` naming the problem and the fix for a group that is
    empty or not a list of names, an unknown task, a task in two groups, or a
    task left out.
    """
    if task_groups is None or isinstance(task_groups, str):
        return task_groups
    example = f"e.g. task_groups={[list(names[:1]), list(names[1:])]}"
    groups = []
    for group in task_groups:
        if isinstance(group, str) or not hasattr(group, "__iter__"):
            raise ValueError(
                f"task_groups must be a list of lists of task names; {group!r} is not a "
                f"list. Put each task in a list of its group, {example}."
            )
        group = tuple(group)
        if not group:
            raise ValueError(f"task_groups has an empty group; drop it, {example}.")
        groups.append(group)
    seen = {}
    for i, group in enumerate(groups):
        for task in group:
            if task not in names:
                raise ValueError(
                    f"task_groups names {task!r}, which is not a task; tasks are {list(names)}."
                )
            if task in seen:
                raise ValueError(
                    f"task_groups puts task {task!r} in two groups ({seen[task]} and {i}); "
                    "each task must be in exactly one group."
                )
            seen[task] = i
    missing = [task for task in names if task not in seen]
    if missing:
        raise ValueError(
            f"task_groups leaves out {missing}; every task must be in one group (a group "
            f"of its own to train it alone), e.g. add {[missing[0]]}."
        )
    return None if len(groups) == 1 else tuple(groups)


def group_score(affinity, labels):
    """Total affinity onto each task from its group, per chunk (TAG's objective).

    ``affinity`` is ``(n_chunks, n_tasks, n_tasks)``, ``[c, i, j]`` the
    lookahead affinity of task ``i`` onto task ``j`` on held-out chunk ``c``;
    ``labels[t]`` is task ``t``'s group. Each task scores the mean affinity
    onto it from the other tasks of its group (0 alone), so a task that helps
    no other lowers the score of the group it joins.
    """
    labels = np.asarray(labels)
    together = (labels[:, None] == labels[None, :]).astype(float)
    np.fill_diagonal(together, 0.0)
    members = together.sum(axis=0)
    onto = (affinity * together).sum(axis=1)
    return (onto / np.maximum(members, 1.0)).sum(axis=1)


def _partitions(n):
    """Every partition of ``range(n)`` as group labels (restricted growth strings)."""
    if n == 0:
        yield ()
        return
    for labels in _partitions(n - 1):
        for label in range(max(labels, default=-1) + 2):
            yield (*labels, label)


def choose_groups(affinity, names, confidence=SPLIT_CONFIDENCE):
    """The partition of ``names`` that the affinity clearly supports over sharing.

    Each partition is scored by its gain in affinity onto the tasks from
    their groups (:func:`group_score`) over one group of every task, on each
    held-out chunk. A partition is supported when the lower bound ``mean - t
    * SE`` of its gain over the chunks is above 0 (``t`` Student's quantile
    for ``confidence`` and ``n_chunks - 1`` degrees of freedom: 3.18 for 4
    chunks at 0.95); the chosen one is the supported partition of largest
    mean gain, else one group of every task.
    So a task that helps no other stands alone, and tasks stay together
    unless the held-out evidence clearly says otherwise. Every partition is scored for
    up to :data:`EXHAUSTIVE_TASKS` tasks; beyond, tasks are moved one at a
    time between groups while the gain grows.

    Returns
    -------
    groups : list of list of str
    """
    affinity = np.nan_to_num(np.asarray(affinity, dtype=float))
    n_chunks, n_tasks = affinity.shape[0], len(names)
    z = stats.t.ppf((1 + confidence) / 2, max(n_chunks - 1, 1))
    base = group_score(affinity, np.zeros(n_tasks, dtype=int))

    def gain(labels):
        """The mean gain if its lower bound is above 0, else 0 (not supported)."""
        gains = group_score(affinity, labels) - base
        se = gains.std(ddof=1) / np.sqrt(n_chunks) if n_chunks > 1 else 0.0
        return gains.mean() if gains.mean() - z * se > 0 else 0.0

    best, best_gain = (0,) * n_tasks, 0.0
    if n_tasks <= EXHAUSTIVE_TASKS:
        candidates = _partitions(n_tasks)
    else:
        candidates = _greedy(gain, n_tasks)
    for labels in candidates:
        value = gain(labels)
        if value > best_gain + 1e-12:
            best, best_gain = labels, value
    groups = {}
    for name, label in zip(names, best):
        groups.setdefault(label, []).append(name)
    return list(groups.values())


def _greedy(gain, n_tasks):
    """Partitions visited by moving one task at a time while ``gain`` grows."""
    labels, current = [0] * n_tasks, gain([0] * n_tasks)
    while True:
        moves = (
            labels[:t] + [label] + labels[t + 1 :]
            for t, label in itertools.product(range(n_tasks), range(max(labels) + 2))
            if label != labels[t]
        )
        scored = [(gain(move), move) for move in moves]
        value, move = max(scored, key=lambda pair: pair[0])
        if value <= current + 1e-12:
            return
        labels, current = move, value
        yield tuple(labels)


def affinity_frame(affinity, names):
    """The mean over chunks of ``(n_chunks, n_tasks, n_tasks)`` affinity as a DataFrame.

    Row ``i``, column ``j``: the affinity of task ``i`` onto task ``j``; the
    standard error over chunks is in ``attrs["standard_error"]`` (a DataFrame too).
    """
    affinity = np.asarray(affinity, dtype=float)
    index = pd.Index(names, name="step_on")
    columns = pd.Index(names, name="loss_of")
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(affinity, axis=0)
        counts = np.isfinite(affinity).sum(axis=0)
        se = np.nanstd(affinity, axis=0, ddof=1) / np.sqrt(counts)
    frame = pd.DataFrame(mean, index=index, columns=columns)
    frame.attrs["standard_error"] = pd.DataFrame(se, index=index, columns=columns)
    return frame
