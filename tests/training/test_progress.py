"""verbose: 0 prints nothing, 1 one progress line per fit and the validation scores, 2 the table."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from skorch.history import History
from tqdm import tqdm

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl._training import DATA_PARALLEL, DataParallelPlan, DivergenceError
from sklearn_mtl._training._progress import _kept


def _lines(printed):
    """What a terminal shows: each line as its last carriage-return redraw left it."""
    return [line.rsplit("\r", 1)[-1] for line in printed.split("\n")[:-1]]


def _stopping_fit(**params):
    # tol=1.0 makes every epoch after the first a miss: the third stops training.
    X = np.random.RandomState(0).normal(size=(60, 3))
    Y = TargetDict(y=X[:, 0], z=X[:, 1] > 0)
    defaults = dict(
        hidden_layer_sizes=(4,),
        max_epochs=50,
        n_iter_no_change=2,
        tol=1.0,
        lr_schedule="constant",
        n_bags=1,  # one fit, one line (bags: test_verbose_1_draws_a_line_per_bag)
        random_state=0,
    )
    return X, Y, MultiTaskEstimator(**{**defaults, **params}).fit(X, Y)


def test_verbose_1_draws_one_line_that_ends_with_why_it_stopped(capfd, no_step_floor):
    X, Y, est = _stopping_fit(verbose=1)
    out, err = capfd.readouterr()
    assert out == ""
    bar, scores = _lines(err)
    assert est.n_epochs_ == 3
    assert bar.startswith("2 tasks:   6%|")
    assert bar.endswith(
        f"| 3/50 [00:00, kept epoch 1: valid_loss={est.history_[0, 'valid_loss']:.4g}] "
        "stopped: valid_loss has not improved in the last 2 epochs"
    )
    # Then each task's default score on the held-out validation rows.
    _, valid = est.net_.train_split.rows(len(X))
    expected = est.score_tasks(X[valid], Y.take(valid))
    assert scores == (
        f"  validation ({len(valid)} rows): y r2 {expected['y']:.3f}, "
        f"z accuracy {expected['z']:.3f}"
    )


def test_verbose_1_shows_the_plateau_and_per_task_stopping(capfd, no_step_floor):
    _, _, est = _stopping_fit(verbose=1, early_stopping="per_task", lr_schedule="plateau")
    bar = _lines(capfd.readouterr().err)[0]
    (divided,) = [row["epoch"] for row in est.history_ if row.get("lr_divided")]
    assert est.n_epochs_ == divided + 1
    assert bar.endswith(
        f", lr/10 at epoch {divided}] "
        "stopped: no task's validation loss has improved in the last 1 epoch"
    )


def test_verbose_1_without_a_validation_split_runs_to_max_epochs(rng, capfd):
    X = rng.normal(size=(60, 3))
    est = MultiTaskEstimator(
        hidden_layer_sizes=(4,), max_epochs=4, early_stopping=False, verbose=1, n_bags=1,
        random_state=0,
    ).fit(X, {"y": X[:, 0]})
    (bar,) = _lines(capfd.readouterr().err)
    assert bar.startswith("y: 100%|")
    assert "| 4/4 [" in bar and "<00:00" in bar
    assert bar.endswith(f"train_loss={est.history_[-1, 'train_loss']:.4g}]")


def test_verbose_2_prints_the_epoch_table_and_no_line(capfd, no_step_floor):
    _, _, est = _stopping_fit(verbose=2)
    out, err = capfd.readouterr()
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["epoch", "train_loss", "train_loss_y"]
    rows = [line.split()[0] for line in lines if line.strip()[:1].isdigit()]
    assert rows == ["1", "2", "3"] == [str(e) for e in range(1, est.n_epochs_ + 1)]
    assert lines[-1] == "Restoring best model from epoch 1."
    assert "%|" not in err and "validation (" not in err


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_the_model_does_not_depend_on_verbose(capfd, verbose, no_step_floor):
    X, _, quiet = _stopping_fit(verbose=0)
    _, _, est = _stopping_fit(verbose=verbose)
    np.testing.assert_array_equal(est.predict(X)["y"], quiet.predict(X)["y"])
    # A silent fit adds no callback: no table formatted, no line drawn.
    callbacks = set(dict(est.net_.callbacks_))
    assert ("progress" in callbacks) == (verbose == 1)
    assert ("print_log" in callbacks) == (verbose == 2)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict(X)["y"], quiet.predict(X)["y"])


def test_only_process_0_of_a_data_parallel_fit_draws(rng, capfd):
    class SecondProcess(DataParallelPlan):
        rank = 1

    token = DATA_PARALLEL.set(SecondProcess())
    try:
        X = rng.normal(size=(60, 3))
        MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=2, verbose=1).fit(X, X[:, 0])
    finally:
        DATA_PARALLEL.reset(token)
    assert capfd.readouterr() == ("", "")


def test_verbose_0_prints_nothing_in_a_grid_search(rng, capfd):
    X = rng.normal(size=(60, 3))
    Y = TargetDict(y=X[:, 0], z=X[:, 1] > 0)
    est = MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
    GridSearchCV(est, {"lr": [1e-3, 1e-2]}, cv=2).fit(X, Y)
    assert capfd.readouterr() == ("", "")


_SEARCHES = """
import sys
import numpy as np
from sklearn.model_selection import GridSearchCV
from skorch.history import History
from tqdm import tqdm
from sklearn_mtl import MultiTaskEstimator, TargetDict

