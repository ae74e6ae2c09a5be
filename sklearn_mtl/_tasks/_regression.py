"""Regression and count tasks: one real output per row (or per quantile), read through a link."""

import numbers

import numpy as np
import torch
from sklearn.metrics import d2_tweedie_score, r2_score

from .._features import FLOAT32_MAX
from ._base import TaskType, numeric_values

#: The levels of ``losses={task: "quantile"}``.
DEFAULT_QUANTILES = (0.05, 0.5, 0.95)

#: Regression targets up to this magnitude are standardised; beyond it the
#: network's predictions, unstandardised, could overflow float64.
LARGEST_STANDARDIZED = 1e300


class RegressionTask(TaskType):
    """A real-valued target; one output and a regression loss, or one output per quantile.

    Losses, on the (by default standardised) target: ``"squared_error"``
    (default), ``"absolute_error"`` (robust to outliers; predicts a median),
    ``"huber"`` (squared below 1 standard deviation, absolute above) and
    ``("quantile", levels)`` (``"quantile"``: levels 0.05, 0.5, 0.95): one
    output per level, twice the mean of their pinball losses (the absolute
    error for the one level 0.5), outputs that never cross (a quantile head,
    see :class:`~sklearn_mtl._nn.QuantileOutput`); :meth:`predict` gives the
    median, interpolated between the levels that surround 0.5 when it is not
    one of them.

    Attributes
    ----------
    mean_, scale_ : float
        Set by :meth:`fit`: the target's mean and standard deviation over its
        labelled rows (0 and 1 without ``standardize``).
    """

    type_name = "regression"
    score_name = "r2"
    losses = ("squared_error", "absolute_error", "huber", "quantile")

    def __init__(self, name, loss=None):
        super().__init__(name, loss)
        if self.loss_name == "quantile":
            self.loss_name = ("quantile", DEFAULT_QUANTILES)
        if isinstance(self.loss_name, tuple):
            self.quantiles = tuple(float(level) for level in self.loss_name[1])

    @classmethod
    def accepts(cls, loss):
        if isinstance(loss, tuple):
            return len(loss) == 2 and loss[0] == "quantile" and _are_levels(loss[1])
        return super().accepts(loss)

    @classmethod
    def loss_forms(cls):
        return [*super().loss_forms(), ("quantile", list(DEFAULT_QUANTILES))]

    @property
    def output_layer(self):
        return "linear" if self.quantiles is None else "quantile"

    def fit(self, values, standardize):
        values = numeric_values(self.name, values, self.type_name)
        largest = check_range(self.name, values, standardize, "regression targets")
        self.mean_, self.scale_ = 0.0, 1.0
        if standardize:
            # Divided by a power of two, the exact mean and deviation of targets whose
            # squares overflow (near 1e200) are within reach.
            factor = 2.0 ** (np.frexp(largest)[1] - 1) if largest > 0 else 1.0
            scaled = values / factor
            scale = float(scaled.std()) * factor
            self.mean_, self.scale_ = float(scaled.mean()) * factor, scale if scale > 0 else 1.0
        return self

    def encode(self, values):
        values = numeric_values(self.name, np.asarray(values), self.type_name)
        return ((values - self.mean_) / self.scale_).astype(np.float32)

    @property
    def n_outputs(self):
        return 1 if self.quantiles is None else len(self.quantiles)

    def loss(self, output, target):
        if self.quantiles is not None:
            levels = output.new_tensor(self.quantiles)
            error = target[:, None] - output
            # Doubled: a head of the one level 0.5 has the absolute error's loss, so
            # that a quantile task weighs against the others like an absolute_error task.
            return 2 * torch.maximum(levels * error, (levels - 1) * error).mean(dim=1)
        if self.loss_name == "absolute_error":
            return (output[:, 0] - target).abs()
        if self.loss_name == "huber":
            return torch.nn.functional.huber_loss(output[:, 0], target, reduction="none", delta=1.0)
        return (output[:, 0] - target) ** 2

    def mean_loss(self, output, target):
        if self.loss_name == "squared_error":
            return torch.nn.functional.mse_loss(output[:, 0], target)
        return super().mean_loss(output, target)

    def predict(self, output):
        if self.quantiles is not None:
            return self.predict_quantiles(output) @ level_weights(self.quantiles, 0.5)
        return output[:, 0].numpy().astype(np.float64) * self.scale_ + self.mean_

    def predict_quantiles(self, output):
        """The quantiles, ``(batch, n_quantiles)`` in the target's units, increasing in each row."""
        return output.numpy().astype(np.float64) * self.scale_ + self.mean_

    def score(self, y_true, y_pred, sample_weight=None):
        return r2_score(y_true, y_pred, sample_weight=sample_weight)


