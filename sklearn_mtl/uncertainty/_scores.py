"""Conformity scores: how far a labelled row is from what a task predicts, and back to bounds.

Each score reads a fitted task object and its raw network outputs; a
calibration threshold of its scores turns into intervals or prediction sets.
"""

import math

import numpy as np

from .._tasks import level_weights


class ConformityScore:
    """A conformity score of some task types: larger means a worse fit.

    ``scores`` gives each labelled row's score (a multilabel task: each
    cell's, NaN where missing); ``predict`` gives the interval or set whose
    rows hold every value scoring at most ``threshold``. ``alpha`` is the
    miscoverage the threshold is taken for (CQR's bounds depend on it).
    """

    name = ""
    #: ``"interval"`` (regression and count tasks) or ``"set"`` (classification).
    output = "interval"
    type_names = ()

    def applies(self, task):
        """Whether task objects of ``task``'s type (and loss) can be calibrated with this score."""
        return task.type_name in self.type_names

    def scores(self, task, output, y, alpha, rng):
        raise NotImplementedError

    def predict(self, task, output, threshold, alpha):
        raise NotImplementedError


class AbsoluteScore(ConformityScore):
    """``|y - y_pred|``: intervals of one width for every row (clipped at 0 for counts)."""

    name = "absolute"
    type_names = ("regression", "count")

    def spread(self, task, prediction):
        return np.ones_like(prediction)

    def scores(self, task, output, y, alpha, rng):
        prediction = task.predict(output)
        return np.abs(y - prediction) / self.spread(task, prediction)

    def predict(self, task, output, threshold, alpha):
        prediction = task.predict(output)
        half = threshold * self.spread(task, prediction)
        lower = prediction - half
        if task.type_name == "count":
            lower = np.maximum(lower, 0.0)
        return np.column_stack([lower, prediction + half])


class PearsonScore(AbsoluteScore):
    """``|y - mu| / sqrt(V(mu))``, the Pearson residual of a count task.

    ``V(mu) = mu ** power`` is the variance function of the task's Tweedie
    loss (``mu`` for Poisson counts), so that intervals grow with the expected
    count: a count of 3 and one of 800 do not get the same width.
    """

    name = "pearson"
    type_names = ("count",)

    def spread(self, task, prediction):
        return np.maximum(prediction, np.finfo(np.float64).tiny) ** (task.power / 2)


class QuantileScore(ConformityScore):
    """Conformalized quantile regression (CQR) on a task's quantile head.

    The head's quantiles at ``alpha / 2`` and ``1 - alpha / 2`` (interpolated
    between its levels; the outermost ones beyond them) are the raw bounds;
    the score ``max(lower - y, y - upper)`` moves both by one threshold.
    """

    name = "quantile"
    type_names = ("regression",)

    def applies(self, task):
        return super().applies(task) and task.quantiles is not None

    def bounds(self, task, output, alpha):
        quantiles = task.predict_quantiles(output)
        lower = quantiles @ level_weights(task.quantiles, alpha / 2)
        return lower, quantiles @ level_weights(task.quantiles, 1 - alpha / 2)

    def scores(self, task, output, y, alpha, rng):
        lower, upper = self.bounds(task, output, alpha)
        return np.maximum(lower - y, y - upper)

    def predict(self, task, output, threshold, alpha):
        lower, upper = self.bounds(task, output, alpha)
        lower, upper = lower - threshold, upper + threshold
        # A negative threshold narrows the band; where it would turn over, a point.
        middle = (lower + upper) / 2
        return np.column_stack([np.minimum(lower, middle), np.maximum(upper, middle)])


