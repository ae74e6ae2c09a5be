"""What predict reads: one fitted model may predict from several threads at once."""

import pickle
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_mtl import MultiTaskEstimator, TargetDict, _predictor, _training, for_task
from sklearn_mtl._nn import _network
from sklearn_mtl._training import _data
from sklearn_mtl.datasets import make_multitask

N_THREADS = 4
CALLS = 6


def _variant_data(variant):
    types = ["regression", "binary", "multiclass"]
    X, Y = make_multitask(400, 5, 3, types, correlation=0.5, random_state=0)
    if variant == "raw_frame":
        rng = np.random.RandomState(0)
        X = pd.DataFrame(X, columns=[f"x{j}" for j in range(5)])
        X["town"] = rng.choice(np.array(["a", "b", "c", None], dtype=object), len(X))
        X["zip"] = pd.Categorical(rng.choice([10, 20, 30], len(X)))
    return X, TargetDict(Y)


#: Every kind of fitted state predict reads: one network, one network per best
#: epoch, an efficient ensemble, a DataFrame encoded batch by batch.
VARIANTS = {
    "joint": dict(early_stopping=True),
    "per_task": dict(early_stopping="per_task", validation_fraction=0.3),
    "ensemble": dict(ensemble_size=3, early_stopping=True),
    "raw_frame": dict(early_stopping="per_task", validation_fraction=0.3),
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def fitted(request):
    torch.set_num_threads(1)
    X, Y = _variant_data(request.param)
    params = dict(hidden_layer_sizes=(16,), max_epochs=12, lr=3e-2, batch_size=32, random_state=0)
    est = MultiTaskEstimator(**params, **VARIANTS[request.param]).fit(X, Y)
    if request.param in ("per_task", "raw_frame"):
        assert len(set(est.best_epochs_.values())) > 1, est.best_epochs_  # several networks
    return est, X, Y


def _answers(est, X, Y):
    """Everything predict-like the model and its views answer, as arrays."""
    answers = {f"predict_{t}": np.asarray(v) for t, v in est.predict(X).items()}
    answers.update({f"proba_{t}": p for t, p in est.predict_proba(X).items()})
    answers["scores"] = np.array(list(est.score_tasks(X, Y).values()))
    answers["view"] = for_task(est, "task_2").predict_proba(X)
    return answers


def _assert_same(got, expected):
    assert got.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)


@pytest.mark.parametrize("fresh", [False, True], ids=["warm", "unpickled"])
def test_threads_predict_what_one_thread_predicts(fitted, fresh):
    # Issue 26: after per-task early stopping, threads swapped each task's state
    # into the shared network and got wrong values in 10-99 % of calls.
    est, X, Y = fitted
    serial = _answers(est, X, Y)
    if fresh:  # no per-epoch copy built yet: the threads race to build them
        est = pickle.loads(pickle.dumps(est))
    start = threading.Barrier(N_THREADS)

    def work(_):
        start.wait()
        return [_answers(est, X, Y) for _ in range(CALLS)]

    with ThreadPoolExecutor(N_THREADS) as pool:
        results = [answers for batch in pool.map(work, range(N_THREADS)) for answers in batch]
    assert len(results) == N_THREADS * CALLS
    for answers in results:
        _assert_same(answers, serial)
    _assert_same(_answers(est, X, Y), serial)


def test_threads_build_each_best_epoch_s_network_once(fitted, monkeypatch):
    est, X, _ = fitted
    est = pickle.loads(pickle.dumps(est))  # no copy built yet
    predictor = est._predictor
    n_copies = sum(
        state is not None
        for bag in range(len(predictor.nets))
        for _, state, _ in predictor.task_states(bag=bag)
    )
    if not n_copies:
        pytest.skip("one network: nothing to copy")
    restored = []
    restore = _predictor.restore
    monkeypatch.setattr(
        _predictor, "restore", lambda network, state: restored.append(1) or restore(network, state)
    )
    start = threading.Barrier(N_THREADS)

    def work(_):
        start.wait()
        return est.predict(X)

    with ThreadPoolExecutor(N_THREADS) as pool:
        list(pool.map(work, range(N_THREADS)))
    assert len(restored) == n_copies  # not once per thread


