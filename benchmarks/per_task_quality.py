"""MultiTaskEstimator against the best per-task reference on public data (issue 31).

For each data set of ``datasets.py`` and each of its seeds (five below 10,000
training rows, three above), on the same splits as ``references.py``:

- ``shared``: one multi-task fit, ``MultiTaskEstimator(tasks=tasks,
  random_state=seed, **params)`` on the raw training DataFrame (unlabelled
  rows of a partly labelled task left as missing labels);
- ``per_task``: the same estimator fitted on each task alone (its labelled
  rows only).

``params`` is a named configuration: ``defaults`` (``{}``) unless ``--params``
gives a JSON dict and ``--name`` a name, so that levers can be compared with
the defaults on the same splits. Scores as in ``references.py`` (ROC AUC,
accuracy, R^2, Poisson D^2 with predictions clipped below at
``references.FLOOR``); fit seconds of ``fit`` (per_task: the sum over tasks).
Results are JSON lines in ``benchmarks/results/per_task_quality.jsonl``, keyed
by data set, seed, configuration, its parameters and mode: a rerun skips what
is there (after changing the package, name the configuration anew or remove its
lines; each line records the package version and the commit of the benchmark
checkout it ran from). Run from the repository root, one thread, in the background::

    nice -n 10 python benchmarks/per_task_quality.py                  # defaults, all
    python benchmarks/per_task_quality.py --datasets penguins college --modes shared
    python benchmarks/per_task_quality.py --name wide --params '{"hidden_layer_sizes": [256, 256]}'
    python benchmarks/per_task_quality.py --tables                    # against references
    python benchmarks/per_task_quality.py --tables --config wide

``--tables`` prints, per data set and task, each reference's mean ± standard
error over the seeds, the best reference, the configuration (shared fit) minus
the best, per-task minus shared; then overall: the mean and worst gap to the
best reference, the mean rank among {HGB, CatBoost, LightGBM, RealMLP, the
configuration} (1 = best; over the models present for that task), and the
configuration's fit time against CatBoost's (all tasks) per data set.
"""

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import references  # noqa: E402
from references import labelled, mean_se, read, score  # noqa: E402

OUT = references.RESULTS / "per_task_quality.jsonl"
MODES = ("shared", "per_task")
REFERENCE_NAMES = {"hgb": "HGB", "catboost": "CatBoost", "lightgbm": "LightGBM",
                   "realmlp": "RealMLP"}


def _package():
    import importlib.metadata as md

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
            cwd=Path(__file__).parent, check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return md.version("sklearn_mtl"), commit


def fit_estimator(params, X, Y, Xt, Yt, tasks, seed):
    """Scores on each task's labelled test rows, fit seconds, epochs."""
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
            classes = est.classes_[t]
            predicted = (str(classes[1]), np.asarray(proba[t])[keep][:, 1])
            scores[t] = score(kind, yt.astype(str), predicted)
        else:
            scores[t] = score(kind, yt, np.asarray(pred[t])[keep])
    return scores, fit_s, est.n_epochs_


def run_one(name, seed, mode, params):
    X, Y, Xt, Yt, tasks = datasets.load(name, seed)
    load_avg = os.getloadavg()[0]
    if mode == "shared":
        scores, fit_s, epochs = fit_estimator(params, X, Y, Xt, Yt, tasks, seed)
        extra = {"epochs": epochs}
    else:
        scores, fit_s, extra = {}, 0.0, {"fit_s_tasks": {}, "epochs": {}}
        for t, kind in tasks.items():
            Xl, yl = labelled(X, Y[t])
            s, f, e = fit_estimator(params, Xl, yl.to_frame(), Xt, Yt[[t]], {t: kind}, seed)
            scores[t] = s[t]
            fit_s += f
            extra["fit_s_tasks"][t] = round(f, 2)
            extra["epochs"][t] = e
    return dict(
        scores={t: round(v, 6) for t, v in scores.items()}, fit_s=round(fit_s, 2),
        load=round(load_avg, 2), n_train=len(X), **extra,
    )


def key(r):
    return (r["dataset"], r["seed"], r["config"], r["mode"], json.dumps(r["params"],
                                                                        sort_keys=True))


def run(names, seeds, modes, config, params, out):
    done = {key(r) for r in read(out)}
    for r in read(out):
        if r["config"] == config and r["params"] != params:
            raise SystemExit(
                f"{out} holds configuration {config!r} with other parameters "
                f"({r['params']}): name this one differently (--name)."
            )
    version, commit = _package()
    for name in names:
        for seed in seeds or datasets.SEEDS[name]:
            for mode in modes:
                record = dict(dataset=name, seed=seed, config=config, params=params, mode=mode)
                if key(record) in done:
                    continue
                record.update(run_one(name, seed, mode, params))
                record.update(package=version, commit=commit,
                              time=time.strftime("%Y-%m-%d %H:%M:%S"))
                print(json.dumps(record), flush=True)
                with open(out, "a") as f:
                    f.write(json.dumps(record) + "\n")
                done.add(key(record))


# -- tables -----------------------------------------------------------------------------


def _fmt(m_se):
    m, se = m_se
    return f"{m:.4f} ± {se:.4f}" if np.isfinite(se) else f"{m:.4f}"


