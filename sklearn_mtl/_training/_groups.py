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

#: Up to this many tasks every partition is scored; beyond, those of greedy merges.
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
    """Total affinity onto each task from its group, per block and chunk (TAG's objective).

    ``affinity`` is ``(n_blocks, n_chunks, n_tasks, n_tasks)``, ``[b, c, i,
    j]`` the lookahead affinity of task ``i`` onto task ``j`` on held-out
    chunk ``c`` in measurement block ``b``;
    ``labels[t]`` is task ``t``'s group. Each task scores the mean affinity
    onto it from the other tasks of its group (0 alone), so a task that helps
    no other lowers the score of the group it joins.
    """
    labels = np.asarray(labels)
    together = (labels[:, None] == labels[None, :]).astype(float)
    np.fill_diagonal(together, 0.0)
    members = together.sum(axis=0)
    onto = (affinity * together).sum(axis=-2)
    return (onto / np.maximum(members, 1.0)).sum(axis=-1)


def standard_error(values):
    """Standard error of the mean of ``(n_blocks, n_chunks)`` values with crossed noise.

    Blocks of steps and chunks of held-out rows are two independent sources
    of noise: the variance of the mean is bounded by that of the block means
    over the blocks plus that of the chunk means over the chunks.
    """
    n_blocks, n_chunks = values.shape
    return np.sqrt(
        values.mean(axis=1).var(ddof=1) / n_blocks + values.mean(axis=0).var(ddof=1) / n_chunks
    )


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
    their groups (:func:`group_score`) over one group of every task, per
    block of measurements and chunk of held-out rows. A partition is
    supported when the lower bound ``mean - t * SE`` of its gain is above 0
    (:func:`standard_error`; ``t`` Student's quantile for ``confidence`` and
    ``min(n_blocks, n_chunks) - 1`` degrees of freedom: 3.18 for 4 at 0.95);
    the chosen one is the supported partition of largest mean gain, else one
    group of every task.
    So a task that helps no other stands alone, and tasks stay together
    unless the held-out evidence clearly says otherwise. Every partition is scored for
    up to :data:`EXHAUSTIVE_TASKS` tasks; beyond, those met on the way from
    one group per task to one of all, merging the pair of groups of highest
    mean affinity first. Of equal gains, the fewest groups win.

    Returns
    -------
    groups : list of list of str
    """
    affinity = np.asarray(affinity, dtype=float)
    # A block never measured says nothing; a task unlabelled in a chunk, no affinity.
    affinity = np.nan_to_num(affinity[~np.isnan(affinity).all(axis=(1, 2, 3))])
    n_blocks, n_chunks = affinity.shape[:2]
    n_tasks = len(names)
    if min(n_blocks, n_chunks) < 2:
        return [list(names)]
    z = stats.t.ppf((1 + confidence) / 2, min(n_blocks, n_chunks) - 1)
    base = group_score(affinity, np.zeros(n_tasks, dtype=int))

    def gain(labels):
        """The mean gain if its lower bound is above 0, else 0 (not supported)."""
        gains = group_score(affinity, labels) - base
        return gains.mean() if gains.mean() - z * standard_error(gains) > 0 else 0.0

    best, best_gain = (0,) * n_tasks, 0.0
    if n_tasks <= EXHAUSTIVE_TASKS:
        candidates = _partitions(n_tasks)
    else:
        candidates = [tuple(range(n_tasks)), *_merges(affinity.mean(axis=(0, 1)))]
    for labels in candidates:
        value = gain(labels)
        tie = abs(value - best_gain) <= 1e-12 and len(set(labels)) < len(set(best))
        if value > best_gain + 1e-12 or (value > 0 and tie):
            best, best_gain = labels, value
    groups = {}
    for name, label in zip(names, best):
        groups.setdefault(label, []).append(name)
    return list(groups.values())


def _merges(mean_affinity):
    """Partitions from one group per task to one of all, merging the closest groups first.

    Average linkage on the symmetrised affinity: the pair of groups whose
    tasks' mean affinity to each other is highest merges next.
    """
    both = mean_affinity + mean_affinity.T
    groups = [[t] for t in range(len(both))]
    while len(groups) > 1:
        pairs = itertools.combinations(range(len(groups)), 2)
        g, h = max(pairs, key=lambda p: both[np.ix_(groups[p[0]], groups[p[1]])].mean())
        groups = [*(x for k, x in enumerate(groups) if k not in (g, h)), groups[g] + groups[h]]
        labels = np.empty(len(both), dtype=int)
        for label, group in enumerate(groups):
            labels[group] = label
        yield tuple(labels)


def affinity_frame(affinity, names):
    """The mean of ``(n_blocks, n_chunks, n_tasks, n_tasks)`` affinity as a DataFrame.

    Row ``i``, column ``j``: the affinity of task ``i`` onto task ``j``; the
    standard error over blocks and chunks (each pair of them one value) is in
    ``attrs["standard_error"]``, a DataFrame too.
    """
    affinity = np.asarray(affinity, dtype=float)
    affinity = affinity.reshape(-1, *affinity.shape[-2:])
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
