"""Task grouping on public data (issue 30): all tasks shared, ``task_groups="auto"``, or separate.

For each data set and seed, on the splits of ``datasets.py`` (and Adult, bundled
with the package: ``ADULT_ROWS`` training rows drawn with the seed from its
training file, its first ``ADULT_TEST`` test rows):

- ``shared``: ``MultiTaskEstimator(tasks=tasks, random_state=seed)``, one fit;
- ``auto``: the same with ``task_groups="auto"``; records the groups chosen and
  the fit seconds;
- ``separate``: the same estimator fitted on each task alone (its labelled rows).

``--tables`` prints per task each mode's mean ± standard error over the seeds,
and auto minus the better on average of shared and separate (paired by seed).

Scores as in ``references.py`` (ROC AUC, accuracy, R^2, Poisson D^2). Results
are JSON lines in ``benchmarks/results/task_groups.jsonl``; a rerun skips what
is there. Run from the repository root, one thread, in the background::

    nohup python benchmarks/task_groups.py > task_groups.log 2>&1 &
    python benchmarks/task_groups.py --tables          # per task, mean ± SE (--format rst)
    python benchmarks/task_groups.py --figure          # docs/_static/images/task_groups.png
"""

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import references  # noqa: E402
from references import labelled, mean_se, read, score  # noqa: E402

OUT = references.RESULTS / "task_groups.jsonl"
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "_static" / "images" / "task_groups.png"
MODES = ("shared", "auto", "separate")
ADULT_ROWS, ADULT_TEST = 8_000, 4_000
TEN, FIVE = tuple(range(10)), tuple(range(5))
SEEDS = {
    "penguins": TEN,
    "auto": TEN,
    "college": TEN,
    "oj": TEN,
    "creditcard": TEN,
    "medpar": TEN,
    "wage": FIVE,
    "nmes1988": FIVE,
    "adult": FIVE,
}


def adult(seed):
    """Adult: ``ADULT_ROWS`` training rows drawn with ``seed``, the first test rows."""
    from sklearn_mtl.datasets import ADULT_TASKS, load_adult

    X, Y = load_adult("train")
    Xt, Yt = load_adult("test")
    rows = np.random.RandomState(seed).choice(len(X), ADULT_ROWS, replace=False)
    take = lambda d, r: d.iloc[r].reset_index(drop=True)  # noqa: E731
    test = np.arange(ADULT_TEST)
    return take(X, rows), take(Y, rows), take(Xt, test), take(Yt, test), dict(ADULT_TASKS)


def load(name, seed):
    return adult(seed) if name == "adult" else datasets.load(name, seed)


def fit_score(X, Y, Xt, Yt, tasks, seed, **params):
    """The fitted estimator, its scores on each task's labelled test rows, fit seconds."""
    from sklearn_mtl import MultiTaskEstimator

    est = MultiTaskEstimator(tasks=tasks, random_state=seed, **params)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, Y)
    fit_s = time.perf_counter() - start
    pred = est.predict(Xt)
    proba = est.predict_proba(Xt) if any(k == "binary" for k in tasks.values()) else {}
    scores = {}
    for t, kind in tasks.items():
        keep = Yt[t].notna().to_numpy()
        yt = Yt[t][keep]
        if kind == "binary":
            predicted = (str(est.classes_[t][1]), np.asarray(proba[t])[keep][:, 1])
            scores[t] = score(kind, yt.astype(str), predicted)
        else:
            scores[t] = score(kind, yt, np.asarray(pred[t])[keep])
    return est, scores, fit_s


def run_one(name, seed, mode):
    X, Y, Xt, Yt, tasks = load(name, seed)
    record = dict(dataset=name, seed=seed, mode=mode, n_train=len(X))
    if mode == "separate":
        scores, fit_s = {}, 0.0
        for t, kind in tasks.items():
            Xl, yl = labelled(X, Y[t])
            _, s, f = fit_score(Xl, yl.to_frame(), Xt, Yt[[t]], {t: kind}, seed)
            scores[t], fit_s = s[t], fit_s + f
    else:
        groups = "auto" if mode == "auto" else None
        est, scores, fit_s = fit_score(X, Y, Xt, Yt, tasks, seed, task_groups=groups)
        record["groups"] = est.task_groups_
    record.update(scores={t: round(v, 6) for t, v in scores.items()}, fit_s=round(fit_s, 2))
    return record


def run(names, out):
    done = {(r["dataset"], r["seed"], r["mode"]) for r in read(out)} if out.exists() else set()
    for name in names:
        for seed in SEEDS[name]:
            for mode in MODES:
                if (name, seed, mode) in done:
                    continue
                record = run_one(name, seed, mode)
                print(json.dumps(record), flush=True)
                with out.open("a") as f:
                    f.write(json.dumps(record) + "\n")


