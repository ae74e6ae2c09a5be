"""Numeric embeddings: the registry, the modules they build, and fits that use them."""

import functools
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._features import CLIP
from sklearn_mtl.architectures import ARCHITECTURES
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.embeddings import (
    EMBEDDINGS,
    BaseNumericEmbedding,
    MixedEmbedding,
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
)
from sklearn_mtl.embeddings.piecewise_linear import quantile_bins

NAMES = sorted(EMBEDDINGS)


def tiny(**params):
    base = dict(
        hidden_layer_sizes=(8,),
        max_epochs=2,
        batch_size=32,
        ensemble_size=1,
        n_bags=1,
        early_stopping=False,
        random_state=0,
    )
    return MultiTaskEstimator(**{**base, **params})


@pytest.mark.parametrize("name", NAMES)
def test_is_a_parameter_object(name):
    embedding = EMBEDDINGS[name]()
    assert isinstance(embedding, BaseNumericEmbedding)
    assert clone(embedding).get_params() == embedding.get_params()
    assert "References" in type(embedding).__doc__


@pytest.mark.parametrize("name", NAMES)
def test_module_shape_and_width(name):
    embedding = EMBEDDINGS[name](d_embedding=5)
    module = embedding.build(torch.randn(200, 3))
    assert module(torch.randn(7, 3)).shape == (7, 3, 5)
    assert embedding.out_features(3) == 15


def test_periodic_frequencies_are_log_spaced_scales():
    torch.manual_seed(0)
    module = PeriodicEmbedding(n_frequencies=4, frequency_scale=(0.1, 10.0)).build(
        torch.randn(10, 2000)
    )
    spread = module.periodic.weight.std(dim=0)  # over 2000 columns, per frequency
    np.testing.assert_allclose(spread.detach().numpy(), [0.1, 0.464, 2.154, 10.0], rtol=0.1)


def test_periodic_single_scale():
    torch.manual_seed(0)
    module = PeriodicEmbedding(frequency_scale=3.0).build(torch.randn(10, 500))
    assert abs(float(module.periodic.weight.detach().std()) - 3.0 * 0.986) < 0.05  # cut at 3 sd


