"""A new user's check: the defaults against per-task references on tables outside the benchmark.

The fifteen data sets of ``datasets.py`` shaped the defaults (every lever was
measured on them). This script asks the same question on five public tables
that no default was measured on, chosen before any was run as tables with
several natural targets: ``cps1985`` (AER, 534 wage records: wage, union
membership, occupation), ``salaries`` (carData, 397 professors: salary,
rank), ``carseats`` (ISLR, 400 stores: sales, shelf location, US),
``doctorvisits`` (AER, 5,190 Australians: doctor visits, days of reduced
activity, a health questionnaire score, all counts) and ``computers``
(Ecdat, 6,259 PC prices: price, premium maker, CD drive).

Per data set and seed (five): a random 75/25 split; ``MultiTaskEstimator(
tasks=tasks, random_state=seed)`` fitted once on all tasks of the raw
training DataFrame, and HGB, CatBoost and LightGBM at their defaults, one
per task, as in ``references.py`` (scores, count losses and thread limits
the same). Results are JSON lines in
``benchmarks/results/outside_tables.jsonl``; a rerun skips what is there.
``--realmlp`` adds RealMLP per task on the same splits
(``benchmarks/results/outside_realmlp.jsonl``), which ``--tables`` counts
among the references.

``--timing`` fits the defaults and CatBoost's per-task models again, one
after the other in one process that runs nothing else, for the fit-time
ratio of the table (``benchmarks/results/outside_timing.jsonl``).

``--probe NAME PARAMS`` fits the shared model alone with the parameters
``PARAMS`` (JSON) on the first three seeds, on these tables and on four more
used for such checks only (Ecdat's ``Males``, AER's ``HealthInsurance``,
carData's ``SLID``, Ecdat's ``Workinghours``), into
``benchmarks/results/outside_probes.jsonl``. From the repository root, in the
benchmark environment::

    nice -n 10 python benchmarks/outside_tables.py
    python benchmarks/outside_tables.py --tables
    python benchmarks/outside_tables.py --timing
    python benchmarks/outside_tables.py --realmlp
    python benchmarks/outside_tables.py --probe patience10 '{"n_iter_no_change": 10}' \
        --datasets computers males
    python benchmarks/outside_tables.py --probe smoothed_patience '{}' --lever smoothed_patience
"""

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import references  # noqa: E402
from per_task_quality import REFERENCE_NAMES, fit_estimator  # noqa: E402
from references import mean_se, read  # noqa: E402

OUT = references.RESULTS / "outside_tables.jsonl"
PROBES = references.RESULTS / "outside_probes.jsonl"
TIMING = references.RESULTS / "outside_timing.jsonl"
REALMLP = references.RESULTS / "outside_realmlp.jsonl"
SEEDS = [0, 1, 2, 3, 4]
PROBE_SEEDS = [0, 1, 2]
LIBRARIES = ["hgb", "catboost", "lightgbm"]


def _table(package, item, tasks, categorical):
    d = datasets._categories(datasets._rdata(package, item), categorical)
    for t, kind in tasks.items():
        if kind == "regression":  # integer prices and salaries
            d[t] = d[t].astype(float)
    return tasks, datasets._tasks_out(d, tasks)


TABLES = {
    "cps1985": lambda: _table(
        "AER", "CPS1985", {"wage": "regression", "union": "binary", "occupation": "multiclass"},
        ["ethnicity", "region", "gender", "sector", "married"],
    ),
    "salaries": lambda: _table(
        "carData", "Salaries", {"salary": "regression", "rank": "multiclass"},
        ["discipline", "sex"],
    ),
    "carseats": lambda: _table(
        "ISLR", "Carseats", {"Sales": "regression", "ShelveLoc": "multiclass", "US": "binary"},
        ["Urban"],
    ),
    "doctorvisits": lambda: _table(
        "AER", "DoctorVisits", {"visits": "count", "reduced": "count", "health": "count"},
        ["gender", "private", "freepoor", "freerepat", "nchronic", "lchronic"],
    ),
    "computers": lambda: _table(
        "Ecdat", "Computers", {"price": "regression", "premium": "binary", "cd": "binary"},
        ["multi"],
    ),
}


