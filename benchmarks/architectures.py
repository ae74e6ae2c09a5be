"""Shared bottom vs MMoE vs PLE vs cross-stitch as the tasks' correlation falls.

Reproduces the synthetic experiment of Ma et al. (KDD 2018, §4.1-4.3): two
regression tasks from :func:`sklearn_mtl.datasets.make_multitask` whose weight
vectors have cosine similarity ``correlation``, from 1.0 (identical tasks up to
noise) to 0.0 (orthogonal tasks). The paper's qualitative result: every model
does worse as the correlation falls, and gated experts lose less than hard
parameter sharing, so the gap in their favour grows.

Two parameter budgets (``--budget``): ``small``, 3-5k body parameters, and
``paper``, the sizes of the paper's experiment (11-17k); the body sizes are
printed in the table. Every architecture gets the same heads (one hidden layer
of 8, as the paper's towers) and 50 epochs of Adam (lr 2e-3, batches of 128) on
8,000 rows with 100 features; scores are R^2 on 4,000 test rows, averaged over
the two tasks. Each cell is mean ± std over seeds (a seed draws new task
functions, data and initial weights); the "- shared" rows are the differences
to the shared bottom on the same seed.

Run (one thread, as on the shared CI machine)::

    python benchmarks/architectures.py                   # small budget, ~6 min
    python benchmarks/architectures.py --budget paper    # ~10 min
    python benchmarks/architectures.py --quick           # 2 seeds, 3 correlations

It prints the table (Markdown and reStructuredText) and saves the figure to
``docs/benchmarks/architectures[_paper].png`` (needs the ``plot`` extra:
matplotlib).
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.architectures import PLE, CrossStitch, MMoE, SharedBottom
from sklearn_mtl.datasets import make_multitask

N_TRAIN, N_TEST, N_FEATURES = 8000, 4000, 100
#: Two budgets: ``small`` (3-5k body parameters, where hard sharing is short of
#: capacity for two unrelated tasks) and ``paper`` (the sizes of Ma et al.'s
#: synthetic experiment: a shared bottom of 113 units vs 8 experts of 16).
#: Each entry: name -> (architecture, hidden_layer_sizes).
BUDGETS = {
    "small": {
        "shared": (SharedBottom(), (32,)),
        "mmoe": (MMoE(4), (8,)),
        "ple": (PLE(2, n_shared_experts=2, n_task_experts=1), (8,)),
        "cross_stitch": (CrossStitch(), (16,)),
    },
    "paper": {
        "shared": (SharedBottom(), (113,)),
        "mmoe": (MMoE(8), (16,)),
        "ple": (PLE(2, n_shared_experts=4, n_task_experts=2), (16,)),
        "cross_stitch": (CrossStitch(), (56,)),
    },
}
FIGURES = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def estimator(architecture, sizes, seed):
    return MultiTaskEstimator(
        architecture=architecture,
        hidden_layer_sizes=sizes,
        head_hidden_sizes=(8,),
        max_epochs=50,
        batch_size=128,
        lr=2e-3,
        random_state=seed,
    )


def run(architectures, correlations, seeds):
    """Test R^2 (mean over tasks) per (architecture, correlation, seed)."""
    scores, params, seconds = {}, {}, {}
    for correlation in correlations:
        for seed in seeds:
            X, Y = make_multitask(
                N_TRAIN + N_TEST,
                N_FEATURES,
                2,
                correlation=correlation,
                noise=0.1,
                random_state=seed,
            )
            train, test = np.arange(N_TRAIN), np.arange(N_TRAIN, N_TRAIN + N_TEST)
            for name, (architecture, sizes) in architectures.items():
                start = time.perf_counter()
                est = estimator(architecture, sizes, seed).fit(X[train], Y.iloc[train])
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
                scores[name, correlation, seed] = est.score(X[test], Y.iloc[test])
                params[name] = sum(p.numel() for p in est.net_.module_.body.parameters())
            print(
                f"correlation={correlation:.1f} seed={seed}: "
                + ", ".join(f"{n}={scores[n, correlation, seed]:.3f}" for n in architectures),
                flush=True,
            )
    return scores, params, seconds


def summarise(scores, names, correlations, seeds):
    """``{name: (means, stds)}`` over seeds per correlation, and the same for gaps to shared."""
    table, gaps = {}, {}
    for name in names:
        cells = np.array([[scores[name, c, s] for s in seeds] for c in correlations])
        table[name] = cells.mean(axis=1), cells.std(axis=1)
        diff = np.array(
            [[scores[name, c, s] - scores["shared", c, s] for s in seeds] for c in correlations]
        )
        gaps[name] = diff.mean(axis=1), diff.std(axis=1)
    return table, gaps


def format_tables(table, gaps, params, seconds, correlations, n_seeds):
    """The tables as Markdown and as reStructuredText simple tables.

    Three tables, each narrow enough to read on the documentation site: the
    size and fit time of each architecture, its test R^2 per correlation, and
    its gap to the shared bottom per correlation.
    """
    n_fits = len(correlations) * n_seeds
    size = [["architecture", "body params", "s / fit"]]
    size += [[name, str(params[name]), f"{seconds[name] / n_fits:.1f}"] for name in table]
    # One row per correlation: reading down a column follows one architecture.
    scores = [["correlation", *table]]
    scores += [
        [f"{c:.1f}"] + [f"{table[name][0][i]:.3f} ± {table[name][1][i]:.3f}" for name in table]
        for i, c in enumerate(correlations)
    ]
    others = [name for name in gaps if name != "shared"]
    diffs = [["correlation"] + [f"{name} - shared" for name in others]]
    diffs += [
        [f"{c:.1f}"] + [f"{gaps[name][0][i]:+.3f} ± {gaps[name][1][i]:.3f}" for name in others]
        for i, c in enumerate(correlations)
    ]
    tables = [size, scores, diffs]
    markdown = "\n\n".join(_markdown(rows) for rows in tables)
    return markdown, "\n\n".join(_rst(rows) for rows in tables)


def _markdown(rows):
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def _rst(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = " ".join("=" * w for w in widths)
    header, *body = rows
    lines = [rule, " ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), rule]
    lines += [" ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in body]
    # The site's CSS keeps cells of the "numbers" class on one line.
    return "\n".join([".. rst-class:: numbers", "", *lines, rule])


def plot(table, gaps, correlations, budget, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Drawn at the width of the documentation's text column (7 in at 100 dpi),
    # so that the page shows it unscaled with labels of about 15 px.
    fig, (left, right) = plt.subplots(2, 1, figsize=(7, 8), sharex=True)
    for color, name in enumerate(table):
        style = dict(marker="o", capsize=3, label=name, color=f"C{color}")
        # Side by side at each correlation, so that the error bars stay apart.
        x = np.asarray(correlations) + 0.012 * (color - (len(table) - 1) / 2)
        left.errorbar(x, table[name][0], yerr=table[name][1], **style)
        if name != "shared":
            right.errorbar(x, gaps[name][0], yerr=gaps[name][1], **style)
    right.axhline(0, color="grey", lw=1)
    left.set(ylabel="test R² (mean of 2 tasks)", title="Test R², mean ± std over seeds")
    right.set(
        xlabel="task correlation (cosine of the task weight vectors)",
        ylabel="R² minus shared bottom",
        title="Difference to the shared bottom on the same seed",
    )
    left.invert_xaxis()
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(f"MMoE §4.1 synthetic tasks, {budget} budget")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="small")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 3 correlations")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    architectures = BUDGETS[args.budget]
    correlations = [1.0, 0.5, 0.0] if args.quick else [1.0, 0.8, 0.5, 0.2, 0.0]
    seeds = list(range(2 if args.quick else args.seeds))
    start = time.perf_counter()
    scores, params, seconds = run(architectures, correlations, seeds)
    table, gaps = summarise(scores, list(architectures), correlations, seeds)
    markdown, rst = format_tables(table, gaps, params, seconds, correlations, len(seeds))
    elapsed = time.perf_counter() - start
    print(
        f"\n{args.budget} budget: test R^2, mean ± std over {len(seeds)} seeds "
        f"({elapsed:.0f} s in all)\n"
    )
    print(markdown, "\n")
    print(rst)
    if not args.no_plot:
        suffix = "" if args.budget == "small" else f"_{args.budget}"
        path = FIGURES / f"architectures{suffix}.png"
        plot(table, gaps, correlations, args.budget, path)
        print(f"\nSaved {path}")


if __name__ == "__main__":
    main()
