"""Fit under ``data_parallel`` in every process of a torchrun job (run by test_parallel.py).

Usage: ``torchrun --nproc_per_node=N tests/_ddp_fit.py DATA_DIR OUT_DIR``. Reads
``X.npy`` (memory-mapped), ``Y.npz`` and ``configs.json`` (a list of estimator
parameters) from DATA_DIR; for each config writes the fitted parameters,
history and predictions of this rank to ``OUT_DIR/<config>-rank<r>.pt``.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.parallel import data_parallel


def make_estimator(params):
    """The estimator of one config (a JSON-able dict)."""
    params = dict(params, hidden_layer_sizes=tuple(params["hidden_layer_sizes"]))
    return MultiTaskEstimator(**params)


def main(data_dir, out_dir):
    torch.set_num_threads(1)
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    X = np.load(data_dir / "X.npy", mmap_mode="r")
    with np.load(data_dir / "Y.npz") as f:
        Y = TargetDict({name: f[name] for name in f.files})
    configs = json.loads((data_dir / "configs.json").read_text())
    with data_parallel() as plan:
        for i, params in enumerate(configs):
            est = make_estimator(params).fit(X, Y)
            result = {
                "world_size": plan.world_size,
                "state": est.net_.module_.state_dict(),
                "history": [
                    {k: v for k, v in epoch.items() if k not in ("dur", "batches")}
                    for epoch in est.history_
                ],
                "proba": est.predict_proba(np.asarray(X)),
                "weighting": [t.detach() for t in est.weighting_.parameters()],
            }
            torch.save(result, out_dir / f"{i}-rank{plan.rank}.pt")


if __name__ == "__main__":
    main(*sys.argv[1:])
