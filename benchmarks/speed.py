"""Training and prediction speed of MultiTaskEstimator against plain torch and skorch.

Every row compares implementations side by side in one process: the runs of a
row alternate between the implementations (the order rotating every round) and
the table shows the median of ``--repeats`` rounds, so that a noisy machine
slows every column alike. Sections:

``fit``
    Fit throughput (training rows x epochs per second, the whole ``fit`` call
    timed) of ``MultiTaskEstimator``, of a plain hand-written torch loop on the
    same network, data, batch size, epochs and optimizer (Adam, lr=1e-3), and
    of a naive skorch ``NeuralNet`` whose ``get_loss`` sums the three task
    losses and whose default ``DataLoader`` feeds rows one by one.
``predict``
    ``MultiTaskEstimator.predict`` against a plain loop of 8192-row forward
    passes under ``torch.inference_mode()`` that decodes the same predictions.
``scaling``
    ``fit`` time at 25k, 100k and 400k rows; linear cost gives a ratio of 16.
``memory``
    Peak resident memory added by ``fit`` (each size in a fresh subprocess,
    Linux ``/proc``), and on CUDA the peak allocated device memory, relative to
    the float32 size of X ("X" in the column names); X given as float32 and,
    as users often pass it, as float64 (which fit converts to float32).
``defaults``
    What each default adds to the plain network the other sections train:
    the numeric embedding (``"mixed"``, on these continuous columns the
    periodic one), three ensemble members, weight decay with the
    plateau schedule, early stopping (its cost per epoch: held-out rows, a
    validation pass, the best epoch's copy), then all of them (``dropout``
    resolves to 0 from 1,000 rows). Trunk and batch size at their defaults;
    fit seconds per epoch and predict throughput, alternating as above.

Data: ``make_multitask`` with 50 features and three tasks (regression,
binary, 3-class). Run ``python benchmarks/speed.py --help`` for the options;
``--device cuda`` runs the same table on a GPU.
"""

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
from skorch import NeuralNet
from torch import nn
from torch.nn import functional as F

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import make_multitask

N_FEATURES = 50
TASK_TYPES = ["regression", "binary", "multiclass"]
LR = 1e-3
PREDICT_BATCH = 8192


def make_data(n_samples, seed=0):
    X, Y = make_multitask(n_samples, N_FEATURES, 3, TASK_TYPES, random_state=seed)
    X = X.astype(np.float32)
    Y = {name: np.asarray(Y[name]) for name in Y}
    return X, Y


class PlainNet(nn.Module):
    """The estimator's default network written by hand: trunk plus three heads."""

    def __init__(self, trunk):
        super().__init__()
        layers, width = [], N_FEATURES
        for size in trunk:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleList([nn.Linear(width, 1), nn.Linear(width, 1), nn.Linear(width, 3)])

    def forward(self, x):
        z = self.trunk(x)
        return tuple(head(z) for head in self.heads)


def plain_loss(outputs, y):
    regression, binary, multiclass = outputs
    return (
        F.mse_loss(regression[:, 0], y[:, 0])
        + F.binary_cross_entropy_with_logits(binary[:, 0], y[:, 1])
        + F.cross_entropy(multiclass, y[:, 2].long())
    )


def encoded_targets(Y):
    """The targets as one float32 (n, 3) array, the regression standardised."""
    r = Y["task_0"]
    return np.column_stack([(r - r.mean()) / r.std(), Y["task_1"], Y["task_2"]]).astype(np.float32)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# -- the three ways to fit ----------------------------------------------------------


#: The network the plain loop trains: no embedding, one member, no dropout, weight
#: decay, early stopping or learning-rate change (the estimator's defaults add them;
#: see tabular_quality.py).
PLAIN = dict(
    numeric_embedding=None, ensemble_size=1, dropout=0.0, weight_decay=0.0, early_stopping=False,
    lr_schedule="constant",
)

#: The estimator's default parameters.
DEFAULTS = MultiTaskEstimator().get_params()


def fit_estimator(X, Y, trunk, batch_size, epochs, device):
    est = MultiTaskEstimator(
        hidden_layer_sizes=trunk,
        batch_size=batch_size,
        max_epochs=epochs,
        lr=LR,
        device=str(device),
        random_state=0,
        **PLAIN,
    )
    est.fit(X, Y)
    sync(device)
    return est


