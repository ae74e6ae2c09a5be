import tracemalloc

import numpy as np
import pytest
import torch

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._features import validate_features
from sklearn_mtl._training import BatchIterator, MappedData
from sklearn_mtl.datasets import make_multitask


@pytest.fixture
def mapped(tmp_path):
    """A 40000 x 100 float64 X (32 MB) saved to disk, its memory map and targets."""
    X, Y = make_multitask(40_000, 100, 2, ["regression", "binary"], random_state=0)
    Y["task_1"] = Y["task_1"].astype(float)
    Y["task_1"][::9] = np.nan
    np.save(tmp_path / "X.npy", X)
    return X, np.load(tmp_path / "X.npy", mmap_mode="r"), Y


def test_memmap_fit_matches_in_memory_fit_without_loading_x(mapped):
    X, X_map, Y = mapped
    params = dict(
        hidden_layer_sizes=(16,),
        max_epochs=1,
        batch_size=2048,
        early_stopping=True,
        numeric_embedding=None,  # tests/test_embeddings.py fits one from a memory map
        ensemble_size=1,
        random_state=0,
    )
    # Warm up torch and skorch so that their one-off allocations are not counted.
    MultiTaskEstimator(**params).fit(X_map[:500], {k: v[:500] for k, v in Y.items()})

    tracemalloc.start()
    try:
        from_map = MultiTaskEstimator(**params).fit(X_map, Y)
        fit_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        pred_map = from_map.predict(X_map)
        predict_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fit_peak < X.nbytes / 4
    assert predict_peak < X.nbytes / 4

    in_memory = MultiTaskEstimator(**params).fit(X, Y)
    expected = in_memory.net_.module_.state_dict()
    for key, value in from_map.net_.module_.state_dict().items():
        assert torch.equal(value, expected[key]), key
    pred_mem = in_memory.predict(X)
    for task in Y:
        np.testing.assert_array_equal(pred_map[task], pred_mem[task])
    assert from_map.score(X_map[:1000], {k: v[:1000] for k, v in Y.items()}) == pytest.approx(
        in_memory.score(X[:1000], {k: v[:1000] for k, v in Y.items()})
    )


def test_memmap_batches_are_the_rows_in_batch_order(tmp_path):
    X = np.arange(40, dtype=np.float64).reshape(20, 2)
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    y, w = np.arange(20, dtype=np.float32)[:, None], np.ones((20, 1), np.float32)
    data = MappedData(X_map, y, w, "cpu").subset(torch.arange(1, 20, 2))
    generator = torch.Generator().manual_seed(0)
    seen = []
    for Xb, yb, _ in BatchIterator(data, 3, True, generator):
        assert Xb.dtype == torch.float32
        np.testing.assert_array_equal(Xb.numpy(), X[yb.long().squeeze(1).numpy()])
        seen.extend(yb.squeeze(1).tolist())
    assert sorted(seen) == list(range(1, 20, 2))
    assert seen != sorted(seen)
    index = torch.tensor([4, 0, 2])
    np.testing.assert_array_equal(data.X.index_select(0, index).numpy(), X[[9, 1, 5]])
    np.testing.assert_array_equal(data.X[1:3].numpy(), X[[3, 5]])


def test_memmap_with_infinity_is_rejected_naming_the_rows(tmp_path, monkeypatch):
    monkeypatch.setattr("sklearn_mtl._features._validation.CHUNK_BYTES", 10 * 3 * 4)
    X = np.ones((50, 3), dtype=np.float32)
    X[27, 1] = np.inf
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="infinity in rows 20 to 29"):
        MultiTaskEstimator(max_epochs=1).fit(X_map, {"t": np.arange(50) % 2})


@pytest.mark.parametrize("row", [47, 0])
def test_memmap_with_missing_values_fits_like_the_array(tmp_path, monkeypatch, row):
    # NaN is a missing value (issue 13): found chunk by chunk, imputed and flagged;
    # in the first row too, which validate_data checks on its own (issue 26).
    monkeypatch.setattr("sklearn_mtl._features._validation.CHUNK_BYTES", 10 * 3 * 4)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    X[row, 2] = np.nan
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    Y = {"t": np.arange(60) % 2}
    from_map = MultiTaskEstimator(max_epochs=2, random_state=0).fit(X_map, Y)
    in_memory = MultiTaskEstimator(max_epochs=2, random_state=0).fit(X, Y)
    assert from_map.net_.module_.inputs.numeric.missing.tolist() == [2]
    np.testing.assert_array_equal(
        from_map.predict_proba(X_map)["t"], in_memory.predict_proba(X)["t"]
    )


def test_memmap_checks_shape_dtype_and_features(tmp_path, fast):
    est = MultiTaskEstimator(**fast)
    path = tmp_path / "x.dat"
    flat = np.memmap(path, dtype=np.float32, mode="w+", shape=(30,))
    with pytest.raises(ValueError, match="Expected a 2-D memory-mapped X"):
        validate_features(est, flat, reset=True)
    text = np.memmap(tmp_path / "s.dat", dtype="S2", mode="w+", shape=(30, 2))
    with pytest.raises(ValueError, match="dtype .* must be numeric"):
        validate_features(est, text, reset=True)
    X = np.memmap(tmp_path / "ok.dat", dtype=np.float64, mode="w+", shape=(30, 4))
    X[:] = np.random.RandomState(0).normal(size=(30, 4))
    est.fit(X, {"t": np.arange(30) % 2})
    assert est.n_features_in_ == 4
    wide = np.memmap(tmp_path / "wide.dat", dtype=np.float32, mode="w+", shape=(30, 5))
    with pytest.raises(ValueError, match="X has 5 features"):
        est.predict(wide)


def test_float64_memmap_beyond_float32_is_rejected_like_in_memory_x(tmp_path, monkeypatch, fast):
    monkeypatch.setattr("sklearn_mtl._features._validation.CHUNK_BYTES", 10 * 3 * 8)
    X = np.random.RandomState(0).normal(size=(50, 3))
    y = {"t": np.arange(50) % 2}
    est = MultiTaskEstimator(**fast).fit(X, y)
    X[33, 2] = -1e39  # finite in float64, -inf in float32
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    match = r"too large for dtype\('float32'\) in rows 30 to 39 of the memory map"
    with pytest.raises(ValueError, match=match):
        est.predict(X_map)
    with pytest.raises(ValueError, match=match):
        est.predict_proba(X_map)
    with pytest.raises(ValueError, match=match):
        MultiTaskEstimator(**fast).fit(X_map, y)
    # The same array in memory gets scikit-learn's own message.
    with pytest.raises(ValueError, match=r"too large for dtype\('float32'\)"):
        est.predict(np.asarray(X_map))
