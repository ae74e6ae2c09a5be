"""Contract every registered architecture honours, whatever it is.

A new architecture added to ``ARCHITECTURES`` is picked up here automatically,
and so is every weighting strategy in ``WEIGHTINGS``.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.architectures import ARCHITECTURES, BaseArchitecture
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.weighting import WEIGHTINGS, GradientWeighting

NAMES = sorted(ARCHITECTURES)
TASK_KINDS = ["regression", "binary", "multiclass", "count", "ordinal", "multilabel"]


def tiny(**params):
    # One network: the architecture's (bagging: tests/training/test_bags.py).
    base = dict(hidden_layer_sizes=(8,), max_epochs=2, batch_size=32, n_bags=1, random_state=0)
    return MultiTaskEstimator(**{**base, **params})


def with_missing(Y, fraction, seed):
    """A copy of Y with ``fraction`` of each task's labels missing (NaN / None)."""
    rng = np.random.RandomState(seed)
    out = TargetDict()
    for name in Y:
        column = np.asarray(Y[name], dtype=object if name != "task_0" else float).copy()
        column[rng.rand(len(column)) < fraction] = np.nan if name == "task_0" else None
        out[name] = column
    return out


def build(name, n_features=5, tasks=("a", "b", "c"), sizes=(6, 4)):
    return ARCHITECTURES[name]().build(
        n_features, list(tasks), hidden_layer_sizes=sizes, activation="relu", dropout=0.0
    )


@pytest.mark.parametrize("name", NAMES)
def test_is_a_parameter_object(name):
    arch = ARCHITECTURES[name]()
    assert isinstance(arch, BaseArchitecture)
    assert clone(arch).get_params() == arch.get_params()
    assert type(arch).__name__ in repr(arch)
    assert ARCHITECTURES[name].__doc__ and "References" in ARCHITECTURES[name].__doc__


@pytest.mark.parametrize("name", NAMES)
def test_body_outputs_one_representation_per_task(name):
    body = build(name).eval()
    out = body(torch.randn(7, 5))
    for task in ("a", "b", "c"):
        rep = out if isinstance(out, torch.Tensor) else out[task]
        assert rep.shape == (7, body.out_features[task])
    assert getattr(body, "shares_representation", False) == isinstance(out, torch.Tensor)


def _reached(body, x):
    """For each task, the ids of the body parameters its output depends on."""
    out = body(x)
    params = list(body.parameters())
    reached = {}
    for task in ("a", "b", "c"):
        rep = out if isinstance(out, torch.Tensor) else out[task]
        grads = torch.autograd.grad(rep.sum(), params, retain_graph=True, allow_unused=True)
        reached[task] = {id(p) for p, g in zip(params, grads) if g is not None}
    return reached


@pytest.mark.parametrize("name", NAMES)
def test_shared_parameters_are_those_more_than_one_task_reaches(name):
    _assert_shared_are_reached_by_several_tasks(build(name).eval())


@pytest.mark.parametrize("n_task_experts", [0, 1, 2])
@pytest.mark.parametrize("n_levels", [1, 2, 3, 4])
def test_ple_shared_parameters_at_every_depth(n_levels, n_task_experts):
    # With no task experts and 3+ levels, task gates used to be listed as shared.
    architecture = ARCHITECTURES["ple"](n_levels=n_levels, n_task_experts=n_task_experts)
    body = architecture.build(
        5, ["a", "b", "c"], hidden_layer_sizes=(6, 4), activation="relu", dropout=0.0
    )
    _assert_shared_are_reached_by_several_tasks(body.eval())


def _assert_shared_are_reached_by_several_tasks(body):
    reached = _reached(body, torch.randn(4, 5))
    counts = {}
    for ids in reached.values():
        for i in ids:
            counts[i] = counts.get(i, 0) + 1
    expected = {i for i, n in counts.items() if n > 1}
    shared = {id(p) for p in body.shared_parameters()}
    assert shared == expected
    assert shared, "gradient-level weighting needs at least one shared parameter"


