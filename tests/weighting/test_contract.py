"""The contract every registered weighting strategy must meet.

Parametrized over ``WEIGHTINGS``, so a new strategy is covered as soon as it
has its registry line.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl._nn import MultiTaskLoss, MultiTaskNetwork
from sklearn_mtl._tasks import TASK_TYPES
from sklearn_mtl.architectures import SharedBottom
from sklearn_mtl.weighting import WEIGHTINGS, BaseWeighting, GradientWeighting, LossWeighting

NAMES = sorted(WEIGHTINGS)
GRADIENT_LEVEL = [name for name in NAMES if issubclass(WEIGHTINGS[name], GradientWeighting)]


def _train_steps(strategy, X, y, w, n_tasks, n_steps, *, twin_heads=False, lr=1e-2):
    """Run the engine's protocol by hand on a small shared-bottom network.

    Returns the weights of every step, shape (n_steps, n_tasks).
    """
    torch.manual_seed(0)
    names = [f"t{i}" for i in range(n_tasks)]
    body = SharedBottom().build(
        X.shape[1], names, hidden_layer_sizes=(8,), activation="tanh", dropout=0.0
    )
    network = MultiTaskNetwork(body, names, [1] * n_tasks, (), "tanh", 0.0)
    if twin_heads:
        for head in network.heads[1:]:
            head.load_state_dict(network.heads[0].state_dict())
    criterion = MultiTaskLoss(names, [TASK_TYPES["regression"]("r")] * n_tasks)
    strategy.initialize(names, torch.ones(n_tasks), torch.device("cpu"))
    optimizer = torch.optim.Adam([*network.parameters(), *strategy.parameters()], lr=lr)
    history = []
    for step in range(n_steps):
        optimizer.zero_grad()
        representation = network.body(X)
        losses, weight_sums = criterion(network.forward_heads(representation), y, w)
        weights = strategy.backward(
            losses, present=weight_sums > 0, network=network, representation=representation
        )
        for p in network.parameters():
            assert p.grad is None or torch.isfinite(p.grad).all()
        optimizer.step()
        strategy.on_step_end(lambda: criterion(network(X), y, w)[0].detach())
        if step % 5 == 4:
            strategy.on_epoch_end(losses.detach())
        history.append(weights.detach().clone())
    return torch.stack(history).numpy()


@pytest.mark.parametrize("name", NAMES)
def test_is_a_parameter_object(name):
    strategy = WEIGHTINGS[name]()
    assert isinstance(strategy, BaseWeighting)
    assert isinstance(strategy, (LossWeighting, GradientWeighting))
    assert repr(strategy).startswith(type(strategy).__name__)
    doc = type(strategy).__doc__
    assert "Cost per step" in doc and "task_weights" in doc
    assert "References" in doc or name == "static"  # static follows no paper
    assert not [key for key in vars(strategy) if key.endswith("_")]


@pytest.mark.parametrize("name", NAMES)
def test_symmetric_tasks_get_equal_weights(name):
    # Two copies of one task with identical heads: every gradient and loss is
    # the same, so only an asymmetric implementation can tell them apart.
    rng = np.random.RandomState(0)
    X = torch.tensor(rng.normal(size=(64, 4)), dtype=torch.float32)
    target = X[:, :1] - X[:, 1:2] ** 2
    y, w = target.repeat(1, 2), torch.ones(64, 2)
    strategy = WEIGHTINGS[name]()
    n_steps = 2000 if strategy.stochastic else 25
    weights = _train_steps(strategy, X, y, w, 2, n_steps, twin_heads=True)
    assert np.isfinite(weights).all() and (weights >= 0).all()
    if strategy.stochastic:
        # Random weights are symmetric in distribution only.
        mean = weights.mean(axis=0)
        np.testing.assert_allclose(mean[0], mean[1], rtol=0.05)
    else:
        np.testing.assert_allclose(weights[:, 0], weights[:, 1], rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_absent_task_gets_no_gradient_and_no_nan(name):
    rng = np.random.RandomState(1)
    X = torch.tensor(rng.normal(size=(32, 4)), dtype=torch.float32)
    y = torch.tensor(rng.normal(size=(32, 3)), dtype=torch.float32)
    w = torch.ones(32, 3)
    w[:, 1] = 0  # task t1 has no labelled row in any batch
    weights = _train_steps(WEIGHTINGS[name](), X, y, w, 3, 12)
    # Two active tasks: every strategy's weights are non-negative.
    assert np.isfinite(weights).all() and (weights >= 0).all()
    assert (weights[:, 1] == 0).all() or issubclass(WEIGHTINGS[name], LossWeighting)


@pytest.fixture
def sparse_data(mixed_data):
    """mixed_data with task_1 labelled on one row in ten."""
    X, Y = mixed_data
    labels = np.asarray(Y["task_1"], dtype=float)
    labels[np.arange(len(labels)) % 10 != 0] = np.nan
    return X, TargetDict(task_0=Y["task_0"], task_1=labels, task_2=Y["task_2"])


@pytest.mark.parametrize("name", NAMES)
def test_fit_records_weights_and_survives_pickle_and_clone(name, sparse_data, fast):
    X, Y = sparse_data
    # batch_size 16: many batches hold no label of task_1.
    params = dict(fast, batch_size=16, task_weights={"task_2": 0.5})
    est = MultiTaskEstimator(weighting=name, **params).fit(X, Y)
    names = list(est.tasks_)
    assert est.n_epochs_ == fast["max_epochs"]
    signed = est.weighting_.negative_weights  # only for three tasks or more
    for task in names:
        recorded = est.history_[:, f"weight_{task}"]
        assert np.isfinite(recorded).all() and (signed or min(recorded) >= 0)
        assert np.isfinite(est.history_[:, f"train_loss_{task}"]).all()
    assert set(est.task_weights_) == set(names)
    assert all(np.isfinite(v) and (signed or v >= 0) for v in est.task_weights_.values())
    assert type(est.weighting_) is WEIGHTINGS[name]
    # A sparse task still learns something, and predictions survive pickling.
    predictions = est.predict(X)
    restored = pickle.loads(pickle.dumps(est))
    for task in names:
        np.testing.assert_array_equal(restored.predict(X)[task], predictions[task])
    again = clone(est).fit(X, Y)
    np.testing.assert_allclose(again.predict(X)["task_0"], predictions["task_0"], rtol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_trains_every_task_type(name, every_type_data, fast):
    X, Y, tasks = every_type_data
    est = MultiTaskEstimator(weighting=name, tasks=tasks, **dict(fast, lr=1e-2, max_epochs=4))
    est.fit(X, Y)
    signed = est.weighting_.negative_weights
    losses = np.array([[est.history_[e, f"train_loss_{t}"] for t in Y] for e in (0, -1)])
    assert np.isfinite(losses).all() and losses[1].sum() < losses[0].sum()
    for task in Y:
        recorded = est.history_[:, f"weight_{task}"]
        assert np.isfinite(recorded).all() and (signed or min(recorded) >= 0)
    predictions = est.predict(X)
    restored = pickle.loads(pickle.dumps(est))
    for task in Y:
        np.testing.assert_array_equal(restored.predict(X)[task], predictions[task])


@pytest.mark.parametrize("name", GRADIENT_LEVEL)
def test_trains_without_shared_parameters(name, mixed_data, fast):
    # hidden_layer_sizes=() under hard sharing and one member (an ensemble's
    # per-member scalings are shared): no shared parameter, nothing to combine.
    X, Y = mixed_data
    params = dict(fast, hidden_layer_sizes=(), ensemble_size=1)
    est = MultiTaskEstimator(weighting=name, **params).fit(X, Y)
    for task in est.tasks_:
        assert np.isfinite(est.history_[:, f"train_loss_{task}"]).all()
    assert est.history_[-1, "train_loss_task_0"] < est.history_[0, "train_loss_task_0"]
    if WEIGHTINGS[name].task_parameter_loss is GradientWeighting.task_parameter_loss:
        # Each head then follows its own task's weighted loss, exactly as under static.
        static = MultiTaskEstimator(**params).fit(X, Y)
        np.testing.assert_allclose(est.predict(X)["task_0"], static.predict(X)["task_0"], rtol=1e-5)
        for task, proba in est.predict_proba(X).items():
            np.testing.assert_allclose(proba, static.predict_proba(X)[task], rtol=1e-5)


def _another_value(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.5
    return value


@pytest.mark.parametrize("name", NAMES)
def test_hyper_parameters_are_grid_searchable(name, mixed_data, fast):
    X, Y = mixed_data
    params = WEIGHTINGS[name]().get_params()
    if not params:
        grid = {"task_weights__task_1": [0.5, 2.0]}
    else:
        key, value = sorted(params.items())[0]
        grid = {f"weighting__{key}": [value, _another_value(value)]}
    search = GridSearchCV(
        MultiTaskEstimator(weighting=name, **fast), grid, cv=KFold(2), error_score="raise"
    ).fit(X, Y)
    [(param, values)] = grid.items()
    assert [p[param] for p in search.cv_results_["params"]] == values
    chosen = search.best_params_[param]
    if param.startswith("weighting__"):
        assert search.best_estimator_.weighting_.get_params()[param[11:]] == chosen
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("name", NAMES)
def test_instance_is_cloned_not_mutated(name, mixed_data, fast):
    X, Y = mixed_data
    strategy = WEIGHTINGS[name]()
    before = dict(vars(strategy))
    est = MultiTaskEstimator(weighting=strategy, **fast).fit(X, Y)
    assert est.weighting_ is not strategy
    assert vars(strategy) == before


@pytest.mark.cuda
@pytest.mark.parametrize("name", NAMES)
def test_cuda_fit_unpickles_to_cpu_tensors(name, mixed_data, fast):
    X, Y = mixed_data
    est = MultiTaskEstimator(weighting=name, device="cuda", **fast).fit(X, Y)
    restored = pickle.loads(pickle.dumps(est.weighting_))
    for value in vars(restored).values():
        if isinstance(value, torch.Tensor):
            assert value.device.type == "cpu"
    assert all(np.isfinite(v) for v in est.task_weights_.values())
