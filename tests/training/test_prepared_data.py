"""Fit passes its rows through the input layer's first stage once, not every batch.

The prepared path must train exactly as the general path (each batch prepared
as it comes), on every kind of input and every training-time call of the
network: training and validation steps, a gradient strategy's representation,
a strategy's end-of-step loss, the lookahead affinity of task grouping.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._nn import FeatureLayer
from sklearn_mtl._training import _data
from sklearn_mtl._training._engine import MultiTaskNet
from sklearn_mtl.datasets import make_multitask

PREPARE = FeatureLayer.prepare


def table(kind, n=400):
    """Features of ``kind`` and a regression, a binary and a 3-class task."""
    X, Y = make_multitask(n, 6, 3, ["regression", "binary", "multiclass"], random_state=0)
    X = X.astype(np.float32)
    rng = np.random.RandomState(1)
    if kind in ("missing values", "mixed"):
        X[rng.rand(n) < 0.2, 2] = np.nan
    if kind in ("skewed counts", "mixed"):
        X[:, 3] = rng.poisson(np.exp(1.5 * X[:, 3] + 1))  # logged beside itself
    if kind == "mixed":
        X = pd.DataFrame(X, columns=[f"x{j}" for j in range(6)])
        X["colour"] = rng.choice(["red", "green", "blue"], n)
        X["shop"] = rng.randint(0, 100, n).astype(str)  # embedded: over 64 slots
    return X, Y


def fitted(X, Y, prepare, monkeypatch, **params):
    """The estimator fitted with the prepared path (or not), and how often it prepared."""
    monkeypatch.setattr(_data, "PREPARED_MAX_BYTES", 1 << 30 if prepare else 0)
    calls = []
    monkeypatch.setattr(
        FeatureLayer, "prepare", lambda self, x: calls.append(len(x)) or PREPARE(self, x)
    )
    est = MultiTaskEstimator(
        **{"hidden_layer_sizes": (16,), "max_epochs": 4, "random_state": 0, **params}
    )
    est.fit(X, Y)
    return est, calls


CASES = {
    "numeric": ("numeric", {}),
    "missing values": ("missing values", {}),
    "skewed counts": ("skewed counts", {}),
    "categorical, missing, skewed": ("mixed", {}),
    "periodic embedding": ("mixed", {"numeric_embedding": "periodic"}),
    "piecewise-linear embedding": ("missing values", {"numeric_embedding": "piecewise_linear"}),
    "per-task early stopping": ("mixed", {"early_stopping": "per_task"}),
    "no early stopping, no members": ("numeric", {"early_stopping": False, "ensemble_size": 1}),
    "gradient strategy": ("mixed", {"weighting": "pcgrad"}),
    "end-of-step strategy": ("numeric", {"weighting": "famo"}),
    "task grouping": ("mixed", {"task_groups": "auto", "max_epochs": 8}),
    "bags": ("numeric", {"n_bags": 2}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_prepared_fit_trains_exactly_as_batch_by_batch(case, monkeypatch):
    X, Y = table(CASES[case][0])
    params = CASES[case][1]
    general, general_calls = fitted(X, Y, False, monkeypatch, **params)
    prepared, prepared_calls = fitted(X, Y, True, monkeypatch, **params)
    assert not general_calls
    # Each network trained prepares its rows once (bags: one network each).
    assert prepared_calls and all(n == len(Y["task_0"]) for n in prepared_calls)
    expected = general.net_.module_.state_dict()
    for key, value in prepared.net_.module_.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert len(prepared.net_.history) == len(general.net_.history)
    for task, predicted in prepared.predict(X).items():
        np.testing.assert_array_equal(predicted, general.predict(X)[task])
    assert not prepared.net_.module_.inputs.reads_prepared


def test_the_layer_reads_its_own_prepared_rows_as_raw_ones():
    X, _ = table("mixed", n=300)
    est = MultiTaskEstimator(numeric_embedding="periodic", max_epochs=1, random_state=0)
    est.fit(X, make_multitask(300, 6, 1, ["regression"], random_state=0)[1])
    layer = est.net_.module_.inputs
    x = torch.as_tensor(np.asarray(est._encode_X(X)), dtype=torch.float32)
    raw = x.clone()
    layer.train()
    with torch.no_grad():
        expected = layer(x)
        prepared = layer.prepare(x)
        with layer.reading_prepared():
            got = layer(prepared)
    assert prepared.shape == (300, layer.prepared_width)
    assert torch.equal(got, expected)
    np.testing.assert_array_equal(x.numpy(), raw.numpy())  # NaN in the same places
    assert not layer.reads_prepared


def test_reading_prepared_ends_with_the_block_even_on_error():
    X, Y = table("numeric", n=200)
    layer = MultiTaskEstimator(max_epochs=1).fit(X, Y).net_.module_.inputs
    with pytest.raises(RuntimeError, match="stop"):
        with layer.reading_prepared():
            assert layer.reads_prepared
            raise RuntimeError("stop")
    assert not layer.reads_prepared


def test_a_network_pickled_during_fit_reads_raw_rows_when_loaded(monkeypatch):
    # As a checkpoint callback would: the network pickled at the first epoch's end.
    seen = {}
    on_epoch_end = MultiTaskNet.on_epoch_end

    def pickling(net, *args, **kwargs):
        if len(net.history) == 1:
            seen["reading"] = net.module_.inputs.reads_prepared
            seen["pickled"] = pickle.dumps(net.module_)
        return on_epoch_end(net, *args, **kwargs)

    monkeypatch.setattr(MultiTaskNet, "on_epoch_end", pickling)
    X, Y = table("missing values", n=300)
    est = MultiTaskEstimator(max_epochs=2, n_bags=1, random_state=0).fit(X, Y)
    assert seen["reading"]  # during fit, the network read prepared rows
    loaded = pickle.loads(seen["pickled"])
    assert not loaded.inputs.reads_prepared
    x = torch.as_tensor(X[:20])
    with torch.no_grad():
        torch.testing.assert_close(loaded.inputs.eval()(x), est.net_.module_.inputs.eval()(x))


@pytest.mark.parametrize("limit", ["over the byte limit", "memory map"])
def test_features_too_large_or_on_disk_are_prepared_batch_by_batch(limit, tmp_path, monkeypatch):
    X, Y = table("numeric", n=300)
    if limit == "memory map":
        np.save(tmp_path / "X.npy", X)
        X = np.load(tmp_path / "X.npy", mmap_mode="r")
    else:
        # One byte short of the prepared copy: 300 rows of 6 float32 columns.
        monkeypatch.setattr(_data, "PREPARED_MAX_BYTES", 300 * 6 * 4 - 1)
    calls = []
    monkeypatch.setattr(
        FeatureLayer, "prepare", lambda self, x: calls.append(1) or PREPARE(self, x)
    )
    est = MultiTaskEstimator(max_epochs=2, random_state=0).fit(X, Y)
    assert not calls
    assert est.score(X, Y) > 0.5


def test_rows_prepared_by_parts_train_as_rows_prepared_at_once(monkeypatch):
    X, Y = table("mixed", n=300)
    whole, whole_calls = fitted(X, Y, True, monkeypatch, n_bags=1)
    width = whole.net_.module_.inputs.prepared_width  # float32 columns
    monkeypatch.setattr(_data, "PREPARE_CHUNK_BYTES", 64 * 4 * width)
    parts, part_calls = fitted(X, Y, True, monkeypatch, n_bags=1)
    assert whole_calls == [300]
    assert part_calls == [64, 64, 64, 64, 44]
    expected = whole.net_.module_.state_dict()
    for key, value in parts.net_.module_.state_dict().items():
        assert torch.equal(value, expected[key]), key


def test_a_layer_pickled_before_the_two_stages_predicts_as_before():
    X, Y = table("mixed", n=300)
    est = MultiTaskEstimator(numeric_embedding="periodic", max_epochs=1, n_bags=1, random_state=0)
    expected = est.fit(X, Y).predict(X)
    layer = est.net_.module_.inputs
    # As unpickled from a version without them: no flag, no prepared widths.
    layer.__dict__.pop("reads_prepared", None)
    for module in (layer, layer.numeric, layer.categorical):
        del module.prepared_width
    for task, predicted in est.predict(X).items():
        np.testing.assert_array_equal(predicted, expected[task])


@pytest.mark.cuda
def test_cuda_rows_are_prepared_on_the_device_and_train_as_batch_by_batch(monkeypatch):
    X, Y = table("mixed", n=400)
    general, _ = fitted(X, Y, False, monkeypatch, device="cuda", n_bags=1)
    prepared, calls = fitted(X, Y, True, monkeypatch, device="cuda", n_bags=1)
    assert calls == [400]
    expected = general.net_.module_.state_dict()
    for key, value in prepared.net_.module_.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=1e-5, atol=1e-6)