@pytest.mark.parametrize("name", NAMES)
def test_fit_predict_every_task_type(name, mixed_data):
    X, Y = mixed_data
    est = tiny(architecture=name, max_epochs=3).fit(X, Y)
    pred = est.predict(X)
    assert pred["task_0"].dtype == np.float64 and np.isfinite(pred["task_0"]).all()
    assert set(np.unique(pred["task_1"])) <= {0, 1}
    assert set(np.unique(pred["task_2"])) <= {0, 1, 2}
    proba = est.predict_proba(X[:5])
    np.testing.assert_allclose(proba["task_2"].sum(axis=1), 1.0, rtol=1e-6)
    assert type(est.architecture_) is ARCHITECTURES[name]


@pytest.mark.parametrize("name", NAMES)
def test_fit_predict_the_new_task_types(name, every_type_data):
    X, Y, tasks = every_type_data
    est = tiny(architecture=name, tasks=tasks, max_epochs=3).fit(X, Y)
    pred = est.predict(X)
    assert (pred["task_3"] > 0).all() and pred["task_3"].dtype == np.float64
    assert set(pred["task_4"]) <= {0, 1, 2}
    assert pred["task_5"].shape == (300, 3) and set(np.unique(pred["task_5"])) <= {0, 1}
    proba = est.predict_proba(X[:5])
    np.testing.assert_allclose(proba["task_4"].sum(axis=1), 1.0, rtol=1e-6)
    assert (
        proba["task_5"].shape == (5, 3) and ((proba["task_5"] >= 0) & (proba["task_5"] <= 1)).all()
    )
    loaded = pickle.loads(pickle.dumps(est))
    for task, values in pred.items():
        np.testing.assert_array_equal(loaded.predict(X)[task], values)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", TASK_KINDS)
def test_learns_each_task_type_beyond_baseline(name, kind):
    X, Y = make_multitask(600, 6, 2, [kind, kind], correlation=0.5, noise=0.1, random_state=1)
    tasks = dict.fromkeys(Y, "count") if kind == "count" else None
    est = tiny(architecture=name, tasks=tasks, hidden_layer_sizes=(32,), max_epochs=25, lr=3e-3)
    est.fit(X[:400], Y.iloc[np.arange(400)])
    scores = est.score_tasks(X[400:], Y.iloc[np.arange(400, 600)])
    # Baselines: R^2 and D^2 0 (the mean), accuracy 0.5 / 0.33 (balanced classes),
    # per-label accuracy 0.67 (majority rates 0.75, 0.5, 0.75).
    floor = {
        "regression": 0.5,
        "binary": 0.75,
        "multiclass": 0.6,
        "count": 0.15,
        "ordinal": 0.6,
        "multilabel": 0.8,
    }[kind]
    assert min(scores.values()) > floor, scores


@pytest.mark.parametrize("name", NAMES)
def test_partial_labels(name, mixed_data):
    X, Y = mixed_data
    Y = with_missing(Y, 0.4, seed=0)
    # task_2 is unlabelled on the first half: many batches have none of its labels.
    Y["task_2"][:150] = None
    with pytest.warns(UserWarning, match="every label missing"):
        est = tiny(architecture=name, max_epochs=3).fit(X, Y)
    for task in Y:
        assert np.isfinite(est.history_[:, f"train_loss_{task}"]).all()
    pred = est.predict(X)
    assert all(len(pred[task]) == 300 for task in Y)
    assert np.isfinite(pred["task_0"]).all()


@pytest.mark.filterwarnings("ignore:.*every label missing:UserWarning")
@pytest.mark.parametrize("weighting", sorted(WEIGHTINGS))
@pytest.mark.parametrize("name", NAMES)
def test_every_weighting_strategy_trains(name, weighting, every_type_data):
    X, Y, tasks = every_type_data
    est = tiny(architecture=name, weighting=weighting, tasks=tasks, max_epochs=4, lr=1e-2)
    est.fit(X, Y)
    task_losses = np.array([[est.history_[e, f"train_loss_{t}"] for t in Y] for e in (0, -1)])
    assert np.isfinite(task_losses).all()
    # Training makes progress on the tasks, whatever the strategy weighs them by.
    assert task_losses[1].sum() < task_losses[0].sum()
    weights = np.array(list(est.task_weights_.values()))
    assert np.isfinite(weights).all()