X = np.random.RandomState(0).normal(size=(60, 3))
Y = TargetDict(y=X[:, 0], z=X[:, 1] > 0)
for verbose in [0, 1]:
    est = MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=2, n_bags=1, verbose=verbose)
    GridSearchCV(est, {"lr": [1e-3, 1e-2]}, cv=2, n_jobs=2).fit(X, Y)
    print(f"searched with verbose={verbose}", file=sys.stderr, flush=True)
"""


@pytest.mark.slow  # a fresh interpreter and its loky workers: 15 to 35 s
def test_worker_processes_of_a_search_print_only_when_asked():
    # A fresh interpreter, so that the workers it starts write to the pipes read here.
    run = subprocess.run(
        [sys.executable, "-c", _SEARCHES], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    silent, asked = run.stderr.split("searched with verbose=0\n")
    assert silent == ""
    # Four fits in the workers (2 candidates x 2 folds), then the refit here. The
    # workers share one pipe, so their redraws may interleave and split a line; each fit's
    # summary is a single write, counted wherever it lands.
    assert asked.count("validation (3 rows):") == 4, asked
    assert asked.count("validation (6 rows):") == 1, asked
    assert asked.count("2 tasks: 100%|") >= 5, asked
    assert _lines(asked)[-1] == "searched with verbose=1"


def test_the_line_names_the_epoch_kept_or_each_task_s():
    history = History()
    for epoch, loss in enumerate([0.9, 0.5, 0.7], start=1):
        history.new_epoch()
        history.record("epoch", epoch)
        history.record("valid_loss", loss)
    assert _kept({"a": 2, "b": 2}, history) == "kept epoch 2: valid_loss=0.5"
    assert _kept({"a": 1, "b": 3}, history) == "kept a epoch 1, b epoch 3"


def test_a_failed_fit_ends_its_line(capfd):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(64, 3)) * 1e20
    # One full batch per epoch, and a step so large that the second epoch diverges.
    params = dict(lr=1e10, batch_size=64, early_stopping=False)
    est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=5, verbose=1, **params)
    # The traceback kept (as Jupyter keeps it) keeps the failed net and its callbacks.
    with pytest.raises(DivergenceError) as failure:
        est.fit(X, {"r": rng.normal(size=64)})
    assert failure.traceback
    (line,) = _lines(capfd.readouterr().err)
    assert line.startswith("r:  20%|") and "| 1/5 [" in line
    # No bar is left open to push the next fit's line down a row.
    assert not any(bar.desc == "r" for bar in tqdm._instances)


def test_the_scores_leave_out_a_task_without_validation_labels(capfd, no_step_floor):
    X, Y, est = _stopping_fit(verbose=1)
    _, valid = est.net_.train_split.rows(len(X))
    z = Y["z"].astype(float)
    z[valid] = np.nan
    capfd.readouterr()
    # The same parameters and number of rows: the same validation rows.
    params = dict(est.get_params(), tasks={"z": "binary"})
    MultiTaskEstimator(**params).fit(X, TargetDict(y=Y["y"], z=z))
    scores = _lines(capfd.readouterr().err)[-1]
    assert scores.startswith(f"  validation ({len(valid)} rows): y r2 ")
    assert "z" not in scores
