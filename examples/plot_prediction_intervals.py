"""
Prediction intervals and sets per task, with stated coverage
=============================================================

One model of a bike-sharing station predicts three things per hour: the
number of rentals (a count, from a handful at night to hundreds at rush
hour), the mean trip duration (minutes, noisier on warm weekends) and
whether the station runs empty (yes / no). How far can each be trusted?

The duration task is fitted with a quantile loss (a head with the 5%, 50%
and 95% quantiles, which never cross), then
:class:`~sklearn_mtl.uncertainty.ConformalTasks` calibrates every task on
held-out hours so that 90% of new hours fall inside each task's interval or
set: conformalized quantile regression for the duration, Pearson residuals
for the rentals (wider where more are expected), LAC sets for the yes / no
task. See :ref:`uncertainty`.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.uncertainty import ConformalTasks

rng = np.random.RandomState(0)
n = 4000
hour = rng.randint(0, 24, n)
weekend = rng.rand(n) < 2 / 7
temperature = rng.normal(15, 8, n)
X = np.column_stack(
    [
        np.sin(hour / 24 * 2 * np.pi),
        np.cos(hour / 24 * 2 * np.pi),
        weekend,
        temperature,
    ]
)
rush = np.exp(-((hour - 8) ** 2) / 4) + np.exp(-((hour - 18) ** 2) / 4)
busy_hours = (
    1 + 3 * rush * (1 - weekend) + 1.5 * weekend * (10 < hour) * (hour < 20)
)
rate = np.exp(1 + 1.4 * busy_hours + 0.03 * temperature)
rentals = rng.poisson(rate)
spread = 2 + 6 * weekend * (temperature > 15)
duration = 12 + 0.2 * temperature + 4 * weekend + spread * rng.normal(size=n)
empty = np.where(rentals + rng.normal(0, 60, n) > 150, "yes", "no")
Y = {"rentals": rentals, "duration": duration, "empty": empty}


def rows(part):
    return {task: y[part] for task, y in Y.items()}


train, cal, test = slice(0, 2000), slice(2000, 3000), slice(3000, None)

# %%
# Fit once, calibrate on hours the model never saw
# ------------------------------------------------

est = MultiTaskEstimator(
    tasks={"rentals": "count"},
    losses={"duration": ("quantile", [0.05, 0.5, 0.95])},
    hidden_layer_sizes=(64, 64),
    random_state=0,
).fit(X[train], rows(train))

conformal = ConformalTasks(est, confidence_level=0.9).conformalize(
    X[cal], rows(cal)
)
intervals = conformal.predict_interval(X[test])
sets = conformal.predict_set(X[test])
print(conformal.conformity_scores_)
for task, (low, high) in ((t, b.T) for t, b in intervals.items()):
    truth = Y[task][test]
    inside = np.mean((low <= truth) & (truth <= high))
    width = np.mean(high - low)
    print(f"{task}: {inside:.1%} of test hours inside, mean width {width:.1f}")
classes = est.classes_["empty"]  # the columns of its sets: ['no' 'yes']
held = sets["empty"][
    np.arange(1000), np.searchsorted(classes, Y["empty"][test])
]
print(f"empty: {held.mean():.1%} of sets hold the truth")

# %%
# Intervals against the truth
# ---------------------------
#
# Left: durations of 80 test hours, sorted by the predicted median, with
# their 90% intervals; the band widens on warm weekends. Middle: rentals
# against their expected count, with 90% intervals (log axes): a Poisson
# count's spread grows like the square root of its mean, so the intervals
# are a few rentals wide at night and dozens wide at rush hour. Right: what
# the yes / no sets hold, by true answer: one answer where the model is
# sure; where it hesitates, LAC's set is empty (with an accuracy above 90%,
# neither answer is likely enough for a 90% set), which says "do not trust
# this one". ``conformity_score="aps"`` gives both answers there instead, at
# a coverage above 90%. Coverage is over all hours, not per answer: the
# rarer "yes" hours are covered less often than the "no" hours.

fig, (left, middle, right) = plt.subplots(1, 3, figsize=(10, 3.8))
shown = np.argsort(est.predict(X[test])["duration"][:80])
low, high = intervals["duration"][:80][shown].T
truth = Y["duration"][test][:80][shown]
left.fill_between(
    np.arange(80), low, high, color="C0", alpha=0.25, label="90% interval"
)
left.plot(
    np.arange(80),
    est.predict(X[test])["duration"][:80][shown],
    "C0",
    label="median",
)
outside = (truth < low) | (truth > high)
hours = np.arange(80)
left.scatter(hours[~outside], truth[~outside], s=10, c="k", label="truth")
left.scatter(hours[outside], truth[outside], s=10, c="C3", label="outside")
left.set(
    xlabel="test hours, by predicted duration",
    ylabel="mean trip (min)",
    title="duration: CQR",
)
left.legend(fontsize=8, loc="upper left")

mean = est.predict(X[test])["rentals"][:120]
low, high = intervals["rentals"][:120].T
middle.vlines(mean, np.maximum(low, 0.5), high, color="C0", alpha=0.5, lw=2)
middle.scatter(mean, np.maximum(Y["rentals"][test][:120], 0.5), s=6, c="k")
middle.set(
    xscale="log",
    yscale="log",
    xlabel="expected rentals",
    ylabel="rentals",
    title="rentals: Pearson residuals",
)

kinds = {"{ }": [], "{no}": ["no"], "{yes}": ["yes"], "{no, yes}": classes}
truth = Y["empty"][test]
for offset, answer in enumerate(classes):
    chosen = sets["empty"][truth == answer]
    shares = [
        np.mean((chosen == np.isin(classes, k)).all(axis=1))
        for k in kinds.values()
    ]
    right.bar(
        np.arange(4) + 0.38 * offset, shares, 0.38, label=f"truth: {answer}"
    )
right.set_xticks(np.arange(4) + 0.19, list(kinds))
right.set(ylabel="share of test hours", title="empty: LAC sets")
right.legend(fontsize=8)
fig.tight_layout()
plt.show()
