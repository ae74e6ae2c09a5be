"""Regression and count tasks: one real output per row, read through a link."""

import numbers

import numpy as np
import torch
from sklearn.metrics import d2_tweedie_score, r2_score

from .._features import FLOAT32_MAX
from ._base import TaskType, numeric_values

#: Regression targets up to this magnitude are standardised; beyond it the
#: network's predictions, unstandardised, could overflow float64.
LARGEST_STANDARDIZED = 1e300


class RegressionTask(TaskType):
    """A real-valued target; one output and a regression loss.

    Losses, on the (by default standardised) target: ``"squared_error"``
    (default), ``"absolute_error"`` (robust to outliers; predicts a median) and
    ``"huber"`` (squared below 1 standard deviation, absolute above).

    Attributes
    ----------
    mean_, scale_ : float
        Set by :meth:`fit`: the target's mean and standard deviation over its
        labelled rows (0 and 1 without ``standardize``).
    """

    type_name = "regression"
    score_name = "r2"
    losses = ("squared_error", "absolute_error", "huber")

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
        return 1

    def loss(self, output, target):
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
        return output[:, 0].numpy().astype(np.float64) * self.scale_ + self.mean_

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
