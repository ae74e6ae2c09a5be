"""Target statistics of categorical columns: per task, each category's smoothed mean target.

Cross-fitted in fit (each row's value comes from the other folds, as
scikit-learn's ``TargetEncoder`` does), so that a row never sees its own label;
at predict, the statistics of every row of fit. They are extra numeric inputs.
"""

from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import TargetEncoder

from ._validation import FEW_ROWS

#: Under ``target_encoding="auto"``, a categorical column gets target statistics
#: when at least :data:`RARE_ROWS_SHARE` of its rows in fit (missing values aside)
#: are in categories of fewer than :data:`RARE_CATEGORY_ROWS` rows: categories too
#: rare for a slot of their own to learn (the estimator's ``min_frequency`` pools
#: them into one), so that the column's slots carry little of what it says (an id
#: of a person, a shop, a patient seen a few times each). On the 15 public data
#: sets of ``docs/benchmarks/per_task_references.rst`` this selects one column,
#: ``rwm5yr``'s person id (2.5 rows per level, all in such categories), whose two
#: count tasks gain 0.154 and 0.170 of Poisson D^2; the rule it replaces (more than
#: 64 categories) also selected ``flights60k``'s tail number (15 rows per level, 3 %
#: of its rows in rare ones) and lost up to 0.032 there.
RARE_CATEGORY_ROWS = 5
RARE_ROWS_SHARE = 0.5


def rare_rows_share(values):
    """The share of a column's values in categories of fewer than :data:`RARE_CATEGORY_ROWS` rows.

    Missing values are left out; a column without any value gives 0.
    """
    counts = pd.Series(values.ravel()).value_counts(dropna=True).to_numpy()
    total = counts.sum()
    return float(counts[counts < RARE_CATEGORY_ROWS].sum() / total) if total else 0.0


class StatisticLookup(NamedTuple):
    """One input column made of target statistics: category string -> value.

    Attributes
    ----------
    column : int
        Which categorical column (its position among them) it reads.
    categories : ndarray of object
        The category strings of fit.
    values : ndarray of float32
        Each category's statistic.
    missing : float
        The statistic of a missing value (``default`` if fit saw none).
    default : float
        The value of a category fit never saw: the task's mean target.
    value_of : dict
        ``categories`` -> ``values``, for a few rows at a time.
    """

    column: int
    categories: np.ndarray
    values: np.ndarray
    missing: float
    default: float
    value_of: dict

    def values_of(self, strings):
        """The statistic of each category string (NaN where missing)."""
        if len(strings) <= FEW_ROWS:
            return np.array(
                [
                    self.value_of.get(v, self.default) if isinstance(v, str) else self.missing
                    for v in strings
                ],
                dtype=np.float32,
            )
        positions = pd.Index(self.categories).get_indexer(strings)
        out = np.where(positions >= 0, self.values[positions], self.default)
        return np.where(pd.isna(strings), self.missing, out).astype(np.float32)


class TargetStatistics:
    """Per-task target statistics of some categorical columns, learned in fit.

    Parameters
    ----------
    columns : list of int
        The categorical columns (positions among the categorical columns)
        that get statistics.
    random_state : int
        Seeds the folds of the cross-fitting.

    Attributes
    ----------
    lookups_ : list of StatisticLookup
        One per input column made, in order: per column, per task, one (or one
        per class of a multiclass task, per label of a multilabel one).
    """

    def __init__(self, columns, random_state):
        self.columns = columns
        self.random_state = random_state

    def fit_transform(self, strings, encoded):
        """Learn the statistics; return the cross-fitted ``(n_samples, n_outputs)`` float32 values.

        ``strings`` holds each categorical column's category strings (NaN where
        missing), ``encoded`` the fit's :class:`EncodedTargets`. A task's
        statistics come from its labelled rows; its other rows read those of
        every labelled row, as new rows do at predict.
        """
        X = np.column_stack([strings[j] for j in self.columns]).astype(object)
        outputs, self.lookups_ = [], []
        for name, task in encoded.tasks.items():
            columns = encoded.slices[name]
            for j in range(columns.start, columns.stop):
                labelled = encoded.mask[:, j]
                target = encoded.y[labelled, j]
                kind = _target_type(task, target)
                encoder = TargetEncoder(
                    target_type=kind, cv=_folds(kind, target, self.random_state)
                )
                fitted = encoder.fit_transform(X[labelled], target)
                values = encoder.transform(X)
                values[labelled] = fitted
                outputs.append(values)
                self.lookups_ += _lookups(encoder, self.columns)
        return np.column_stack(outputs).astype(np.float32)

    def transform(self, strings):
        """The statistics of new rows: ``(n_samples, n_outputs)`` float32."""
        n = len(strings[self.columns[0]])
        out = np.empty((n, len(self.lookups_)), dtype=np.float32)
        for k, lookup in enumerate(self.lookups_):
            out[:, k] = lookup.values_of(strings[lookup.column])
        return out


def _folds(kind, target, random_state):
    """Five cross-fitting folds (fewer for fewer labelled rows), shuffled.

    Stratified by class where every class has a row in each fold; otherwise
    plain, where ``StratifiedKFold`` would refuse a class of fewer rows.
    """
    n_splits = max(2, min(5, len(target)))
    if kind != "continuous" and np.unique(target, return_counts=True)[1].min() >= n_splits:
        return StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
    return KFold(n_splits, shuffle=True, random_state=random_state)


def _target_type(task, target):
    """How ``TargetEncoder`` reads a task's encoded target."""
    if task.type_name == "multiclass":
        return "multiclass"
    if task.type_name in ("binary", "multilabel") and len(np.unique(target)) == 2:
        return "binary"
    return "continuous"


def _lookups(encoder, columns):
    """The fitted encoder's statistics as lookups, in the order its ``transform`` gives them."""
    n_outputs = len(encoder.encodings_) // len(columns)
    means = np.atleast_1d(encoder.target_mean_)
    lookups = []
    for i, column in enumerate(columns):
        categories = np.asarray(encoder.categories_[i], dtype=object)
        seen = ~pd.isna(categories)
        for k in range(n_outputs):
            values = encoder.encodings_[i * n_outputs + k].astype(np.float32)
            default = float(means[k % len(means)])
            missing = float(values[~seen][0]) if (~seen).any() else default
            lookups.append(
                StatisticLookup(
                    column,
                    categories[seen],
                    values[seen],
                    missing,
                    default,
                    dict(zip(categories[seen].tolist(), values[seen].tolist())),
                )
            )
    return lookups