def fit_plain(X, Y, trunk, batch_size, epochs, device, fused=False):
    """What a user would write by hand: tensors on the device, a shuffled index.

    ``fused=True`` gives Adam the fused kernel the estimator uses; by default
    Adam runs torch's default implementation for the device.
    """
    torch.manual_seed(0)
    model = PlainNet(trunk).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, **({"fused": True} if fused else {}))
    Xt = torch.from_numpy(X).to(device)
    yt = torch.from_numpy(encoded_targets(Y)).to(device)
    n = len(Xt)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(n, device=device)
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size]
            loss = plain_loss(model(Xt[index]), yt[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    sync(device)
    return model


class MultiTaskLossNet(NeuralNet):
    """skorch's NeuralNet with the three task losses summed."""

    def get_loss(self, y_pred, y_true, X=None, training=False):
        return plain_loss(y_pred, y_true.to(self.device))


def fit_skorch(X, Y, trunk, batch_size, epochs, device):
    """A naive skorch net: default Dataset and DataLoader, a multi-task get_loss."""
    torch.manual_seed(0)
    net = MultiTaskLossNet(
        PlainNet,
        module__trunk=trunk,
        criterion=nn.MSELoss,  # unused: get_loss is overridden
        optimizer=torch.optim.Adam,
        lr=LR,
        batch_size=batch_size,
        max_epochs=epochs,
        train_split=None,
        iterator_train__shuffle=True,
        device=str(device),
        verbose=0,
    )
    net.fit(X, encoded_targets(Y))
    sync(device)
    return net


def fit_plain_fused(X, Y, trunk, batch_size, epochs, device):
    return fit_plain(X, Y, trunk, batch_size, epochs, device, fused=True)


FITTERS = {
    "MultiTaskEstimator": fit_estimator,
    "plain torch": fit_plain,
    "plain torch, fused Adam": fit_plain_fused,
    "naive skorch": fit_skorch,
}


# -- prediction -----------------------------------------------------------------------


def predict_estimator(est, X, device):
    return est.predict(X)


def predict_plain(model, X, device):
    model.eval()
    parts = [[], [], []]
    with torch.inference_mode():
        Xt = torch.from_numpy(X)
        for start in range(0, len(Xt), PREDICT_BATCH):
            regression, binary, multiclass = model(Xt[start : start + PREDICT_BATCH].to(device))
            parts[0].append(regression[:, 0])
            parts[1].append((binary[:, 0] > 0).long())
            parts[2].append(multiclass.argmax(dim=1))
        return [torch.cat(p).cpu().numpy() for p in parts]


# -- measurement ----------------------------------------------------------------------


def alternate(runs, repeats, device):
    """Median seconds of each callable in ``runs``, alternating, order rotated per round."""
    names = list(runs)
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            sync(device)
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


#: The trunks of the fit and predict tables (issue 28 measures (64,) and (128, 128)).
TRUNKS = [(64,), (128, 128)]


def bench_fit(args, device):
    X, Y = make_data(args.rows)
    # Warm up every implementation (kernels, allocator, imports) on a small slice.
    small_X, small_Y = X[:2048], {k: v[:2048] for k, v in Y.items()}
    for fit in FITTERS.values():
        fit(small_X, small_Y, (64,), 256, 1, device)
    rows = []
    for trunk in TRUNKS:
        for batch_size in [256, 1024]:
            runs = {
                name: functools.partial(fit, X, Y, trunk, batch_size, args.epochs, device)
                for name, fit in FITTERS.items()
                if not (args.skip_skorch and name == "naive skorch")
            }
            seconds = alternate(runs, args.repeats, device)
            speed = {name: args.rows * args.epochs / s for name, s in seconds.items()}
            row = {
                "trunk": str(trunk),
                "batch": batch_size,
                **{f"{name} (rows/s)": round(v) for name, v in speed.items()},
                "est/plain": round(speed["MultiTaskEstimator"] / speed["plain torch"], 2),
                "est/plain fused": round(
                    speed["MultiTaskEstimator"] / speed["plain torch, fused Adam"], 2
                ),
            }
            if "naive skorch" in speed:
                row["est/skorch"] = round(speed["MultiTaskEstimator"] / speed["naive skorch"], 2)
            rows.append(row)
            print_row(row)
    return rows


def bench_predict(args, device):
    X, Y = make_data(args.rows)
    rows = []
    for trunk in TRUNKS:
        est = fit_estimator(X[:4096], {k: v[:4096] for k, v in Y.items()}, trunk, 256, 1, device)
        model = fit_plain(X[:4096], {k: v[:4096] for k, v in Y.items()}, trunk, 256, 1, device)
        predict_estimator(est, X[:PREDICT_BATCH], device)
        predict_plain(model, X[:PREDICT_BATCH], device)
        runs = {
            "MultiTaskEstimator": lambda est=est: predict_estimator(est, X, device),
            "plain inference_mode": lambda model=model: predict_plain(model, X, device),
        }
        # Each run takes milliseconds: many rounds keep the median steady.
        seconds = alternate(runs, max(5 * args.repeats, 15), device)
        speed = {name: args.rows / s for name, s in seconds.items()}
        row = {
            "trunk": str(trunk),
            **{f"{name} (rows/s)": round(v) for name, v in speed.items()},
            "est/plain": round(speed["MultiTaskEstimator"] / speed["plain inference_mode"], 2),
        }
        rows.append(row)
        print_row(row)
    return rows


def bench_scaling(args, device):
    sizes = [s * args.rows // 100_000 for s in (25_000, 100_000, 400_000)]
    data = {n: make_data(n) for n in sizes}
    fit_estimator(*make_data(2048), (64,), 256, 1, device)
    runs = {
        n: (lambda n=n: fit_estimator(*data[n], (64,), 256, args.epochs, device)) for n in sizes
    }
    seconds = alternate(runs, args.repeats, device)
    rows = []
    for n in sizes:
        row = {
            "rows": n,
            "fit (s)": round(seconds[n], 2),
            "rows/s": round(n * args.epochs / seconds[n]),
            f"time / time at {sizes[0]}": round(seconds[n] / seconds[sizes[0]], 2),
        }
        rows.append(row)
        print_row(row)
    return rows


def memory_probe(n, device, dtype):
    """Run in a subprocess: peak memory that fit adds, as JSON on stdout."""
    device = torch.device(device)
    fit_estimator(*make_data(2048), (128, 64), 256, 1, device)
    X, Y = make_data(n)
    X = X.astype(dtype)
    status = "/proc/self/status"

    def read_kb(field):
        with open(status) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
        raise RuntimeError(f"{field} not in {status}")

    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current resident size
    before = read_kb("VmRSS:")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        cuda_before = torch.cuda.memory_allocated(device)
    est = fit_estimator(X, Y, (128, 64), 256, 1, device)
    peak = read_kb("VmHWM:")
    params = sum(p.numel() for p in est.net_.module_.parameters())
    result = {
        "x_bytes": X.size * 4,
        "x_given_bytes": X.nbytes,
        "host_extra_bytes": (peak - before) * 1024,
        # parameters, gradients and Adam's two moment buffers
        "model_bytes": 4 * 4 * params,
    }
    if device.type == "cuda":
        result["device_peak_bytes"] = torch.cuda.max_memory_allocated(device) - cuda_before
    print(json.dumps(result))


#: What the defaults add to the plain network, one at a time, then all of them
#: (``"auto"`` as it resolves on ``--rows`` rows; batch and trunk at their defaults).
DEFAULT_STEPS = {
    "plain network": PLAIN,
    "with numeric embedding": {**PLAIN, "numeric_embedding": "auto"},
    "with 3 ensemble members": {**PLAIN, "ensemble_size": "auto"},
    "with weight decay, plateau": {
        **PLAIN, "weight_decay": DEFAULTS["weight_decay"], "lr_schedule": "plateau"
    },
    "with early stopping": {**PLAIN, "early_stopping": True},
    "defaults": {},
}


def bench_defaults(args, device):
    """Fit (per epoch) and predict throughput of each step from the plain network to the defaults.

    ``max_epochs=--epochs`` for every row, so that early stopping's cost per
    epoch (the held-out rows, a validation pass, the best epoch's copy) is
    measured, not the number of epochs it chooses.
    """
    X, Y = make_data(args.rows)
    small_X, small_Y = X[:2048], {k: v[:2048] for k, v in Y.items()}

    def fit(params, X, Y):
        est = MultiTaskEstimator(
            max_epochs=args.epochs, device=str(device), random_state=0, **params
        )
        est.fit(X, Y)
        sync(device)
        return est

    fitted = {}
    for name, params in DEFAULT_STEPS.items():
        fit(params, small_X, small_Y)  # warm-up
        fitted[name] = fit(params, X, Y)
    fits = {name: functools.partial(fit, params, X, Y) for name, params in DEFAULT_STEPS.items()}
    fit_seconds = alternate(fits, args.repeats, device)
    predicts = {name: functools.partial(est.predict, X) for name, est in fitted.items()}
    predict_seconds = alternate(predicts, max(5 * args.repeats, 15), device)
    rows = []
    for name in DEFAULT_STEPS:
        est = fitted[name]
        row = {
            "network": name,
            "batch": est.net_.batch_size,
            "fit s / epoch": round(fit_seconds[name] / args.epochs, 3),
            "x plain": round(fit_seconds[name] / fit_seconds["plain network"], 2),
            "predict (rows/s)": round(args.rows / predict_seconds[name]),
            "x plain predict": round(predict_seconds[name] / predict_seconds["plain network"], 2),
        }
        rows.append(row)
        print_row(row)
    return rows


def bench_memory(args, device):
    rows = []
    large = 4 * args.rows
    for n, dtype in [(args.rows, "float32"), (large, "float32"), (large, "float64")]:
        command = [sys.executable, __file__, "--memory-probe", str(n), "--device", str(device)]
        out = subprocess.run(
            [*command, "--memory-dtype", dtype],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        mb = 2**20
        row = {
            "rows": n,
            "X given as": dtype,
            "X float32 (MB)": round(r["x_bytes"] / mb, 1),
            "model+Adam (MB)": round(r["model_bytes"] / mb, 2),
            "fit peak extra RSS (MB)": round(r["host_extra_bytes"] / mb, 1),
            "extra / X": round(r["host_extra_bytes"] / r["x_bytes"], 2),
            "(X as given + extra) / X": round(
                (r["x_given_bytes"] + r["host_extra_bytes"]) / r["x_bytes"], 2
            ),
        }
        if "device_peak_bytes" in r:
            row["CUDA peak (MB)"] = round(r["device_peak_bytes"] / mb, 1)
            row["CUDA peak / X"] = round(r["device_peak_bytes"] / r["x_bytes"], 2)
        rows.append(row)
        print_row(row)
    return rows


# -- output ---------------------------------------------------------------------------


def print_row(row):
    print("  " + ", ".join(f"{k}={v}" for k, v in row.items()), flush=True)


def rst_table(rows):
    """A reStructuredText simple table (also readable as plain text)."""
    keys = list(rows[0])
    cells = [[str(row.get(k, "")) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(k.ljust(w) for k, w in zip(keys, widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    return "\n".join([*lines, rule])


def split_columns(rows):
    """Throughputs and their ratios as two tables, narrow enough for the docs site."""
    keys = list(rows[0])
    ratios = [k for k in keys if k.startswith("est/")]
    if not ratios or len(keys) <= 5:
        return [rows]
    leading = keys[:2]
    speeds = [k for k in keys if k not in ratios and k not in leading]
    return [
        [{**{k: row[k] for k in leading}, **{k.removesuffix(" (rows/s)"): row[k] for k in speeds}}
         for row in rows],
        [{k: row.get(k, "") for k in leading + ratios} for row in rows],
    ]


def machine(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {torch.get_num_threads()} torch threads"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the fit table")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per fit")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per row (median)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument(
        "--sections",
        default="fit,predict,scaling,memory,defaults",
        help="comma-separated subset of fit,predict,scaling,memory,defaults",
    )
    parser.add_argument("--skip-skorch", action="store_true", help="leave skorch out")
    parser.add_argument("--memory-probe", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-dtype", default="float32", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.memory_probe:
        memory_probe(args.memory_probe, device, args.memory_dtype)
        return
    print(f"# {machine(device)}; torch {torch.__version__}; {args.rows} rows x {N_FEATURES}")
    print(f"# features, tasks {TASK_TYPES}, {args.epochs} epochs per fit, median of")
    print(f"# {args.repeats} alternating rounds\n")
    sections = {
        "fit": ("Fit throughput", bench_fit),
        "predict": ("Predict throughput", bench_predict),
        "scaling": ("Fit time against rows (trunk (64,), batch 256)", bench_scaling),
        "memory": ("Peak memory of fit (trunk (128, 64), batch 256, 1 epoch)", bench_memory),
        "defaults": ("From the plain network to the defaults", bench_defaults),
    }
    for name in args.sections.split(","):
        title, bench = sections[name]
        print(title)
        rows = bench(args, device)
        tables = "\n\n".join(rst_table(part) for part in split_columns(rows))
        print("\n" + title + "\n" + "-" * len(title) + "\n\n" + tables + "\n", flush=True)


if __name__ == "__main__":
    main()