def test_the_finite_check_passes_large_finite_outputs_and_names_the_bad_rows():
    # Finite outputs whose sum overflows float32 are accepted (the one-reduction
    # shortcut falls back to the exact check); NaN and inf rows are named.
    large = torch.full((4, 2), 3e38)
    _predictor.check_finite_outputs({"t": large})
    bad = large.clone()
    bad[1, 0], bad[3, 1] = float("nan"), float("-inf")
    with pytest.raises(ValueError, match=r"task 't' are NaN or infinite on rows \[1, 3\]"):
        _predictor.check_finite_outputs({"t": bad})


def _fit_small(**params):
    X, Y = make_multitask(600, 6, 3, ["regression", "binary", "multiclass"], random_state=0)
    base = dict(hidden_layer_sizes=(16,), max_epochs=2, early_stopping=False, random_state=0)
    return MultiTaskEstimator(**{**base, **params}).fit(X, Y), X


def test_inference_batches_are_fewer_rows_for_a_wide_network():
    # A narrow network predicts 8,192 rows per pass; a periodic embedding of six
    # columns with three members (96 x 6 x 3 floats of its widest output per row,
    # and more inside) fewer, a power of two, at least 256.
    narrow, _ = _fit_small(numeric_embedding=None, ensemble_size=1)
    wide, _ = _fit_small(numeric_embedding="periodic", ensemble_size=3)
    assert narrow.net_.inference_rows_ == _training.INFERENCE_BATCH_SIZE
    rows = wide.net_.inference_rows_
    assert _data.MIN_INFERENCE_BATCH_SIZE <= rows < narrow.net_.inference_rows_
    assert rows & (rows - 1) == 0
    # The probe leaves no hook behind and the network as predict finds it.
    module = wide.net_.module_
    assert not any(m._forward_hooks for m in module.modules())


def test_predictions_do_not_depend_on_the_inference_batch_size():
    est, X = _fit_small(numeric_embedding="periodic", ensemble_size=3)
    X = np.tile(X, (2, 1))  # 1,200 rows: several batches of 256
    est.net_.inference_rows_ = _data.MIN_INFERENCE_BATCH_SIZE
    batched = est.predict_proba(X)
    est.net_.inference_rows_ = _training.INFERENCE_BATCH_SIZE  # one pass
    whole = est.predict_proba(X)
    for task in whole:
        np.testing.assert_allclose(batched[task], whole[task], rtol=1e-5, atol=1e-6)


def test_linear_heads_stacked_in_one_product_predict_what_each_head_predicts(monkeypatch):
    # One member, bare heads: predict computes the heads as one product
    # (stacked_linear). A hook on each head's layer forces the general path.
    est, X = _fit_small(numeric_embedding=None, ensemble_size=1, n_bags=1, max_epochs=5)
    X = np.tile(X, (8, 1))  # 4,800 rows, several batches
    est.net_.inference_rows_ = 1024
    calls, stacked = [], _network.stacked_linear
    monkeypatch.setattr(_network, "stacked_linear", lambda *a: calls.append(1) or stacked(*a))
    stacked = (est.predict(X), est.predict_proba(X))
    assert len(calls) == 10  # five batches, twice
    heads = est.net_.module_.heads
    handles = [head.output.register_forward_hook(lambda *args: None) for head in heads]
    general = (est.predict(X), est.predict_proba(X))
    assert len(calls) == 10
    for handle in handles:
        handle.remove()
    for task in stacked[0]:
        np.testing.assert_allclose(stacked[0][task], general[0][task], rtol=1e-5, atol=1e-6)
    for task in stacked[1]:
        np.testing.assert_allclose(stacked[1][task], general[1][task], rtol=0, atol=1e-6)


def test_read_only_arrays_fit_and_predict_quietly_and_stay_as_they_are():
    # A frame's .values, np.broadcast_to or a memory buffer hand out read-only arrays;
    # torch warns about reading one into a tensor (once per process, unless told to
    # warn always) unless fit and predict copy it first.
    X, Y = make_multitask(200, 4, 2, ["regression", "binary"], random_state=0)
    X = X.astype(np.float32)
    frozen = X.copy()
    frozen.flags.writeable = False
    params = dict(hidden_layer_sizes=(8,), max_epochs=2, n_bags=1, random_state=0)
    expected = MultiTaskEstimator(**params).fit(X, Y).predict(X)
    warn_always = torch.is_warn_always_enabled()
    torch.set_warn_always(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = MultiTaskEstimator(**params).fit(frozen, Y).predict(frozen)
    finally:
        torch.set_warn_always(warn_always)
    for task, values in expected.items():
        np.testing.assert_array_equal(got[task], values)
    assert not frozen.flags.writeable
    np.testing.assert_array_equal(frozen, X)
