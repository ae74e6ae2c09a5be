"""Training one fit: the network built from the estimator's parameters, trained by the engine.

:func:`train` is the part of ``MultiTaskEstimator.fit`` between the encoded
targets and the fitted attributes. Everything it draws from torch's random
number generator (weight initialisation, dropout) comes from one stream seeded
by ``random_state`` and forked from the caller's, so that a fit neither
depends on nor disturbs the global torch seed. :func:`unfitted_on_error`
wraps ``fit`` so that a fit that raises leaves no fitted attribute behind.
"""

import functools

import numpy as np
import torch
from sklearn.utils import check_random_state

from ._auto import auto_batch_size, auto_dropout, auto_ensemble_size, auto_numeric_embedding
from ._callbacks import (
    early_stopping_callback,
    lr_schedule_callback,
    min_epochs_before_stopping,
    per_task_early_stopping_callback,
    train_loss_plateau_callback,
)
from ._data import RandomSplit, check_validation_split, make_dataset
from ._engine import MultiTaskNet
from ._ensemble import MemberInputs
from ._inputs import FeatureLayer
from ._network import MultiTaskLoss, MultiTaskNetwork
from ._params import check_task_weights, resolve_device, resolve_strategy
from ._plan import shared_seed
from ._row_weights import row_weights
from ._statistics import numeric_sample, statistics_rows
from ._threads import limit_torch_threads


def unfitted_on_error(fit):
    """Leave the estimator unfitted, not half-fitted, when ``fit`` raises.

    ``validate_data`` sets ``n_features_in_`` before the targets are checked and a
    refit may fail after an earlier success; either way no fitted attribute may
    survive a failed fit.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = set(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except Exception:
            for key in list(vars(self)):
                fitted = key.endswith("_") and not key.startswith("__")
                if fitted or key not in before:
                    delattr(self, key)
            raise

    return wrapper


def train(estimator, X, layout, encoded, sample_weight):
    """Build the network and its engine from ``estimator``'s parameters and train them.

    Parameters
    ----------
    estimator : MultiTaskEstimator
        Read, not modified.
    X : ndarray or np.memmap of shape (n_samples, n_features)
        Encoded features (:meth:`FeatureEncoder.fit_transform`).
    layout : FeatureLayout
        What the network's input layer needs to know about them.
    encoded : EncodedTargets
    sample_weight : ndarray of shape (n_samples,)

    Returns
    -------
    net : MultiTaskNet
        The fitted engine; its ``weighting`` is the resolved strategy.
    architecture : BaseArchitecture
        The resolved architecture the network was built with.
    embedding : BaseNumericEmbedding or None
        The resolved numeric embedding.
    """
    base_weights = check_task_weights(estimator.task_weights, encoded.names)
    device = resolve_device(estimator.device)
    weighting = resolve_strategy("weighting", estimator.weighting)
    architecture = resolve_strategy("architecture", estimator.architecture)
    embedding = estimator.numeric_embedding
    if isinstance(embedding, str) and embedding == "auto":
        embedding = auto_numeric_embedding(X.shape[0])
    embedding = resolve_strategy("numeric_embedding", embedding)
    seed = int(check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max))
    tasks = encoded.tasks
    devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(devices=devices), limit_torch_threads():
        torch.manual_seed(seed)
        network = _build_network(estimator, X, layout, architecture, embedding, encoded)
        net = MultiTaskNet(
            network,
            MultiTaskLoss(encoded.names, list(tasks.values()), list(encoded.slices.values())),
            task_names=encoded.names,
            weighting=weighting,
            base_weights=torch.tensor(base_weights, dtype=torch.float32, device=device),
            device=device,
            **_engine_params(estimator, shared_seed(seed), X.shape[0]),
        )
        weights = row_weights(encoded, sample_weight, estimator.class_weight)
        net.fit(make_dataset(X, encoded.y, weights, device))
    return net, architecture, embedding


def _build_network(estimator, X, layout, architecture, embedding, encoded):
    """The input layer, the architecture's body and one head per task."""
    values = None
    if embedding is not None and len(layout.numeric):
        values = numeric_sample(X, layout.numeric, statistics_rows(X.shape[0]))
    inputs = FeatureLayer(layout, embedding, values)
    dropout = estimator.dropout
    if isinstance(dropout, str) and dropout == "auto":
        dropout = auto_dropout(X.shape[0])
    body = architecture.build(
        inputs.out_features,
        encoded.names,
        hidden_layer_sizes=tuple(estimator.hidden_layer_sizes),
        activation=estimator.activation,
        dropout=dropout,
    )
    members, k = None, estimator.ensemble_size
    if isinstance(k, str) and k == "auto":
        k = auto_ensemble_size(X.shape[0])
    if k > 1:
        # TabM's choice: random signs on raw inputs, normal values after an embedding.
        scaling_init = "random-signs" if embedding is None else "normal"
        members = MemberInputs(k, inputs.feature_widths, scaling_init)
    tasks = encoded.tasks
    return MultiTaskNetwork(
        body,
        encoded.names,
        [task.n_outputs(encoded.encodings[name]) for name, task in tasks.items()],
        tuple(estimator.head_hidden_sizes),
        estimator.activation,
        dropout,
        output_layers=[task.output_layer for task in tasks.values()],
        inputs=inputs,
        members=members,
        links=[task.link for task in tasks.values()],
    )


def _engine_params(estimator, seed, n_samples):
    """The engine's batch order, optimiser, early stopping and logging.

    ``seed`` is the same in every process of a data-parallel fit, so that all
    of them draw the same batches and validation split.
    """
    batch_size = estimator.batch_size
    if batch_size == "auto":
        batch_size = auto_batch_size(n_samples)
    params = dict(
        seed=seed,
        optimizer=torch.optim.AdamW,
        optimizer__weight_decay=estimator.weight_decay,
        lr=estimator.lr,
        max_epochs=estimator.max_epochs,
        batch_size=batch_size,
        train_split=None,
        verbose=estimator.verbose,
    )
    callbacks, n_train = [], n_samples
    if estimator.early_stopping:
        params["train_split"] = RandomSplit(estimator.validation_fraction, seed)
        n_train -= check_validation_split(estimator.validation_fraction, n_samples)
    patience = (
        estimator.n_iter_no_change,
        estimator.tol,
        estimator.verbose,
        min_epochs_before_stopping(n_train, batch_size),
    )
    plateau = estimator.lr_schedule == "plateau"
    if estimator.early_stopping == "per_task":
        callbacks.append(per_task_early_stopping_callback(*patience, plateau=plateau))
    elif estimator.early_stopping:
        callbacks.append(early_stopping_callback(*patience, plateau=plateau))
    elif plateau:
        callbacks.append(train_loss_plateau_callback(*patience))
    if estimator.lr_schedule in ("cosine", "linear"):
        steps = estimator.max_epochs * -(-n_train // batch_size)
        callbacks.append(lr_schedule_callback(estimator.lr_schedule, steps))
    if callbacks:
        params["callbacks"] = callbacks
    return params