def _males():
    tasks, (X, Y) = _table(
        "Ecdat", "Males", {"wage": "regression", "union": "binary", "occupation": "multiclass"},
        ["ethn", "maried", "health", "industry", "residence"],
    )
    return tasks, (X.drop(columns=["nr"]), Y)  # nr: the person of this panel


#: Tables for ``--probe`` only (no reference was run on them).
PROBE_TABLES = {
    **TABLES,
    "males": _males,
    "healthinsurance": lambda: _table(
        "AER", "HealthInsurance",
        {"health": "binary", "insurance": "binary", "limit": "binary"},
        ["gender", "married", "selfemp", "region", "ethnicity", "education"],
    ),
    "slid": lambda: _table(
        "carData", "SLID", {"wages": "regression", "education": "regression"}, ["sex", "language"],
    ),
    "workinghours": lambda: _table(
        "Ecdat", "Workinghours", {"hours": "regression", "owned": "binary"}, ["occupation"],
    ),
}


def _splits(tables, names, seeds, done):
    """``(name, seed, tasks, X, Y, Xt, Yt)`` of each table and seed whose key is not in ``done``."""
    for name in names:
        tasks, (X_all, Y_all) = tables[name]()
        for seed in seeds:
            if (name, seed) not in done:
                yield name, seed, tasks, *datasets._quarter(X_all, Y_all, seed)


def _per_task(library, tasks, seed, X, Y, Xt, Yt):
    """Scores and summed fit seconds of one ``library`` model per task."""
    fits = {t: references.fit_one(library, kind, seed, X, Y[t], Xt, Yt[t])
            for t, kind in tasks.items()}
    return {"scores": {t: s for t, (s, _) in fits.items()},
            "fit_s": round(sum(f for _, f in fits.values()), 2)}


def _append(out, record):
    print(json.dumps(record), flush=True)
    with open(out, "a") as f:
        f.write(json.dumps(record) + "\n")


def run(names, out):
    done = {(r["dataset"], r["seed"]) for r in read(str(out))}
    for name, seed, tasks, X, Y, Xt, Yt in _splits(TABLES, names, SEEDS, done):
        scores, fit_s, _ = fit_estimator({}, X, Y, Xt, Yt, tasks, seed)
        record = {"dataset": name, "seed": seed, "n_train": len(X),
                  "defaults": {"scores": scores, "fit_s": round(fit_s, 2)}}
        for library in LIBRARIES:
            record[library] = _per_task(library, tasks, seed, X, Y, Xt, Yt)
        _append(out, record)


def probe(names, config, params, out):
    """The shared model with ``params`` on the first three seeds of each table."""
    done = {(r["dataset"], r["seed"]) for r in read(str(out)) if r["config"] == config}
    for name, seed, tasks, X, Y, Xt, Yt in _splits(PROBE_TABLES, names, PROBE_SEEDS, done):
        scores, fit_s, epochs = fit_estimator(params, X, Y, Xt, Yt, tasks, seed)
        _append(out, {"dataset": name, "config": config, "params": params, "seed": seed,
                      "scores": scores, "fit_s": round(fit_s, 1), "epochs": epochs})


def timing(names, out):
    """Fit seconds of the defaults and of CatBoost per task, one after the other, alone.

    The scores' runs above shared two cores with other runs; here each table
    and seed is fitted again, the defaults then CatBoost's models, in one
    process that runs nothing else (after one fit of each to load them).
    """
    def fits(seed, tasks, X, Y, Xt, Yt):
        start = time.perf_counter()
        fit_estimator({}, X, Y, Xt, Yt, tasks, seed)
        ours = time.perf_counter() - start
        return ours, _per_task("catboost", tasks, seed, X, Y, Xt, Yt)["fit_s"]

    fits(*next(_splits(TABLES, names[:1], [0], set()))[1:])
    done = {(r["dataset"], r["seed"]) for r in read(str(out))}
    for name, seed, *split in _splits(TABLES, names, SEEDS, done):
        ours, cat = fits(seed, *split)
        _append(out, {"dataset": name, "seed": seed, "defaults_fit_s": round(ours, 2),
                      "catboost_fit_s": round(cat, 2), "load": round(os.getloadavg()[0], 2)})