def render(header, rows, fmt="md"):
    """A table as Markdown pipes (``md``) or a reStructuredText simple table."""
    rows = [[str(c) for c in row] for row in rows]
    if fmt == "md":
        lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        return lines + ["| " + " | ".join(row) + " |" for row in rows]
    widths = [max(len(r[i]) if r[i] else 1 for r in [header] + rows)
              for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    line = lambda r: "  ".join((c or "..").ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [rule, line(header), rule] + [line(r) for r in rows] + [rule]


def tables(reference_records, records, config="defaults", fmt="md", compact=False):
    """Per data set, every reference and the estimator per task; then the overall figures.

    With ``compact``, one table over all data sets instead, with the best reference
    only (narrow enough for the docs page).
    """
    out = []
    gaps, ranks, timing, compact_rows = [], {}, [], []
    mine_all = [r for r in records if r["config"] == config]
    names = [n for n in datasets.DATASETS
             if any(r["dataset"] == n for r in reference_records + mine_all)]
    for name in names:
        refs = [r for r in reference_records if r["dataset"] == name]
        mine = [r for r in mine_all if r["dataset"] == name]
        libraries = [lib for lib in references.LIBRARIES if any(r["library"] == lib for r in refs)]
        tasks = list(dict.fromkeys([r["task"] for r in refs]
                                   + [t for r in mine for t in r["scores"]]))
        heads = [REFERENCE_NAMES[lib] for lib in libraries]
        seeds = sorted({r["seed"] for r in refs} | {r["seed"] for r in mine})
        title = f"{name} (seeds {', '.join(map(str, seeds))})"
        if not compact:
            out += ["", title] + (["-" * len(title)] if fmt == "rst" else []) + [""]
        header = (["task"] + heads
                  + ["best", config, "per task", f"{config} − best", "per task − shared"])
        rows = []
        for task in tasks:
            means, cells = {}, []
            for lib, head in zip(libraries, heads):
                v = [r["score"] for r in refs if r["task"] == task and r["library"] == lib]
                if v:
                    means[head] = mean_se(v)
                cells.append(_fmt(means[head]) if v else "")
            best = max(means, key=lambda h: means[h][0]) if means else None
            shared = {r["seed"]: r["scores"][task] for r in mine
                      if r["mode"] == "shared" and task in r["scores"]}
            alone = {r["seed"]: r["scores"][task] for r in mine
                     if r["mode"] == "per_task" and task in r["scores"]}
            row = [task] + cells + [best or ""]
            row.append(_fmt(mean_se(list(shared.values()))) if shared else "")
            row.append(_fmt(mean_se(list(alone.values()))) if alone else "")
            if shared and best:
                gap = mean_se(list(shared.values()))[0] - means[best][0]
                gaps.append((gap, f"{name}/{task}"))
                row.append(f"{gap:+.4f}")
                entrants = {**{h: m[0] for h, m in means.items()},
                            config: mean_se(list(shared.values()))[0]}
                order = sorted(entrants, key=lambda h: -entrants[h])
                for h in entrants:
                    ranks.setdefault(h, []).append(order.index(h) + 1)
            else:
                row.append("")
            both = sorted(set(shared) & set(alone))
            row.append(_fmt(mean_se([alone[s] - shared[s] for s in both])) if both else "")
            rows.append(row)
            compact_rows.append([name, task, best or "",
                                 f"{means[best][0]:.4f}" if best else "", row[-4], *row[-2:]])
        if not compact:
            out += render(header, rows, fmt)
        shared_fit = [r["fit_s"] for r in mine if r["mode"] == "shared"]
        cat = {}
        for r in refs:
            if r["library"] == "catboost":
                cat[r["seed"]] = cat.get(r["seed"], 0.0) + r["fit_s"]
        if shared_fit and cat:
            timing.append((name, np.mean(shared_fit), np.mean(list(cat.values()))))
    if compact:
        out += [""] + render(["data set", "task", "best", "its score", config, "− best",
                              "alone − shared"], compact_rows, fmt)
    title = f"Overall ({config}, shared fit, against the best reference per task)"
    out += ["", title] + (["-" * len(title)] if fmt == "rst" else []) + [""]
    if gaps:
        values = np.array([g for g, _ in gaps])
        worst = min(gaps)
        out.append(f"- tasks compared: {len(gaps)}; mean gap to the best reference "
                   f"{values.mean():+.4f}; median {np.median(values):+.4f}; worst "
                   f"{worst[0]:+.4f} ({worst[1]}); at or above the best: "
                   f"{int((values >= 0).sum())}")
        out.append("- mean rank (1 = best) over the tasks where each is present: " + "; ".join(
            f"{h} {np.mean(v):.2f} (n={len(v)})" for h, v in
            sorted(ranks.items(), key=lambda kv: np.mean(kv[1]))))
    if timing:
        out.append("")
        out += render(
            ["data set", f"{config} fit s", "CatBoost fit s (all tasks)", "ratio"],
            [[n, f"{e:.1f}", f"{c:.1f}", f"{e / c:.2f}"] for n, e, c in timing], fmt,
        )
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(datasets.DATASETS))
    parser.add_argument("--seeds", type=int, nargs="+", help="default: datasets.SEEDS")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--params", help="JSON estimator parameters (a lever)")
    parser.add_argument("--name", help="the configuration's name (required with --params)")
    parser.add_argument("--tables", action="store_true", help="print tables and stop")
    parser.add_argument("--config", default="defaults", help="configuration in --tables")
    parser.add_argument("--format", default="md", choices=("md", "rst"), help="of --tables")
    parser.add_argument("--compact", action="store_true", help="--tables as one narrow table")
    parser.add_argument("--out", default=str(OUT))
    parser.add_argument("--references", default=str(references.OUT))
    args = parser.parse_args()
    if args.tables:
        print(tables(read(args.references), read(args.out), args.config, args.format,
                     args.compact))
        return
    if args.params and not args.name:
        parser.error("--params needs --name")
    params = json.loads(args.params) if args.params else {}
    config = args.name or "defaults"
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    run(args.datasets, args.seeds, args.modes, config, params, args.out)


if __name__ == "__main__":
    main()
