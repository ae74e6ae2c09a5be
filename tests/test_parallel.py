import importlib.util
import json
import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from filelock import FileLock

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.architectures import ARCHITECTURES
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.parallel import data_parallel
from sklearn_mtl.weighting import WEIGHTINGS, GradientWeighting, LossWeighting

ROOT = Path(__file__).resolve().parents[1]

# The fits run by tests/_ddp_fit.py in each of 2 gloo processes of one torchrun
# job: one full-batch step; several epochs of small batches with early
# stopping; every loss-level weighting strategy; every other architecture.
LOSS_LEVEL = [name for name, cls in WEIGHTINGS.items() if issubclass(cls, LossWeighting)]
OTHER_ARCHITECTURES = [name for name in ARCHITECTURES if name != "shared"]
#: What the comparison with one process needs: no dropout (its masks depend on
#: how the batch is split between processes); early stopping only where asked.
EXACT = dict(dropout=0.0, early_stopping=False)
CONFIGS = (
    [
        dict(hidden_layer_sizes=[16], max_epochs=1, batch_size=200, random_state=0),
        dict(
            hidden_layer_sizes=[16, 8],
            max_epochs=6,
            batch_size=32,
            early_stopping=True,
            n_iter_no_change=2,
            random_state=1,
        ),
    ]
    + [
        # Every loss-level strategy; the learnable ones (uncertainty) test the
        # averaging of the strategy's own gradients, the non-linear ones (famo)
        # that every process sees the full batch's losses.
        dict(
            hidden_layer_sizes=[16],
            max_epochs=3,
            batch_size=50,
            lr=0.01,
            weighting=name,
            random_state=2,
        )
        for name in sorted(LOSS_LEVEL)
    ]
    + [
        dict(hidden_layer_sizes=[8], max_epochs=2, batch_size=50, architecture=name, random_state=3)
        for name in sorted(OTHER_ARCHITECTURES)
    ]
)
CONFIGS = [{**EXACT, **config} for config in CONFIGS]


def _data():
    X, Y = make_multitask(200, 5, 3, ["regression", "binary", "multiclass"], random_state=0)
    Y = {name: np.asarray(column, dtype=float) for name, column in Y.items()}
    Y["task_0"][::7] = np.nan
    Y["task_1"][::5] = np.nan
    return X.astype(np.float32), Y


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory):
    """Each config's per-rank results of a real 2-process torchrun job on gloo.

    The job runs once per test session: pytest-xdist's workers share its
    results through a directory beside their own temporary ones, the first
    to take the lock running it (the job takes both cores for 15 to 20 s).
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's directory, above each worker's own
    directory = shared / "ddp"
    with FileLock(shared / "ddp.lock"):
        if not (directory / "done").exists():
            directory.mkdir(exist_ok=True)
            _run_ddp_job(directory)
            (directory / "done").touch()
    return [
        [torch.load(directory / f"{i}-rank{rank}.pt", weights_only=False) for rank in (0, 1)]
        for i in range(len(CONFIGS))
    ]


def _run_ddp_job(directory):
    """The torchrun job of every config in ``CONFIGS``; results land in ``directory``."""
    X, Y = _data()
    np.save(directory / "X.npy", X)
    np.savez(directory / "Y.npz", **Y)
    (directory / "configs.json").write_text(json.dumps(CONFIGS))
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--rdzv_backend=c10d",
        f"--rdzv_endpoint=127.0.0.1:{_free_port()}",
        str(ROOT / "tests" / "_ddp_fit.py"),
        str(directory),
        str(directory),
    ]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-4000:]


def _load_script():
    spec = importlib.util.spec_from_file_location("_ddp_fit", ROOT / "tests" / "_ddp_fit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _single_process(config):
    X, Y = _data()
    return _load_script().make_estimator(config).fit(X, TargetDict(Y))


# The torchrun job of ddp_results starts two processes that take both cores for
# 15 to 45 s: its tests run with -m slow, as CI does.
@pytest.mark.slow
@pytest.mark.parametrize(
    "which",
    range(len(CONFIGS)),
    ids=["one-full-batch-step", "epochs-early-stopping"]
    + sorted(LOSS_LEVEL)
    + sorted(OTHER_ARCHITECTURES),
)
def test_ddp_ranks_agree_with_each_other_and_with_one_process(ddp_results, which):
    rank0, rank1 = ddp_results[which]
    assert rank0["world_size"] == 2
    for key, value in rank0["state"].items():
        assert torch.equal(value, rank1["state"][key]), key
    assert rank0["history"] == rank1["history"]

    single = _single_process(CONFIGS[which])
    expected = single.net_.module_.state_dict()
    assert list(rank0["state"]) == list(expected)
    for key, value in rank0["state"].items():
        # The gradient of the full batch, up to floating-point summation order.
        torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-6)
    assert len(rank0["history"]) == single.n_epochs_
    for epoch, reference in zip(rank0["history"], single.history_):
        for key, value in epoch.items():
            if key.startswith(("train_loss", "valid_loss")):
                assert value == pytest.approx(reference[key], rel=1e-5), key
    learned = list(single.weighting_.parameters())
    assert bool(learned) == (CONFIGS[which].get("weighting") == "uncertainty")
    assert len(rank0["weighting"]) == len(learned)
    for mine, other, reference in zip(rank0["weighting"], rank1["weighting"], learned):
        assert torch.equal(mine, other)
        torch.testing.assert_close(mine, reference.detach(), rtol=1e-5, atol=1e-6)
    proba = single.predict_proba(_data()[0])
    for task, values in rank0["proba"].items():
        np.testing.assert_allclose(values, proba[task], atol=1e-5)


@pytest.mark.slow
def test_ddp_training_lowers_the_loss(ddp_results):
    # The comparison above would hold vacuously if nothing was trained.
    history = ddp_results[1][0]["history"]
    assert len(history) >= 3
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 0.05


@pytest.fixture
def one_process_group():
    """A real single-process gloo group, destroyed afterwards."""
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{_free_port()}", rank=0, world_size=1
    )
    yield
    dist.destroy_process_group()


def test_world_of_one_matches_plain_fit_and_leaves_a_plain_model(one_process_group, mixed_data):
    X, Y = mixed_data
    params = dict(hidden_layer_sizes=(8,), max_epochs=2, batch_size=50, random_state=0)
    with data_parallel() as plan:
        assert (plan.rank, plan.world_size) == (0, 1)
        est = MultiTaskEstimator(**params).fit(X, Y)
    assert dist.is_initialized()  # an existing group is left to its owner
    assert type(est.net_.module_).__name__ == "MultiTaskNetwork"
    plain = MultiTaskEstimator(**params).fit(X, Y)
    for key, value in plain.net_.module_.state_dict().items():
        torch.testing.assert_close(est.net_.module_.state_dict()[key], value)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X)["task_1"], plain.predict(X)["task_1"])


class _GradientProbe(GradientWeighting):
    def weigh(self, gram, losses, active):
        return np.ones(len(active))


def test_gradient_level_strategies_are_refused_before_training(one_process_group, mixed_data):
    X, Y = mixed_data
    est = MultiTaskEstimator(weighting=_GradientProbe(), max_epochs=1)
    with data_parallel(), pytest.raises(ValueError, match="combines per-task gradients"):
        est.fit(X, Y)
    assert not hasattr(est, "net_")


def test_without_process_group_or_torchrun_it_says_how_to_launch(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(RuntimeError, match="launch the script with `torchrun"):
        with data_parallel():
            pass
