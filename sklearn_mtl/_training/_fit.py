"""One fit: the network built from settled values, trained by the engine.

Everything drawn from torch's random number generator (weight initialisation,
dropout) comes from one stream seeded by the settings' seed and forked from
the caller's, so that a fit neither depends on nor disturbs the global torch seed.
"""

import torch

from .._features import numeric_sample, statistics_rows
from .._nn import FeatureLayer, MemberInputs, MultiTaskLoss, MultiTaskNetwork
from ._callbacks import training_callbacks
from ._data import RandomSplit, check_validation_split, make_dataset
from ._engine import MultiTaskNet
from ._plan import shared_seed
from ._progress import EPOCH_TABLE
from ._threads import limit_torch_threads


def train(settings, X, layout, encoded, weights):
    """Build the network and its engine from ``settings`` and train them.

    Parameters
    ----------
    settings : Settings
        The estimator's parameters, settled (:func:`settle`).
    X : ndarray or np.memmap of shape (n_samples, n_features)
        Encoded features (:meth:`FeatureEncoder.fit_transform`).
    layout : FeatureLayout
        What the network's input layer needs to know about them.
    encoded : EncodedTargets
        The fitted tasks and their encoded targets.
    weights : ndarray of shape (n_samples, n_columns)
        Row weights (:func:`~sklearn_mtl._tasks.row_weights`), 0 where unlabelled.

    Returns
    -------
    net : MultiTaskNet
        The fitted engine.
    """
    device = torch.device(settings.device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), limit_torch_threads():
        torch.manual_seed(settings.seed)
        network = build_network(settings, X, layout, encoded.tasks)
        tasks = list(encoded.tasks.values())
        net = MultiTaskNet(
            network,
            MultiTaskLoss(encoded.names, tasks, list(encoded.slices.values())),
            task_names=encoded.names,
            weighting=settings.weighting,
            base_weights=torch.tensor(settings.task_weights, dtype=torch.float32, device=device),
            device=settings.device,
            **_engine_params(settings, shared_seed(settings.seed), weights),
        )
        net.fit(make_dataset(X, encoded.y, weights, settings.device))
    return net


def build_network(settings, X, layout, tasks):
    """The input layer, the architecture's body and one head per task."""
    embedding = settings.numeric_embedding
    values = None
    if embedding is not None and len(layout.numeric):
        values = numeric_sample(X, layout.numeric, statistics_rows(X.shape[0]))
    inputs = FeatureLayer(layout, embedding, values)
    body = settings.architecture.build(
        inputs.out_features,
        list(tasks),
        hidden_layer_sizes=settings.hidden_layer_sizes,
        activation=settings.activation,
        dropout=settings.dropout,
    )
    members = None
    if settings.ensemble_size > 1:
        # TabM's choice: random signs on raw inputs, normal values after an embedding.
        scaling_init = "random-signs" if embedding is None else "normal"
        members = MemberInputs(settings.ensemble_size, inputs.feature_widths, scaling_init)
    return MultiTaskNetwork(
        body,
        list(tasks),
        [task.n_outputs for task in tasks.values()],
        settings.head_hidden_sizes,
        settings.activation,
        settings.dropout,
        output_layers=[task.output_layer for task in tasks.values()],
        inputs=inputs,
        members=members,
        links=[task.link for task in tasks.values()],
    )


def _engine_params(settings, seed, weights):
    """The engine's batch order, optimiser, validation split and callbacks.

    ``seed`` is the same in every process of a data-parallel fit, so that all
    of them draw the same batches and validation split; ``weights`` are the
    row weights, 0 where a row does not count for a task.
    """
    n_samples = len(weights)
    params = dict(
        seed=seed,
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=settings.weight_decay,
        lr=settings.lr,
        max_epochs=settings.max_epochs,
        batch_size=settings.batch_size,
        train_split=None,
        verbose=int(settings.verbose >= EPOCH_TABLE),
    )
    n_train = n_samples
    if settings.early_stopping:
        params["train_split"] = split = RandomSplit(settings.validation_fraction, seed)
        split.check_labelled(weights)
        n_train -= check_validation_split(settings.validation_fraction, n_samples)
    callbacks = training_callbacks(settings, n_train)
    if callbacks:
        params["callbacks"] = callbacks
    return params