def run_realmlp(names, out):
    """RealMLP at its defaults per task (``references.fit_one``), on the same splits."""
    done = {(r["dataset"], r["seed"]) for r in read(str(out))}
    for name, seed, tasks, X, Y, Xt, Yt in _splits(TABLES, names, SEEDS, done):
        _append(out, {"dataset": name, "seed": seed,
                      "realmlp": _per_task("realmlp", tasks, seed, X, Y, Xt, Yt)})


def tables(records, timings=(), realmlp=()):
    """An rst table: per task the best reference, the defaults and their difference.

    Fit time over CatBoost's is from ``timings`` (:func:`timing`) where a
    table has them, else from the scores' runs. RealMLP (``realmlp``, from
    :func:`run_realmlp`) counts among the references of a table that has it
    for every seed.
    """
    extra = {(r["dataset"], r["seed"]): r["realmlp"] for r in realmlp}
    rows, gaps = [], []
    for name in TABLES:
        rs = [r for r in records if r["dataset"] == name]
        if not rs:
            continue
        libraries = LIBRARIES
        if all((name, r["seed"]) in extra for r in rs):
            rs = [{**r, "realmlp": extra[name, r["seed"]]} for r in rs]
            libraries = [*LIBRARIES, "realmlp"]
        for t in rs[0]["defaults"]["scores"]:
            means = {lib: np.mean([r[lib]["scores"][t] for r in rs]) for lib in libraries}
            best = max(libraries, key=means.get)
            d = [r["defaults"]["scores"][t] - r[best]["scores"][t] for r in rs]
            gaps.append(np.mean(d))
            ours, se = mean_se([r["defaults"]["scores"][t] for r in rs])
            dm, dse = mean_se(d)
            rows.append([name, t, REFERENCE_NAMES[best], f"{means[best]:.4f}",
                         f"{ours:.4f} ± {se:.4f}", f"{dm:+.4f} ± {dse:.4f}"])
        alone = [r for r in timings if r["dataset"] == name]
        if alone:
            fit = np.mean([r["defaults_fit_s"] for r in alone])
            cat = np.mean([r["catboost_fit_s"] for r in alone])
        else:
            fit = np.mean([r["defaults"]["fit_s"] for r in rs])
            cat = np.mean([r["catboost"]["fit_s"] for r in rs])
        rows[-1].append(f"{fit / cat:.2f}")
    header = ["data set", "task", "best", "its score", "defaults", "− best", "fit / CatBoost"]
    rows = [row + [""] * (len(header) - len(row)) for row in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    lines += ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in rows]
    lines.append(rule)
    lines.append(f"\n{len(gaps)} tasks: mean gap {np.mean(gaps):+.4f}, worst {min(gaps):+.4f}, "
                 f"at or above the best {sum(g >= 0 for g in gaps)}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=list(PROBE_TABLES),
                        help="default: the five tables of the references")
    parser.add_argument("--tables", action="store_true", help="print the rst table and stop")
    parser.add_argument("--timing", action="store_true",
                        help="time the defaults and CatBoost alone, one after the other")
    parser.add_argument("--realmlp", action="store_true",
                        help="RealMLP per task on the same splits (into outside_realmlp.jsonl)")
    parser.add_argument("--probe", nargs=2, metavar=("NAME", "PARAMS"),
                        help="the shared model alone with these JSON parameters")
    parser.add_argument("--lever", help="with --probe: also apply this lever's patch "
                        "(a name in levers.LEVERS)")
    args = parser.parse_args()
    names = args.datasets or list(TABLES)
    if args.tables:
        print(tables(read(str(OUT)), read(str(TIMING)), read(str(REALMLP))))
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    if args.probe:
        if args.lever:
            from levers import LEVERS

            LEVERS[args.lever][1]()
        probe(names, args.probe[0], json.loads(args.probe[1]), PROBES)
        return
    if args.timing:
        timing(names, TIMING)
        return
    if args.realmlp:
        run_realmlp(names, REALMLP)
        return
    if set(names) - set(TABLES):
        parser.error(f"the references run on {list(TABLES)} only; the others are for --probe")
    run(names, OUT)


if __name__ == "__main__":
    main()