class CountTask(TaskType):
    """Non-negative counts (or rates); one output, the log of the expected count.

    Losses, each a Tweedie deviance with a log link (halved, as scikit-learn's
    ``HalfPoissonLoss`` and ``HalfTweedieLoss``): ``"poisson"`` (default,
    power 1), ``"tweedie"`` (power 1.5, or ``("tweedie", power)`` with
    ``1 < power < 2``: a compound Poisson-gamma, for counts of amounts with
    many zeros) and ``"gamma"`` (power 2; counts must be positive).

    With ``standardize_targets`` the counts are divided by their mean (never
    centred: they must stay >= 0), which leaves the minimiser of every
    Tweedie deviance unchanged, puts the loss on a scale near 1 whatever the
    counts' units, and starts the model near the mean count. Predictions are
    expected counts ``exp(output) * mean > 0``; the default score is
    :func:`sklearn.metrics.d2_tweedie_score` with the loss's power.

    Attributes
    ----------
    mean_, scale_ : float
        Set by :meth:`fit`: 0, and the mean count (1 without ``standardize``).
    """

    type_name = "count"
    link = "log"
    score_name = "d2_tweedie"
    losses = ("poisson", "tweedie", "gamma")
    _POWERS = {"poisson": 1.0, "tweedie": 1.5, "gamma": 2.0}

    def __init__(self, name, loss=None):
        super().__init__(name, loss)
        if isinstance(self.loss_name, tuple):
            self.power = float(self.loss_name[1])
        else:
            self.power = self._POWERS[self.loss_name]

    @classmethod
    def loss_forms(cls):
        return [*super().loss_forms(), ("tweedie", 1.5)]

    @classmethod
    def accepts(cls, loss):
        if isinstance(loss, tuple):
            return (
                len(loss) == 2
                and loss[0] == "tweedie"
                and isinstance(loss[1], numbers.Real)
                and 1 < loss[1] < 2
            )
        return super().accepts(loss)

    def fit(self, values, standardize):
        values = self._check(values)
        check_range(self.name, values, standardize, "counts")
        mean = float(np.mean(values / len(values)) * len(values))
        self.mean_, self.scale_ = 0.0, mean if standardize and mean > 0 else 1.0
        return self

    def encode(self, values):
        return (self._check(values) / self.scale_).astype(np.float32)

    def _check(self, values):
        name = self.name
        values = numeric_values(name, np.asarray(values), self.type_name)
        if (values < 0).any():
            raise ValueError(
                f"Task '{name}' is a count task but has negative counts (e.g. "
                f"{values[values < 0][:3].tolist()}); counts must be >= 0. Declare it "
                f"'regression' if negative values are real."
            )
        if self.power >= 2 and (values == 0).any():
            raise ValueError(
                f"Task '{name}' has zero counts, which the 'gamma' loss cannot fit (its "
                f"deviance needs counts > 0); use losses={{'{name}': 'poisson'}} or "
                "'tweedie'."
            )
        return values

    @property
    def n_outputs(self):
        return 1

    def loss(self, output, target):
        log_mean, p = output[:, 0], self.power
        if p == 1:
            return torch.xlogy(target, target) - target * log_mean - target + log_mean.exp()
        if p == 2:
            return log_mean - target.log() + target * (-log_mean).exp() - 1
        return (
            target ** (2 - p) / ((1 - p) * (2 - p))
            - target * ((1 - p) * log_mean).exp() / (1 - p)
            + ((2 - p) * log_mean).exp() / (2 - p)
        )

    def predict(self, output):
        return np.exp(output[:, 0].numpy().astype(np.float64)) * self.scale_

    def score(self, y_true, y_pred, sample_weight=None):
        """D^2 with the loss's power; on constant counts 1.0 if predicted exactly, else 0.0.

        Constant counts (all 0s in a fold, say) have a null deviance of 0, by
        which ``d2_tweedie_score`` divides (ZeroDivisionError or NaN); the
        score then follows ``r2_score`` and ``d2_absolute_error_score``, whose
        ``force_finite`` gives 1.0 for perfect predictions and 0.0 otherwise.
        """
        y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred)
        counted = slice(None) if sample_weight is None else np.asarray(sample_weight) > 0
        counts = y_true[counted]
        if len(y_true) > 1 and len(counts) and (counts == counts[0]).all():
            return float(np.array_equal(counts, y_pred[counted]))
        return d2_tweedie_score(y_true, y_pred, sample_weight=sample_weight, power=self.power)


def check_range(name, values, standardize, what):
    """The largest magnitude of task ``name``'s ``values``; raises where it would overflow.

    Trained unscaled, values must fit float32; scaled, their predictions must
    not overflow float64 once unscaled.
    """
    largest = float(np.abs(values).max())
    if not standardize and largest > FLOAT32_MAX:
        raise ValueError(
            f"Task '{name}' has {what} up to {largest:.3g}, too large for "
            "dtype('float32'), which the network trains in; keep "
            "standardize_targets=True or rescale the target."
        )
    if standardize and largest > LARGEST_STANDARDIZED:
        raise ValueError(
            f"Task '{name}' has {what} up to {largest:.3g}, too close to "
            f"float64's limit to be standardised and predicted without overflow (at most "
            f"{LARGEST_STANDARDIZED:.0e}); rescale the target, e.g. divide it by 1e100."
        )
    return largest


def _are_levels(levels):
    """Whether ``levels`` are quantile levels: increasing numbers strictly between 0 and 1."""
    if isinstance(levels, (str, bytes)) or not np.iterable(levels):
        return False
    levels = list(levels)
    return (
        len(levels) > 0
        and all(isinstance(level, numbers.Real) and 0 < level < 1 for level in levels)
        and all(a < b for a, b in zip(levels, levels[1:]))
    )


def level_weights(levels, level):
    """Weights ``w`` such that ``quantiles @ w`` is the quantile of ``level``.

    Linear interpolation between the two ``levels`` (increasing) that surround
    ``level``, exact when it is one of them; beyond the outermost levels, the
    outermost quantile.
    """
    levels = np.asarray(levels, dtype=np.float64)
    weights = np.zeros(len(levels))
    upper = int(np.searchsorted(levels, level))
    if upper == 0 or upper == len(levels):
        weights[min(upper, len(levels) - 1)] = 1.0
    elif levels[upper] == level:
        weights[upper] = 1.0
    else:
        share = (level - levels[upper - 1]) / (levels[upper] - levels[upper - 1])
        weights[upper - 1], weights[upper] = 1 - share, share
    return weights
