import copy
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl._nn import MultiTaskLoss, MultiTaskNetwork
from sklearn_mtl._predictor import Predictor
from sklearn_mtl._tasks import TASK_TYPES
from sklearn_mtl._training import BatchIterator, _data, make_dataset
from sklearn_mtl._training._engine import MultiTaskNet, make_fast_optimizer
from sklearn_mtl.architectures import SharedBottom
from sklearn_mtl.weighting import StaticWeighting

TYPES = ["regression", "binary", "multiclass"]


def row_ids(n):
    """TensorData whose first feature is the row number."""
    X = np.zeros((n, 2), dtype=np.float32)
    X[:, 0] = np.arange(n)
    return make_dataset(X, np.zeros((n, 1), np.float32), np.ones((n, 1), np.float32), "cpu")


def epoch_orders(data, seed, n_epochs, batch_size=10):
    iterator = BatchIterator(data, batch_size, True, torch.Generator().manual_seed(seed))
    return [
        np.concatenate([X[:, 0].numpy() for X, _, _ in iterator]).astype(int)
        for _ in range(n_epochs)
    ]


def test_iterator_visits_every_row_once_per_epoch_in_seeded_random_order():
    data = row_ids(103)
    orders = epoch_orders(data, seed=0, n_epochs=3)
    for order in orders:
        np.testing.assert_array_equal(np.sort(order), np.arange(103))
        assert not np.array_equal(order, np.arange(103))
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])
    again = epoch_orders(data, seed=0, n_epochs=3)
    for a, b in zip(orders, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(epoch_orders(data, seed=1, n_epochs=1)[0], orders[0])


def test_iterator_yields_whole_batches_with_rows_aligned():
    data = row_ids(103)
    data.y[:, 0] = data.X[:, 0] * 2
    iterator = BatchIterator(data, 10, True, torch.Generator().manual_seed(0))
    batches = list(iterator)
    assert len(iterator) == len(batches) == 11
    assert [len(X) for X, _, _ in batches] == [10] * 10 + [3]
    for X, y, _ in batches:
        torch.testing.assert_close(y[:, 0], X[:, 0] * 2)
    ordered = np.concatenate([X[:, 0].numpy() for X, _, _ in BatchIterator(data, 10, False)])
    np.testing.assert_array_equal(ordered, np.arange(103))


def mixed_problem(rng, n=150, n_features=5):
    X = rng.normal(size=(n, n_features)).astype(np.float32)
    y = np.column_stack(
        [X[:, 0] + 0.1 * rng.normal(size=n), X[:, 1] > 0, np.digitize(X[:, 2], [-0.5, 0.5])]
    ).astype(np.float32)
    w = rng.uniform(0.5, 2.0, size=(n, 3)).astype(np.float32)
    w[rng.uniform(size=(n, 3)) < 0.2] = 0  # missing labels
    return X, y, w


def build_net(n_features, seed, device="cpu", **kwargs):
    names = ["r", "b", "m"]
    torch.manual_seed(seed)
    body = SharedBottom().build(
        n_features, names, hidden_layer_sizes=(8,), activation="relu", dropout=0.0
    )
    network = MultiTaskNetwork(body, names, [1, 1, 3], (), "relu", 0.0)
    types = [TASK_TYPES[t](t) for t in TYPES]
    params = dict(
        task_names=names,
        weighting=StaticWeighting(),
        base_weights=torch.tensor([1.0, 0.5, 2.0], device=device),
        seed=7,
        train_split=None,
        optimizer=torch.optim.Adam,
        lr=1e-2,
        max_epochs=3,
        batch_size=32,
        device=device,
        verbose=0,
    )
    params.update(kwargs)
    return MultiTaskNet(network, MultiTaskLoss(names, types), **params)


def reference_fit(network, criterion, data, base_weights, seed, lr, epochs, batch_size):
    """The unoptimised path: per-item DataLoader, default Adam, a host sync per batch."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(network.parameters(), lr=lr, foreach=False)
    history = []
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator).tolist()
        loader = torch.utils.data.DataLoader(data, batch_size=batch_size, sampler=order)
        loss_sums, weight_sums = np.zeros(3), np.zeros(3)
        for X, y, w in loader:
            network.train()
            losses, sums = criterion(network(X), y, w)
            optimizer.zero_grad()
            (base_weights * losses).sum().backward()
            optimizer.step()
            for j in range(3):
                loss_sums[j] += losses[j].item() * sums[j].item()
                weight_sums[j] += sums[j].item()
        history.append(loss_sums / weight_sums)
    return np.array(history)


@pytest.mark.parametrize("task_weights", [[1.0, 0.5, 2.0], [1.0, 1.0, 1.0]])
def test_fast_path_matches_unoptimised_reference(rng, task_weights):
    # Unit weights take StaticWeighting's sum without the multiply.
    X, y, w = mixed_problem(rng)
    net = build_net(X.shape[1], seed=3, base_weights=torch.tensor(task_weights))
    reference = copy.deepcopy(net.module)
    net.fit(make_dataset(X, y, w, "cpu"))
    expected = reference_fit(
        reference,
        MultiTaskLoss(net.task_names, net.criterion.task_types),
        make_dataset(X, y, w, "cpu"),
        net.base_weights,
        seed=7,
        lr=1e-2,
        epochs=3,
        batch_size=32,
    )
    recorded = np.array([[net.history[e, f"train_loss_{t}"] for t in "rbm"] for e in range(3)])
    np.testing.assert_allclose(recorded, expected, rtol=1e-4)
    # The same batches and updates: the weights agree up to float rounding.
    for fast, slow in zip(net.module_.parameters(), reference.parameters()):
        torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-5)
    assert net.history[-1, "train_batch_count"] == 5


def test_batch_hooks_run_per_batch_and_skip_only_empty_ones(rng):
    calls = []

    class BatchEnd(Callback):
        def on_batch_end(self, net, batch=None, training=None, **kwargs):
            calls.append((training, sorted(kwargs)))

    X, y, w = mixed_problem(rng)
    net = build_net(X.shape[1], seed=3, callbacks=[("batch_end", BatchEnd())])
    net.fit(make_dataset(X, y, w, "cpu"))
    assert len(calls) == 3 * 5 and all(training for training, _ in calls)
    assert calls[0][1] == ["task_losses", "weight_sums", "weights", "y_pred"]
    # The net's own hook still opens each batch's row of the history.
    assert len(net.history[-1, "batches"]) == 5
    assert net._batch_hooks("on_batch_begin") == [net.on_batch_begin]
    assert len(net._batch_hooks("on_batch_end")) == 2


def test_fit_uses_a_fused_or_foreach_optimizer(rng):
    X, y, w = mixed_problem(rng, n=40)
    net = build_net(X.shape[1], seed=0, max_epochs=1)
    net.fit(make_dataset(X, y, w, "cpu"))
    defaults = net.optimizer_.defaults
    assert defaults.get("fused") or defaults.get("foreach")


def test_fast_optimizer_respects_explicit_choice_and_other_optimizers():
    params = [torch.nn.Parameter(torch.zeros(3))]
    explicit = make_fast_optimizer(torch.optim.Adam, ([{"params": params}],), {"foreach": False})
    assert explicit.defaults["foreach"] is False and not explicit.defaults["fused"]
    lbfgs = make_fast_optimizer(torch.optim.LBFGS, ([{"params": params}],), {"lr": 0.1})
    assert isinstance(lbfgs, torch.optim.LBFGS)


def test_batched_prediction_matches_one_shot(mixed_data, fast, monkeypatch):
    X, Y = mixed_data
    est = MultiTaskEstimator(**fast).fit(X, Y)
    with torch.inference_mode():
        one_shot = est.net_.module_(torch.as_tensor(X, dtype=torch.float32))
    monkeypatch.setattr(_data, "INFERENCE_BATCH_SIZE", 7)
    batched = est._predictor.outputs(X)
    assert list(batched) == list(Y)
    for name in Y:
        assert batched[name].shape[0] == X.shape[0]
        torch.testing.assert_close(batched[name], one_shot[name], rtol=1e-5, atol=1e-6)
    assert not est.net_.module_.training


def test_training_mode_is_set_per_epoch_not_left_stale(rng):
    X, y, w = mixed_problem(rng, n=64)
    net = build_net(X.shape[1], seed=0, max_epochs=1)
    modes = []
    net.module.register_forward_pre_hook(lambda module, args: modes.append(module.training))
    net.fit(make_dataset(X, y, w, "cpu"))
    Predictor(dict.fromkeys(net.task_names), [net]).outputs(X)
    # Two training batches, the end of fit's probe of the inference batch size, predict.
    assert modes == [True, True, False, False]


# -- CUDA --------------------------------------------------------------------------------


@pytest.mark.cuda
def test_cuda_data_moves_to_device_once(rng):
    X, y, w = mixed_problem(rng)
    data = make_dataset(X, y, w, "cuda")
    assert all(t.is_cuda for t in data.tensors)
    X_b, y_b, w_b = next(iter(BatchIterator(data, 32, True, torch.Generator(), "cuda")))
    assert X_b.is_cuda and y_b.is_cuda and w_b.is_cuda


@pytest.mark.cuda
def test_cuda_host_resident_data_trains_like_device_resident(rng, monkeypatch):
    X, y, w = mixed_problem(rng)
    on_device = build_net(X.shape[1], seed=3, device="cuda")
    on_device.fit(make_dataset(X, y, w, "cuda"))
    monkeypatch.setattr(_data, "DEVICE_MEMORY_FRACTION", 0.0)
    host = make_dataset(X, y, w, "cuda")
    assert not host.X.is_cuda
    batch = next(iter(BatchIterator(host, 32, True, torch.Generator(), "cuda")))
    assert all(t.is_cuda for t in batch)
    streamed = build_net(X.shape[1], seed=3, device="cuda")
    streamed.fit(host)
    for a, b in zip(on_device.module_.parameters(), streamed.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.cuda
def test_cuda_fit_has_no_host_sync_per_batch(rng):
    X, y, w = mixed_problem(rng, n=512)

    def sync_warnings(batch_size):
        net = build_net(X.shape[1], seed=0, device="cuda", batch_size=batch_size, max_epochs=2)
        data = make_dataset(X, y, w, "cuda")
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                net.fit(data)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(c.message) for c in caught)

    # 4 batches per epoch against 32: a sync per batch would add 56 warnings.
    assert sync_warnings(256) == sync_warnings(16)


@pytest.mark.cuda
def test_cuda_estimator_predictions_match_cpu(mixed_data, fast):
    X, Y = mixed_data
    cpu = MultiTaskEstimator(device="cpu", **fast).fit(X, Y)
    gpu = MultiTaskEstimator(device="cuda", **fast).fit(X, Y)
    assert gpu.device_ == "cuda"
    np.testing.assert_allclose(gpu.predict(X)["task_0"], cpu.predict(X)["task_0"], atol=1e-3)


@pytest.mark.parametrize(
    "lr_schedule, max_epochs, rows",
    [
        ("constant", 50, 3),
        ("constant", 3, 3),
        ("plateau", 50, 4),
        ("plateau", 3, 3),
    ],
    ids=["stops-early", "stops-at-max-epochs", "plateau-then-stops", "plateau-at-max-epochs"],
)
def test_verbose_early_stopping_prints_the_epoch_that_stops(
    rng, capsys, lr_schedule, max_epochs, rows, no_step_floor
):
    X = rng.normal(size=(60, 3))
    # tol=1.0 makes every epoch after the first a miss: the third epoch decides the
    # stop, or with "plateau" divides the learning rate, and the fourth stops.
    est = MultiTaskEstimator(
        hidden_layer_sizes=(4,),
        max_epochs=max_epochs,
        early_stopping=True,
        n_iter_no_change=2,
        tol=1.0,
        lr_schedule=lr_schedule,
        verbose=2,
        n_bags=1,  # one network's table
        random_state=0,
    ).fit(X, {"y": X[:, 0]})
    assert est.n_epochs_ == rows and est.history_[-1, "epoch"] == rows
    lines = capsys.readouterr().out.splitlines()
    row_lines = [i for i, line in enumerate(lines) if line.strip()[:1].isdigit()]
    assert [lines[i].split()[0] for i in row_lines] == [str(e) for e in range(1, rows + 1)]
    divided = (
        "No improvement in the last 2 epochs: learning rate divided by 10, continuing "
        "from epoch 1's parameters until 1 epoch without improvement."
    )
    if lr_schedule == "plateau":  # the message follows the row of the epoch that decided it
        assert lines[row_lines[2] + 1] == divided
    stop = "Stopping since valid_loss has not improved in the last {}."
    if lr_schedule == "constant":
        expected_end = [stop.format("2 epochs")]
    else:  # the division, then at most one epoch
        expected_end = [stop.format("1 epoch")] if rows == 4 else [divided]
    assert lines[-2:] == [*expected_end, "Restoring best model from epoch 1."]
    # Without verbose, the same model and nothing printed.
    quiet = MultiTaskEstimator(**{**est.get_params(), "verbose": 0}).fit(X, {"y": X[:, 0]})
    assert capsys.readouterr().out == "" and quiet.n_epochs_ == rows
    np.testing.assert_array_equal(quiet.predict(X)["y"], est.predict(X)["y"])