@pytest.mark.parametrize("name", NAMES)
def test_pickle_round_trip_keeps_predictions(name, mixed_data):
    X, Y = mixed_data
    est = tiny(architecture=name).fit(X, Y)
    loaded = pickle.loads(pickle.dumps(est))
    for task, values in est.predict(X).items():
        np.testing.assert_array_equal(loaded.predict(X)[task], values)
    np.testing.assert_array_equal(loaded.predict_proba(X)["task_2"], est.predict_proba(X)["task_2"])


@pytest.mark.parametrize("name", NAMES)
def test_reproducible_and_leaves_the_user_instance_alone(name, mixed_data):
    X, Y = mixed_data
    arch = ARCHITECTURES[name]()
    params = arch.get_params()
    est = tiny(architecture=arch).fit(X, Y)
    assert est.architecture is arch and est.architecture_ is not arch
    assert vars(arch) == params  # nothing fitted was stored on the user's object
    twin = clone(est)
    assert twin.architecture is not arch and twin.architecture.get_params() == params
    np.testing.assert_array_equal(twin.fit(X, Y).predict(X)["task_0"], est.predict(X)["task_0"])


def _other_value(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2
    return None


@pytest.mark.parametrize("name", NAMES)
def test_grid_search_over_architecture_params(name, mixed_data):
    X, Y = mixed_data
    grid = {
        f"architecture__{param}": [value, _other_value(value)]
        for param, value in ARCHITECTURES[name]().get_params().items()
        if _other_value(value) is not None
    }
    if not grid:
        pytest.skip(f"{ARCHITECTURES[name].__name__} has no numeric hyper-parameter")
    key = next(iter(grid))
    search = GridSearchCV(tiny(architecture=name), {key: grid[key]}, cv=2).fit(X, Y)
    assert [p[key] for p in search.cv_results_["params"]] == grid[key]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_
    assert best.architecture_.get_params()[key.split("__")[1]] == search.best_params_[key]
    counts = set()
    for value in grid[key]:
        est = tiny(architecture=name).set_params(**{key: value}).fit(X, Y)
        counts.add(sum(p.numel() for p in est.net_.module_.parameters()))
        assert getattr(est.architecture_, key.split("__")[1]) == value
    if all(isinstance(v, int) for v in grid[key]):
        # A structural hyper-parameter really changes the network.
        assert len(counts) == 2


@pytest.mark.cuda
@pytest.mark.parametrize("name", NAMES)
def test_trains_on_cuda_and_unpickles(name, mixed_data):
    X, Y = mixed_data
    est = tiny(architecture=name, device="cuda").fit(X, Y)
    assert next(est.net_.module_.parameters()).is_cuda
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(loaded.predict(X)["task_0"], est.predict(X)["task_0"], rtol=1e-5)


class _SummedGradients(GradientWeighting):
    """Sums the per-task gradients: the static update, by the gradient route."""

    def weigh(self, gram, losses, active):
        return np.ones(len(active))


@pytest.mark.parametrize("name", NAMES)
def test_shared_and_task_parameters_cover_the_network(name, mixed_data):
    # Gradient-level strategies update shared_parameters() from per-task
    # gradients and task_parameters() from the weighted loss; summing the
    # per-task gradients must then reproduce plain static training.
    X, Y = mixed_data
    by_gradients = tiny(architecture=name, weighting=_SummedGradients()).fit(X, Y)
    by_loss = tiny(architecture=name).fit(X, Y)
    network = by_gradients.net_.module_
    shared = {id(p) for p in network.shared_parameters()}
    assert shared.isdisjoint(id(p) for p in network.task_parameters())
    assert len(shared) + len(network.task_parameters()) == len(list(network.parameters()))
    np.testing.assert_allclose(
        by_gradients.predict(X)["task_0"], by_loss.predict(X)["task_0"], rtol=1e-4, atol=1e-5
    )
