"""Does torchjd's autogram lower the cost of gradient-level weighting at 5 and 10 tasks?

A gradient-level strategy needs the Gram matrix of the per-task gradients of the
shared parameters, then sends ``sum_t w_t g_t`` into them. Two ways to get there
for one training step of a multi-task MLP (a shared trunk, one linear head per
task, per-task mean-squared errors):

- ``rows``: what ``GradientWeighting`` does. One batched backward pass gives the
  per-task gradients as an ``n_tasks x n_shared`` matrix (``task_gradients``);
  its Gram matrix gives the weights; the shared parameters receive ``w @ rows``
  and the heads one more backward pass.
- ``autogram``: ``torchjd.autogram.Engine(trunk, batch_dim=None)`` computes the
  Gram matrix module by module without the full matrix of per-task gradients;
  one backward pass of ``w . losses`` then sends the combination into the trunk
  and a second one the heads' gradients.

For each way, trunk and number of tasks, a fresh process measures the median
CPU time of a step (one torch thread, after two warm-up steps; CPU time, so
that other work on a shared machine disturbs it little) and the peak resident memory above the
process's state once the network and data exist (``ru_maxrss``; the same data,
weights fixed to 1). ``static`` (one backward pass of the summed losses) gives
the floor of both.
Run from the repository root (each measurement runs in its own process)::

    nice python benchmarks/autogram.py
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
import torch
from torch import nn

from sklearn_mtl.weighting._base import set_flat_grad, task_gradients

TRUNKS = {"(128, 64)": (128, 64), "(1024, 1024, 512)": (1024, 1024, 512)}


def build(n_features, hidden, n_tasks, seed=0):
    torch.manual_seed(seed)
    layers, width = [], n_features
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    trunk = nn.Sequential(*layers)
    heads = nn.ModuleList(nn.Linear(width, 1) for _ in range(n_tasks))
    return trunk, heads


def losses_of(trunk, heads, X, Y):
    representation = trunk(X)
    outputs = torch.cat([head(representation) for head in heads], dim=1)
    return ((outputs - Y) ** 2).mean(dim=0)


def step_rows(trunk, heads, X, Y):
    shared = list(trunk.parameters())
    losses = losses_of(trunk, heads, X, Y)
    rows = task_gradients(losses, shared)
    gram = (rows @ rows.T).double().cpu()
    weights = torch.ones(len(gram), dtype=rows.dtype)  # a strategy's solve goes here
    torch.autograd.backward(losses.sum(), inputs=list(heads.parameters()), retain_graph=True)
    set_flat_grad(shared, weights @ rows)
    return gram


def step_autogram(engine, trunk, heads, X, Y):
    losses = losses_of(trunk, heads, X, Y)
    gram = engine.compute_gramian(losses).double().cpu()
    weights = torch.ones(len(gram), dtype=losses.dtype)
    torch.autograd.backward(
        (weights * losses).sum(), inputs=list(trunk.parameters()), retain_graph=True
    )
    torch.autograd.backward(losses.sum(), inputs=list(heads.parameters()))
    return gram


def measure(method, trunk_name, n_tasks, n_steps, batch_size=256, n_features=100):
    torch.set_num_threads(1)
    trunk, heads = build(n_features, TRUNKS[trunk_name], n_tasks)
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(batch_size, n_features, generator=generator)
    Y = torch.randn(batch_size, n_tasks, generator=generator)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Allocate .grad once, as in training (before the engine hooks the trunk: a forward
    # pass of a hooked module must be followed by compute_gramian).
    losses_of(trunk, heads, X, Y).sum().backward()
    if method == "static":

        def step():
            losses_of(trunk, heads, X, Y).sum().backward()
            return torch.zeros(n_tasks, n_tasks)
    elif method == "autogram":
        from torchjd.autogram import Engine

        engine = Engine(trunk, batch_dim=None)

        def step():
            return step_autogram(engine, trunk, heads, X, Y)
    else:

        def step():
            return step_rows(trunk, heads, X, Y)

    times = []
    for _ in range(n_steps):
        start = time.process_time()
        gram = step()
        times.append(time.process_time() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n_shared = sum(p.numel() for p in trunk.parameters())
    return {
        "method": method,
        "trunk": trunk_name,
        "n_tasks": n_tasks,
        "n_shared": n_shared,
        "ms_per_step": 1e3 * float(np.median(times[2:])),
        "peak_mib": (peak - before) / 1024,
        "gram": gram.tolist(),
    }


def main(n_steps):
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
        f"torch {torch.__version__}, 1 torch thread, batch 256, 100 features"
    )
    results = []
    for trunk_name in TRUNKS:
        for n_tasks in (5, 10):
            for method in ("static", "rows", "autogram"):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", method, trunk_name, str(n_tasks)]
                    + ["--steps", str(n_steps)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results.append(json.loads(out.stdout.splitlines()[-1]))
    header = ("trunk", "tasks", "n_shared", "method", "ms/step", "peak MiB")
    print("{:>20} {:>5} {:>9} {:>9} {:>8} {:>9}".format(*header))
    for row in results:
        print(
            f"{row['trunk']:>20} {row['n_tasks']:>5} {row['n_shared']:>9} {row['method']:>9} "
            f"{row['ms_per_step']:>8.2f} {row['peak_mib']:>9.1f}"
        )
    for rows, auto in zip(results[1::3], results[2::3]):
        a, b = np.array(rows["gram"]), np.array(auto["gram"])
        gap = np.abs(a - b).max() / np.abs(a).max()
        print(f"{rows['trunk']}, {rows['n_tasks']} tasks: Gram matrices differ by {gap:.1e}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--one", nargs=3, metavar=("METHOD", "TRUNK", "N_TASKS"))
    args = parser.parse_args()
    if args.one:
        method, trunk_name, n_tasks = args.one
        print(json.dumps(measure(method, trunk_name, int(n_tasks), args.steps)))
    else:
        main(args.steps)
