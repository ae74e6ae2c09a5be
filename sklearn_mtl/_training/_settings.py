"""The estimator's parameters settled once for one fit: every ``"auto"`` decided, every check run.

:func:`settle` turns ``get_params()`` into a frozen :class:`Settings` of plain
values and fresh strategy objects, so that training never reads the estimator.
The ``"auto"`` rules depend on the rows of fit; the measurements behind them
are in ``docs/benchmarks/tabular_quality.rst``.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._features import FLOAT32_MAX
from ..architectures import ARCHITECTURES, BaseArchitecture
from ..embeddings import EMBEDDINGS, BaseNumericEmbedding
from ..weighting import WEIGHTINGS, BaseWeighting
from ._data import check_validation_split
from ._groups import check_task_groups

#: From this many rows of fit, ``numeric_embedding="auto"`` is ``"mixed"`` and
#: ``ensemble_size="auto"`` is :data:`ENSEMBLE_SIZE`; below, None and 1. On a few
#: hundred rows the embeddings overfit (on make_multitask with 500 rows a
#: regression task's R^2 fell from 0.89 to 0.23 with the periodic one; on the five
#: public data sets under 1,000 rows "mixed" lost 0.002 to 0.056), and an
#: ensemble of 3 scored a binary task's AUC 0.03 below one network on 300 rows.
#: "mixed" over "periodic" from 1,000 rows: docs/benchmarks/per_task_references.rst.
LARGE_FIT_ROWS = 1000

#: ``ensemble_size="auto"`` on :data:`LARGE_FIT_ROWS` rows or more.
ENSEMBLE_SIZE = 3

#: ``n_bags="auto"`` below :data:`LARGE_FIT_ROWS` rows; 1 from there. On the
#: five public data sets under 1,000 rows of docs/benchmarks/per_task_references.rst
#: five bags raised the 13 tasks by 0.012 on average (none lowered by more
#: than 0.002), and every task of the generated_300 and adult_400 checks, for
#: about five times a fit that takes a second or two there.
SMALL_FIT_BAGS = 5

#: ``dropout="auto"`` below :data:`LARGE_FIT_ROWS` rows; 0 from there, where
#: the ensemble regularises: on Adult, diamonds, flights and generated data
#: dropout 0 scored as well or better in a third fewer seconds (dropout's
#: random masks cost more than the layers' matrix products on a CPU), while
#: on 300 rows it lost up to 0.05 AUC.
SMALL_FIT_DROPOUT = 0.1

#: Parameters that take a name from a registry or an instance, and whose
#: hyper-parameters are addressable as ``<name>__<hyper-parameter>``.
STRATEGY_PARAMS = {
    "weighting": (WEIGHTINGS, BaseWeighting),
    "architecture": (ARCHITECTURES, BaseArchitecture),
    "numeric_embedding": (EMBEDDINGS, BaseNumericEmbedding),
}


@dataclass(frozen=True)
class Settings:
    """Everything one fit needs from the estimator's parameters, settled.

    The fields hold the parameters of the same names with every ``"auto"``
    resolved, strategies as fresh objects (a registry name made, an instance
    cloned), and: ``device`` (a string), ``seed`` (an int drawn from
    ``random_state``), ``task_weights`` (one static weight per task, in task
    order), ``early_stopping`` (False, ``"joint"`` or ``"per_task"``) and
    ``task_groups`` (None for one group of every task, a tuple of tuples of
    task names, or ``"auto"``) and ``n_bags``.
    """

    device: str
    seed: int
    weighting: BaseWeighting
    architecture: BaseArchitecture
    numeric_embedding: BaseNumericEmbedding
    hidden_layer_sizes: tuple
    head_hidden_sizes: tuple
    activation: str
    dropout: float
    ensemble_size: int
    batch_size: int
    task_weights: tuple
    max_epochs: int
    lr: float
    lr_schedule: str
    weight_decay: float
    early_stopping: object
    validation_fraction: float
    n_iter_no_change: int
    tol: float
    verbose: int
    task_groups: object = None
    n_bags: int = 1


def settle(params, n_samples, task_names):
    """The :class:`Settings` of a fit on ``n_samples`` rows of the tasks ``task_names``.

    ``params`` is the estimator's ``get_params(deep=False)``, already checked
    one by one against its ``_parameter_constraints``; the checks here need
    the data or the machine.
    """
    check_layer_sizes(params)
    if params["early_stopping"]:
        check_validation_split(params["validation_fraction"], n_samples)
    embedding = params["numeric_embedding"]
    if _is_auto(embedding):
        embedding = "mixed" if n_samples >= LARGE_FIT_ROWS else None
    dropout, ensemble_size, batch_size = (
        params["dropout"],
        params["ensemble_size"],
        params["batch_size"],
    )
    if _is_auto(dropout):
        dropout = SMALL_FIT_DROPOUT if n_samples < LARGE_FIT_ROWS else 0.0
    if _is_auto(ensemble_size):
        ensemble_size = ENSEMBLE_SIZE if n_samples >= LARGE_FIT_ROWS else 1
    n_bags = params.get("n_bags", 1)
    if _is_auto(n_bags):
        n_bags = SMALL_FIT_BAGS if n_samples < LARGE_FIT_ROWS else 1
    if _is_auto(batch_size):
        batch_size = auto_batch_size(n_samples)
    early_stopping = params["early_stopping"]
    if early_stopping is True:
        early_stopping = "joint"
    random_state = check_random_state(params["random_state"])
    return Settings(
        device=resolve_device(params["device"]),
        seed=int(random_state.randint(np.iinfo(np.int32).max)),
        weighting=resolve_strategy("weighting", params["weighting"]),
        architecture=resolve_strategy("architecture", params["architecture"]),
        numeric_embedding=resolve_strategy("numeric_embedding", embedding),
        hidden_layer_sizes=tuple(params["hidden_layer_sizes"]),
        head_hidden_sizes=tuple(params["head_hidden_sizes"]),
        activation=params["activation"],
        dropout=float(dropout),
        ensemble_size=int(ensemble_size),
        batch_size=int(batch_size),
        task_weights=tuple(check_task_weights(params["task_weights"], list(task_names))),
        max_epochs=params["max_epochs"],
        lr=params["lr"],
        lr_schedule=params["lr_schedule"],
        weight_decay=params["weight_decay"],
        early_stopping=early_stopping,
        validation_fraction=params["validation_fraction"],
        n_iter_no_change=params["n_iter_no_change"],
        tol=params["tol"],
        verbose=params["verbose"],
        task_groups=check_task_groups(params.get("task_groups"), list(task_names)),
        n_bags=int(n_bags),
    )


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


def auto_batch_size(n_samples):
    """``batch_size="auto"``: rows per optimiser step for a fit on ``n_samples`` rows.

    ``2 ** floor(log2(n_samples / 32))`` bounded to ``[32, 256]``, i.e. at
    least about 32 steps an epoch on small data (32 rows a batch below 2,048
    rows, 256 from 8,192), and 512 from 16,384 rows, where a batch of 512
    scored as well as 256 on Adult in fewer, cheaper steps.
    """
    if n_samples >= 16_384:
        return 512
    return int(min(256, max(32, 2 ** np.floor(np.log2(max(n_samples, 1) / 32)))))


def resolve_strategy(param, value):
    """A fresh strategy object for a registry name, a clone for an instance.

    ``param`` is a key of :data:`STRATEGY_PARAMS`; the user's instance is never
    modified. None (no numeric embedding) stays None.
    """
    registry, base = STRATEGY_PARAMS[param]
    if value is None and param == "numeric_embedding":
        return None
    if isinstance(value, str):
        if value not in registry:
            raise ValueError(
                f"{param}={value!r} is not a known {param}; known names are {sorted(registry)}."
            )
        return registry[value]()
    if not isinstance(value, base):
        raise TypeError(
            f"{param} must be a name in {sorted(registry)} or an instance of "
            f"{base.__name__}; got {type(value).__name__}."
        )
    return clone(value)


def check_layer_sizes(params):
    """Raise unless the layer sizes are positive integers."""
    for name in ("hidden_layer_sizes", "head_hidden_sizes"):
        sizes = params[name]
        if not all(_is_positive_int(s) for s in sizes):
            raise ValueError(
                f"{name} must hold positive integers, got {sizes!r}; e.g. {name}=(64, 32)."
            )


def _is_positive_int(size):
    # bool is an Integral, but True as a layer size is a mistake, not 1.
    return isinstance(size, numbers.Integral) and not isinstance(size, bool) and size > 0


def check_task_weights(task_weights, names):
    """The static weight of each task in ``names`` order (1.0 where not given)."""
    weights = dict.fromkeys(names, 1.0)
    for task, weight in (task_weights or {}).items():
        if task not in weights:
            raise ValueError(
                f"task_weights has a key {task!r} that is not a task; tasks are {names}."
            )
        if not isinstance(weight, numbers.Real):
            raise TypeError(
                f"task_weights[{task!r}] is {weight!r} of type {type(weight).__name__}; "
                "task weights must be numbers, e.g. {'income': 1.0, 'marital': 0.5}."
            )
        if not np.isfinite(weight) or weight < 0:
            raise ValueError(
                f"task_weights[{task!r}] is {weight!r}; task weights must be finite "
                "non-negative numbers."
            )
        if weight > FLOAT32_MAX:
            raise ValueError(
                f"task_weights[{task!r}] is {weight!r}, too large for float32, the precision "
                "the network trains in; task weights act relative to each other, so divide "
                "them all by a common factor."
            )
        weights[task] = float(weight)
    if not any(np.float32(list(weights.values()))):
        raise ValueError(
            f"Every task weight is 0 in float32, the precision the network trains in "
            f"({weights}); give at least one task a positive weight (1e-45 or more)."
        )
    return [weights[name] for name in names]


def resolve_device(device):
    """The device to train on, as a string; ``"auto"`` is CUDA when available."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(
            f"device={device!r} is not a device torch knows ({exc}); use "
            "'auto', 'cpu', 'cuda' or 'cuda:<index>'."
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on "
                "this machine; use device='auto' or device='cpu'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} names a GPU this machine does not have; it "
                f"has {torch.cuda.device_count()} (cuda:0 to "
                f"cuda:{torch.cuda.device_count() - 1})."
            )
    elif resolved.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; use 'auto', 'cpu' or 'cuda'.")
    return str(resolved)
