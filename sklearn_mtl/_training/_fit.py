"""One fit: the network built from settled values, trained by the engine.

Everything drawn from torch's random number generator (weight initialisation,
dropout) comes from one stream seeded by the settings' seed and forked from
the caller's, so that a fit neither depends on nor disturbs the global torch seed.
"""

import dataclasses

import numpy as np
import torch
from sklearn.base import clone

from .._features import numeric_sample, statistics_rows
from .._nn import FeatureLayer, GroupedBody, MemberInputs, MultiTaskLoss, MultiTaskNetwork
from ._callbacks import training_callbacks
from ._data import RandomSplit, check_validation_split, make_dataset
from ._engine import MultiTaskNet
from ._groups import affinity_frame
from ._lookahead import LookaheadAffinity
from ._plan import shared_seed
from ._progress import EPOCH_TABLE, announce
from ._threads import limit_torch_threads


def train_bags(settings, X, layout, encoded, weights):
    """Train ``settings.n_bags`` networks (:func:`train_groups`), each from its own seed.

    The first bag trains with the settings' seed, as a fit without bagging
    does; bag ``b`` with a seed drawn from that seed and ``b``, so that its
    initialisation, batch order and early-stopping validation rows are its
    own: every row trains most bags, and their average is an ensemble (what
    RealMLP's ``n_cv`` and AutoGluon's bagging do with disjoint folds).

    Returns
    -------
    nets : list of MultiTaskNet
    """
    nets = [train_groups(settings, X, layout, encoded, weights)]
    for bag in range(1, settings.n_bags):
        announce(f"bag {bag + 1} of {settings.n_bags}", settings.verbose)
        nets.append(train_groups(bag_settings(settings, bag), X, layout, encoded, weights))
    return nets


def bag_settings(settings, bag):
    """The settings bag ``bag`` (from 0) trains with: ``settings`` for the first.

    Any other bag has a seed drawn from the settings' seed and ``bag``, and a
    fresh clone of the weighting strategy, which holds its training state
    (weights, learned parameters).
    """
    if bag == 0:
        return settings
    seed = int(np.random.SeedSequence([settings.seed, bag]).generate_state(1)[0] >> 1)
    return dataclasses.replace(settings, seed=seed, weighting=clone(settings.weighting))


def train_groups(settings, X, layout, encoded, weights):
    """Train with the settings' ``task_groups``, choosing them first when ``"auto"``.

    ``"auto"`` trains every task in one group while measuring the lookahead
    affinity (:class:`LookaheadAffinity`) on the early-stopping validation
    rows (held out for it even without early stopping) over its first steps,
    chooses the groups there, and trains them unless that first network
    already is the answer: one group, trained as ``settings`` ask, and then
    trained to the end.

    Returns
    -------
    net : MultiTaskNet
        With ``task_groups_`` (the partition trained, a list of lists of task
        names) and ``task_affinity_`` (with ``"auto"``, the lookahead affinity
        as a DataFrame, :func:`affinity_frame`; else None).
    """
    names = list(encoded.names)
    if settings.task_groups != "auto":
        groups = [names] if settings.task_groups is None else settings.task_groups
        net = train(settings, X, layout, encoded, weights)
        return _record_groups(net, groups, None, names)
    shared = dataclasses.replace(
        settings, task_groups=None, early_stopping=settings.early_stopping or "joint"
    )
    announce(
        f"task_groups='auto': measuring the lookahead affinity of {len(names)} tasks "
        "while training them together",
        settings.verbose,
    )
    measure = LookaheadAffinity(settings.lr, settings.seed)
    net = train(shared, X, layout, encoded, weights, extra_callbacks=[("lookahead", measure)])
    affinity, groups = measure.affinity_, measure.groups_
    if len(groups) == 1 and settings.early_stopping:
        announce("task_groups='auto': every task shares; keeping that network", settings.verbose)
        return _record_groups(net, groups, affinity, names)
    announce(f"task_groups='auto': training the groups {groups}", settings.verbose)
    grouped = dataclasses.replace(settings, task_groups=groups if len(groups) > 1 else None)
    net = train(grouped, X, layout, encoded, weights)
    return _record_groups(net, groups, affinity, names)


def _record_groups(net, groups, affinity, names):
    net.task_groups_ = [list(group) for group in groups]
    net.task_affinity_ = None if affinity is None else affinity_frame(affinity, names)
    return net


def train(settings, X, layout, encoded, weights, extra_callbacks=()):
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
    extra_callbacks : list of (str, Callback), default=()
        Callbacks added to those the settings ask for.

    Returns
    -------
    net : MultiTaskNet
        The fitted engine.
    """
    device = torch.device(settings.device)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), limit_torch_threads():
        # On CPU the CPU generator alone: torch.manual_seed would also seed
        # the CUDA state, which fork_rng does not restore, and costs ~1 ms.
        (torch.manual_seed if devices else torch.default_generator.manual_seed)(settings.seed)
        network = build_network(settings, X, layout, encoded.tasks)
        tasks = list(encoded.tasks.values())
        net = MultiTaskNet(
            network,
            MultiTaskLoss(encoded.names, tasks, list(encoded.slices.values())),
            task_names=encoded.names,
            weighting=settings.weighting,
            base_weights=torch.tensor(settings.task_weights, dtype=torch.float32, device=device),
            device=settings.device,
            **_engine_params(settings, shared_seed(settings.seed), weights, extra_callbacks),
        )
        net.fit(make_dataset(X, encoded.y, weights, settings.device))
    return net


def build_network(settings, X, layout, tasks):
    """The input layer, the architecture's body (one per task group) and one head per task."""
    embedding = settings.numeric_embedding
    values = None
    if embedding is not None and len(layout.numeric):
        values = numeric_sample(X, layout.numeric, statistics_rows(X.shape[0]))
    inputs = FeatureLayer(layout, embedding, values)
    groups = settings.task_groups or [list(tasks)]
    bodies = [
        settings.architecture.build(
            inputs.out_features,
            list(group),
            hidden_layer_sizes=settings.hidden_layer_sizes,
            activation=settings.activation,
            dropout=settings.dropout,
        )
        for group in groups
    ]
    body = bodies[0] if len(bodies) == 1 else GroupedBody(bodies, groups)
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


def _engine_params(settings, seed, weights, extra_callbacks=()):
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
    callbacks = [*training_callbacks(settings, n_train), *extra_callbacks]
    if callbacks:
        params["callbacks"] = callbacks
    return params
