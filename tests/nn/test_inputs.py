"""The input layer: what it computes at predict, whichever path it takes."""

import numpy as np
import pytest
import torch

from sklearn_mtl._features import CLIP
from sklearn_mtl._nn._inputs import ONE_HOT_MAX_SLOTS, CategoricalInputs, NumericInputs


def reference(layer, x):
    """The layer's definition at predict: standardise, NaN as the mean, clip."""
    z = x * layer.scale + layer.offset
    return torch.nan_to_num(z, nan=0.0, posinf=CLIP, neginf=-CLIP).clamp(-CLIP, CLIP)


@pytest.mark.parametrize(
    "case",
    ["finite", "nan in a column complete in fit", "infinity", "finite values whose sum overflows"],
)
def test_predict_skips_the_nan_pass_only_where_nothing_needs_it(case):
    # Issue 28: a finite batch skips nan_to_num_; every other batch must not.
    rng = np.random.RandomState(0)
    layer = NumericInputs(4, np.arange(4), rng.normal(size=4), rng.uniform(0.5, 2, 4), [])
    layer.eval()
    x = torch.as_tensor(rng.normal(size=(50, 4)) * 5, dtype=torch.float32)
    if case == "nan in a column complete in fit":
        x[::3, 1] = float("nan")
    elif case == "infinity":
        x[::4, 2], x[1::4, 2] = float("inf"), -float("inf")
    elif case == "finite values whose sum overflows":
        x[:, 0] = 3e38
    with torch.inference_mode():
        got = layer(x)
    assert torch.isfinite(got).all()
    assert torch.equal(got, reference(layer, x))
    if case == "nan in a column complete in fit":
        assert (got[::3, 1] == 0).all()  # the mean of fit


def test_logged_columns_add_log1p_of_their_values_and_keep_nan_as_missing():
    rng = np.random.RandomState(1)
    center, scale = rng.normal(size=5), rng.uniform(0.5, 2, 5)  # 3 columns, 2 logs
    layer = NumericInputs(3, np.arange(3), center, scale, [1], logged=[1, 2]).eval()
    x = torch.tensor([[1.5, 0.0, 9.0], [-2.0, -3.0, 1e30], [0.5, float("nan"), 2.0]])
    before = x.clone()
    logs = torch.log1p(x[:, 1:].clamp(min=0))  # a value below 0 reads as 0
    with torch.inference_mode():
        got = layer(x)
    assert got.shape == (3, 6) and layer.out_features == 6
    assert torch.equal(got[:, :5], reference(layer, torch.cat([x, logs], dim=1)))
    assert got[2, 1] == 0 and got[2, 3] == 0  # missing: the mean of fit, in both inputs
    assert got[:, 5].tolist() == [0.0, 0.0, 1.0]  # and its indicator
    torch.testing.assert_close(x, before, rtol=0, atol=0, equal_nan=True)  # left as it was


@pytest.mark.parametrize("wide", [False, True])
def test_categorical_rows_are_each_columns_table_row_side_by_side(wide):
    # Issue 28: columns that are all one-hot take one scatter, the others a lookup each.
    n_slots = (3, 1, ONE_HOT_MAX_SLOTS) + ((ONE_HOT_MAX_SLOTS + 1,) if wide else ())
    layer = CategoricalInputs(np.arange(len(n_slots)), n_slots)
    rng = np.random.RandomState(0)
    # Every slot of every column, slot 0 (a category fit never saw) among them.
    slots = np.column_stack([rng.randint(0, n + 1, 200) for n in n_slots])
    slots[:2] = [[0] * len(n_slots), list(n_slots)]
    x = torch.as_tensor(slots, dtype=torch.float32)
    expected = torch.cat(
        [table.weight[x[:, i].long()] for i, table in enumerate(layer.tables)], dim=1
    )
    assert ("one_hot_starts" in layer._buffers) is not wide
    for rows in (x, x[:1]):
        with torch.inference_mode():
            got = layer(rows)
        assert got.shape == (len(rows), layer.out_features)
        assert torch.equal(got, expected[: len(rows)])
    # Slot s of a one-hot column is a 1 at position s - 1 of its part; slot 0 is zeros.
    assert got[0, :3].tolist() == [0, 0, 0] and expected[1, :3].tolist() == [0, 0, 1]