class LacScore(ConformityScore):
    """LAC: one minus the probability of the true class; sets of the likely enough classes.

    The smallest sets on average for their coverage (Sadinle, Lei and
    Wasserman, 2019), possibly empty on an uncertain row. An ordinal task's
    sets are filled in to ranges: a class scores one minus the smaller of the
    largest probabilities at or below it and at or above it, so that a set
    runs from its lowest likely class to its highest. A multilabel task's
    labels are each calibrated as a binary task (a threshold per label).
    """

    name = "lac"
    output = "set"
    type_names = ("binary", "multiclass", "ordinal", "multilabel")

    def class_scores(self, task, output):
        """The score each class (each label's 0 and 1) would have, ``(n, n_classes[, 2])``."""
        proba = task.proba(output.double()).numpy()
        if task.two_dimensional:
            return np.stack([proba, 1 - proba], axis=-1)
        if task.type_name == "ordinal":
            below = np.maximum.accumulate(proba, axis=1)
            proba = np.minimum(below, np.maximum.accumulate(proba[:, ::-1], axis=1)[:, ::-1])
        return 1 - proba

    def scores(self, task, output, y, alpha, rng):
        scores = self.class_scores(task, output)
        if task.two_dimensional:
            return np.where(np.isnan(y), np.nan, np.where(y == 1, scores[..., 1], scores[..., 0]))
        return scores[np.arange(len(y)), task.encode(y).astype(np.intp)]

    def predict(self, task, output, threshold, alpha):
        scores = self.class_scores(task, output)
        if task.two_dimensional:
            return scores <= np.asarray(threshold)[:, None]
        return scores <= threshold


class ApsScore(ConformityScore):
    """APS: the probability mass of the classes ranked before the true one, and part of its own.

    Classes are ranked by probability (Romano, Sesia and Candès, 2020), or
    for an ordinal task along a contiguous path from the most probable class
    that takes the more probable neighbour first (ordinal APS, Lu et al.,
    2022), so that its sets are ranges of classes. Calibration scores add a
    uniform random share of the true class's probability; a set holds the
    classes ranked until their mass passes the threshold, the last one
    included (MAPIE's ``include_last_label=True``), never empty: their
    coverage exceeds the level asked, by much with few classes.
    """

    name = "aps"
    output = "set"
    type_names = ("binary", "multiclass", "ordinal")

    def _ranked(self, task, output):
        """Each row's probabilities, the class order, and the mass before each rank."""
        proba = task.proba(output.double()).numpy()
        if task.type_name == "ordinal":
            order = contiguous_order(proba)
        else:
            order = np.argsort(-proba, axis=1, kind="stable")
        ranked = np.take_along_axis(proba, order, axis=1)
        return proba, order, np.cumsum(ranked, axis=1) - ranked

    def scores(self, task, output, y, alpha, rng):
        proba, order, before = self._ranked(task, output)
        codes = task.encode(y).astype(np.intp)[:, None]
        rank = np.argmax(order == codes, axis=1)[:, None]
        own = np.take_along_axis(proba, codes, axis=1)
        return (np.take_along_axis(before, rank, axis=1) + rng.uniform(size=own.shape) * own)[:, 0]

    def predict(self, task, output, threshold, alpha):
        proba, order, before = self._ranked(task, output)
        sets = np.zeros(proba.shape, dtype=bool)
        np.put_along_axis(sets, order, before <= threshold, axis=1)
        return sets


def contiguous_order(proba):
    """Per row, the classes in the order a range grows from the most probable one.

    At each step the range takes the more probable of its two neighbours (the
    lower one on a tie); ``(n_samples, n_classes)`` class indices.
    """
    n, k = proba.shape
    rows = np.arange(n)
    low = high = proba.argmax(axis=1)
    order = [low]
    for _ in range(k - 1):
        below = np.where(low > 0, proba[rows, np.maximum(low - 1, 0)], -np.inf)
        above = np.where(high < k - 1, proba[rows, np.minimum(high + 1, k - 1)], -np.inf)
        take_below = below >= above
        low = np.where(take_below, low - 1, low)
        high = np.where(take_below, high, high + 1)
        order.append(np.where(take_below, low, high))
    return np.column_stack(order)


#: Registry: name accepted by ``conformity_score=`` -> class.
SCORES = {
    score.name: score for score in (AbsoluteScore, PearsonScore, QuantileScore, LacScore, ApsScore)
}


def default_score(task):
    """The name of the score a task is calibrated with unless told otherwise."""
    if task.type_name == "regression":
        return "absolute" if task.quantiles is None else "quantile"
    return "pearson" if task.type_name == "count" else "lac"


def min_rows(alpha):
    """The fewest calibration rows whose scores have a finite ``1 - alpha`` conformal quantile."""
    return math.ceil((1 - alpha) / alpha - 1e-9)


def conformal_threshold(scores, alpha):
    """The ``ceil((n + 1)(1 - alpha))``-th smallest of ``n`` scores (needs ``n >= min_rows``)."""
    rank = math.ceil((len(scores) + 1) * (1 - alpha) - 1e-9)
    return float(np.partition(scores, rank - 1)[rank - 1])