@pytest.mark.parametrize("lite", [False, True])
def test_periodic_evaluation_path_is_rtdls_function(lite):
    # Issue 28: predict skips rtdl's concatenation; training runs rtdl's own pass.
    import rtdl_num_embeddings

    torch.manual_seed(0)
    module = PeriodicEmbedding(n_frequencies=6, d_embedding=5, lite=lite).build(
        torch.randn(200, 3)
    )
    x = torch.randn(64, 3).clamp(-CLIP, CLIP)
    reference = rtdl_num_embeddings.PeriodicEmbeddings.forward(module, x)
    assert torch.equal(module.train()(x), reference)
    with torch.inference_mode():
        evaluated = module.eval()(x)
    assert evaluated.shape == reference.shape == (64, 3, 5)
    torch.testing.assert_close(evaluated, reference.detach(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("columns", ["varied", "one bin each"])
def test_piecewise_evaluation_path_is_rtdls_function_bit_for_bit(columns):
    # Issue 28: predict clips the encoding against bounds made once; training runs rtdl's pass.
    import rtdl_num_embeddings

    torch.manual_seed(0)
    values = torch.randn(300, 4)
    values[:, 1] = (values[:, 1] > 0).float()  # one bin (two values)
    values[:, 2] = values[:, 2].round().clamp(-1, 1)  # two bins
    if columns == "one bin each":
        values = (values > 0).float()
    module = PiecewiseLinearEmbedding(n_bins=6, d_embedding=5).build(values)
    with torch.no_grad():  # version B starts with the piecewise part at zero
        module.linear.weight.normal_()
    # Inside, between and far outside the bins of fit, on both sides.
    x = torch.cat([values[:50], 10 * torch.randn(14, 4), torch.full((1, 4), -CLIP)])
    rtdl_forward = rtdl_num_embeddings.PiecewiseLinearEmbeddings.forward
    reference = rtdl_forward(module, x)
    assert torch.equal(module.train()(x), reference)
    with torch.inference_mode():
        evaluated, one_row = module.eval()(x), module(x[-15:-14])
    assert evaluated.shape == (65, 4, 5)
    assert torch.equal(evaluated, reference.detach())
    assert torch.equal(one_row, reference.detach()[-15:-14])
    # Task affinity differentiates the network in evaluation mode: the same gradients.
    gradients = []
    for forward in (module, functools.partial(rtdl_forward, module)):
        module.zero_grad()
        (forward(x) ** 2).sum().backward()
        gradients.append([p.grad.clone() for p in module.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*gradients))


@pytest.mark.parametrize("bad", [(0.0, 1.0), (2.0, 1.0), ("a", "b"), (1.0,)])
def test_periodic_bad_scale(bad):
    with pytest.raises(ValueError, match="frequency_scale must be a positive number or a pair"):
        PeriodicEmbedding(frequency_scale=bad).build(torch.randn(10, 2))


def test_mixed_embeds_discrete_columns_piecewise_and_the_others_periodically():
    torch.manual_seed(0)
    day, level = torch.randint(1, 32, (500,)).float(), torch.randint(0, 5, (500,)).float()
    values = torch.stack([day, torch.randn(500), level, torch.randn(500)], dim=1)
    module = MixedEmbedding(max_discrete_values=31, d_embedding=4).build(values)
    assert module.discrete_columns.tolist() == [0, 2]
    assert module.continuous_columns.tolist() == [1, 3]
    assert isinstance(module.continuous, type(PeriodicEmbedding().build(values)))
    x = values[:9]
    out = module(x)
    assert out.shape == (9, 4, 4)
    torch.testing.assert_close(out[:, [0, 2]], module.discrete(x[:, [0, 2]]))
    torch.testing.assert_close(out[:, [1, 3]], module.continuous(x[:, [1, 3]]))
    # 31 distinct days are one more than 30.
    assert MixedEmbedding(max_discrete_values=30).build(values).discrete_columns.tolist() == [2]


@pytest.mark.parametrize("discrete", [True, False])
def test_mixed_with_columns_of_one_kind_is_that_embedding(discrete):
    torch.manual_seed(0)
    values = torch.randint(0, 6, (300, 3)).float() if discrete else torch.randn(300, 3)
    module = MixedEmbedding(d_embedding=4).build(values)
    alone, absent = (module.discrete, module.continuous)[:: 1 if discrete else -1]
    assert absent is None
    torch.testing.assert_close(module(values[:5]), alone(values[:5]))


def test_piecewise_bins_are_quantiles_and_handle_constant_and_binary_columns():
    rng = np.random.RandomState(0)
    values = torch.tensor(
        np.column_stack([rng.normal(size=1000), np.zeros(1000), rng.rand(1000) < 0.3]),
        dtype=torch.float32,
    )
    bins = quantile_bins(values, 8)
    expected = np.quantile(values[:, 0].numpy(), np.linspace(0, 1, 9))
    np.testing.assert_allclose(bins[0].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert bins[1].tolist() == [-1.0, 1.0]
    assert bins[2].tolist() == [0.0, 1.0]
    # No more bins than rows allow: compute_bins needs n_bins < n_rows.
    assert len(quantile_bins(values[:3], 48)[0]) == 3


def test_piecewise_build_warns_about_nothing():
    values = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        module = PiecewiseLinearEmbedding().build(values)
    assert torch.isfinite(module(values)).all()


@pytest.mark.parametrize("name", NAMES)
def test_fit_learns_with_each_embedding_on_a_numeric_array(name):
    X, Y = make_multitask(1500, 6, 2, ["regression", "binary"], random_state=0)
    est = tiny(numeric_embedding=name, hidden_layer_sizes=(32,), max_epochs=20, lr=3e-3)
    est.fit(X[:1000], Y.iloc[np.arange(1000)])
    scores = est.score_tasks(X[1000:], Y.iloc[np.arange(1000, 1500)])
    assert scores["task_0"] > 0.5 and scores["task_1"] > 0.75, scores
    assert type(est.numeric_embedding_) is EMBEDDINGS[name]
    numeric = est.net_.module_.inputs.numeric
    assert numeric.out_features == 6 * 16
    assert numeric.feature_widths == [16] * 6


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_reads_the_embedding(name, architecture, mixed_data):
    X, Y = mixed_data
    est = tiny(numeric_embedding=name, architecture=architecture).fit(X, Y)
    assert est.net_.module_.inputs.out_features == X.shape[1] * 16
    assert np.isfinite(est.predict(X)["task_0"]).all()


def test_dataframe_with_missing_values_constant_and_categorical_columns():
    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "a": np.where(rng.rand(400) < 0.2, np.nan, rng.normal(size=400)),
            "b": np.ones(400),
            "flag": (rng.rand(400) < 0.5).astype(float),
            "c": pd.Categorical(rng.choice(["x", "y", "z"], 400)),
        }
    )
    y = np.nan_to_num(X["a"].to_numpy()) + (X["c"] == "x")
    est = tiny(numeric_embedding="piecewise_linear").fit(X, {"y": y})
    numeric = est.net_.module_.inputs.numeric
    # One embedded column; the constant and the 0/1 flag as they are (an embedding of
    # two values is affine in the column); one missing indicator; three one-hot slots.
    assert numeric.out_features == 16 + 2 + 1
    assert numeric.embedded.tolist() == [0] and numeric.plain.tolist() == [1, 2]
    assert est.net_.module_.inputs.feature_widths == [16, 1, 1, 1, 3]
    X_new = X.iloc[:5].copy()
    X_new.loc[0, "a"] = 1e30  # an outlier at predict stays a bounded input
    assert np.isfinite(est.predict(X_new)["y"]).all()


def test_bins_are_learned_from_the_standardised_rows_of_fit(monkeypatch):
    seen = []
    build = PiecewiseLinearEmbedding.build

    def recording(self, values):
        seen.append(values)
        return build(self, values)

    monkeypatch.setattr(PiecewiseLinearEmbedding, "build", recording)
    rng = np.random.RandomState(0)
    X = rng.normal(loc=100.0, scale=20.0, size=(12_000, 2))
    tiny(numeric_embedding="piecewise_linear", max_epochs=1, batch_size=1024).fit(X, X[:, 0])
    (values,) = seen
    # The statistics' fixed sample of 10,000 rows, standardised and clipped.
    assert values.shape == (10_000, 2)
    assert abs(float(values.mean())) < 0.05 and abs(float(values.std()) - 1) < 0.05
    assert float(values.abs().max()) <= CLIP


def test_grid_search_over_embedding_hyper_parameters():
    X, Y = make_multitask(200, 4, 1, ["regression"], random_state=0)
    search = GridSearchCV(
        tiny(numeric_embedding="periodic"),
        {"numeric_embedding__d_embedding": [4, 8]},
        cv=2,
    ).fit(X, Y["task_0"])
    assert search.best_estimator_.numeric_embedding_.d_embedding in (4, 8)
    assert set(search.cv_results_["param_numeric_embedding__d_embedding"]) == {4, 8}


def test_set_params_on_a_name_makes_an_instance_and_none_is_refused():
    est = tiny(numeric_embedding="periodic").set_params(numeric_embedding__n_frequencies=8)
    assert isinstance(est.numeric_embedding, PeriodicEmbedding)
    assert est.numeric_embedding.n_frequencies == 8
    with pytest.raises(ValueError, match="numeric_embedding is None; choose one first"):
        tiny(numeric_embedding=None).set_params(numeric_embedding__d_embedding=4)


def test_user_instance_is_cloned_and_left_alone(mixed_data):
    X, Y = mixed_data
    embedding = PeriodicEmbedding(d_embedding=4)
    before = dict(vars(embedding))
    est = tiny(numeric_embedding=embedding).fit(X, Y)
    assert est.numeric_embedding_ is not embedding
    assert est.net_.module_.inputs.out_features == X.shape[1] * 4
    assert vars(embedding) == before


def test_unknown_name_is_refused(mixed_data):
    X, Y = mixed_data
    with pytest.raises(ValueError, match="numeric_embedding"):
        tiny(numeric_embedding="fourier").fit(X, Y)


@pytest.mark.parametrize("name", NAMES)
def test_pickle_and_reproducible(mixed_data, name):
    X, Y = mixed_data
    X = X.copy()
    X[:, 0] = np.round(X[:, 0] * 2)  # a discrete column, for "mixed"
    first = tiny(numeric_embedding=name).fit(X, Y)
    second = tiny(numeric_embedding=name).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(first))
    for task in Y:
        np.testing.assert_array_equal(first.predict(X)[task], second.predict(X)[task])
        np.testing.assert_array_equal(first.predict(X)[task], loaded.predict(X)[task])


def test_bins_from_a_memory_map_equal_those_in_memory(tmp_path):
    X, Y = make_multitask(1200, 5, 1, ["regression"], random_state=0)
    np.save(tmp_path / "X.npy", X)
    X_map = np.load(tmp_path / "X.npy", mmap_mode="r")
    params = dict(numeric_embedding="piecewise_linear", max_epochs=1)
    from_map = tiny(**params).fit(X_map, Y["task_0"])
    in_memory = tiny(**params).fit(X, Y["task_0"])
    expected = in_memory.net_.module_.state_dict()
    for key, value in from_map.net_.module_.state_dict().items():
        assert torch.equal(value, expected[key]), key