def summary(records):
    """Per data set and task: each mode's mean and SE over seeds; groups and cost of auto."""
    rows = []
    by = {}
    for r in records:
        by.setdefault(r["dataset"], {}).setdefault(r["mode"], {})[r["seed"]] = r
    for name in SEEDS:
        modes = by.get(name, {})
        seeds = sorted(set.intersection(*(set(modes.get(m, {})) for m in MODES)))
        if not seeds:
            continue
        auto = [modes["auto"][s] for s in seeds]
        cost = mean_se([a["fit_s"] / modes["shared"][s]["fit_s"] for a, s in zip(auto, seeds)])
        split = sum(len(a["groups"]) > 1 for a in auto)
        for task in auto[0]["scores"]:
            stats = {m: mean_se([modes[m][s]["scores"][task] for s in seeds]) for m in MODES}
            better = max(("shared", "separate"), key=lambda m: stats[m][0])
            best = stats[better][0]
            diffs = [
                modes["auto"][s]["scores"][task] - modes[better][s]["scores"][task] for s in seeds
            ]
            rows.append(
                dict(
                    dataset=name,
                    task=task,
                    n_seeds=len(seeds),
                    stats=stats,
                    auto_minus_best=mean_se(diffs),
                    best=best,
                    cost=cost,
                    split=f"{split}/{len(seeds)}",
                    groups=_groups_text(auto),
                )
            )
    return rows


def _groups_text(auto):
    """The partitions chosen when split: the one chosen most often and its count."""
    texts = [" | ".join("+".join(g) for g in a["groups"]) for a in auto if len(a["groups"]) > 1]
    if not texts:
        return "-"
    if len(set(texts)) == len(texts) > 1:
        return f"{len(texts)} different partitions"
    top = max(set(texts), key=texts.count)
    return f"{top} ({texts.count(top)})"


def tables(records, fmt="md"):
    """Per task: each mode, auto minus the better; per data set: split, cost, groups."""
    cell = lambda m_se: f"{m_se[0]:.3f} ± {m_se[1]:.3f}"  # noqa: E731
    header = ["data set", "task", "shared", "auto", "separate", "auto - better", "split"]
    rows, per_dataset = [], {}
    for row in summary(records):
        s, diff = row["stats"], row["auto_minus_best"]
        rows.append(
            [
                row["dataset"],
                row["task"],
                cell(s["shared"]),
                cell(s["auto"]),
                cell(s["separate"]),
                f"{diff[0]:+.3f} ± {diff[1]:.3f}",
                row["split"],
            ]
        )
        per_dataset[row["dataset"]] = [
            row["dataset"],
            row["split"],
            f"{row['cost'][0]:.2f} ± {row['cost'][1]:.2f}",
            row["groups"],
        ]
    print(render(header, rows, fmt))
    print()
    print(
        render(
            ["data set", "split", "cost (x shared)", "groups when split (seeds)"],
            list(per_dataset.values()),
            fmt,
        )
    )


def render(header, rows, fmt):
    """A Markdown table, or an RST simple table."""
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    rule = "  ".join("=" * w for w in widths)
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def figure(records, path=FIGURE):
    """Per task: auto and separate minus shared, mean ± SE over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary(records)
    labels = [f"{r['dataset']}: {r['task']}" for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(rows) + 1.2))
    for offset, mode, colour in ((-0.18, "auto", "C0"), (0.18, "separate", "C1")):
        values, errors = [], []
        for r in rows:
            records_of = [
                x for x in records if x["dataset"] == r["dataset"] and x["mode"] in (mode, "shared")
            ]
            by_seed = {}
            for x in records_of:
                by_seed.setdefault(x["seed"], {})[x["mode"]] = x["scores"][r["task"]]
            diffs = [v[mode] - v["shared"] for v in by_seed.values() if len(v) == 2]
            m, se = mean_se(diffs)
            values.append(m)
            errors.append(0 if np.isnan(se) else se)
        ax.errorbar(
            values,
            y + offset,
            xerr=errors,
            fmt="o",
            color=colour,
            ms=4,
            label=f"{mode} minus shared",
        )
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("test score minus the shared model's (mean ± SE over seeds)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="*", default=list(SEEDS))
    parser.add_argument("--tables", action="store_true")
    parser.add_argument("--figure", action="store_true")
    parser.add_argument("--format", choices=["md", "rst"], default="md")
    args = parser.parse_args()
    if args.tables or args.figure:
        records = read(OUT)
        if args.tables:
            tables(records, args.format)
        if args.figure:
            figure(records)
        return
    run(args.datasets, OUT)


if __name__ == "__main__":
    main()
