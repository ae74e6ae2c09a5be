"""MultiTaskEstimator's parameters: their constraints, and what one fit makes of them.

:data:`PARAMETER_CONSTRAINTS` checks each parameter on its own, when ``fit``
starts. The checks below need the data (the task names, the number of rows) or
the machine (the device), and turn strategy parameters (a registry name or an
instance) into the fresh objects stored as ``weighting_`` and ``architecture_``.
"""

import numbers

import numpy as np
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._data import FLOAT32_MAX, check_validation_split
from ._network import ACTIVATIONS
from .architectures import ARCHITECTURES, BaseArchitecture
from .embeddings import EMBEDDINGS, BaseNumericEmbedding
from .weighting import WEIGHTINGS, BaseWeighting

#: ``MultiTaskEstimator._parameter_constraints``.
PARAMETER_CONSTRAINTS = {
    "tasks": [dict, None],
    "hidden_layer_sizes": ["array-like"],
    "head_hidden_sizes": ["array-like"],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(numbers.Real, 0, 1, closed="left"), StrOptions({"auto"})],
    "losses": [dict, None],
    "task_weights": [dict, None],
    "class_weight": [StrOptions({"balanced"}), dict, None],
    "weighting": [StrOptions(set(WEIGHTINGS)), HasMethods(["initialize", "backward"])],
    "architecture": [StrOptions(set(ARCHITECTURES)), HasMethods(["build"])],
    "numeric_embedding": [StrOptions({"auto", *EMBEDDINGS}), HasMethods(["build"]), None],
    "ensemble_size": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
    "min_frequency": [
        Interval(numbers.Integral, 1, None, closed="left"),
        Interval(numbers.Real, 0, 1, closed="neither"),
    ],
    "standardize_targets": ["boolean"],
    "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "lr_schedule": [StrOptions({"plateau", "constant", "cosine", "linear"})],
    "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
    "early_stopping": ["boolean", StrOptions({"per_task"})],
    "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "device": [StrOptions({"auto", "cpu", "cuda"}), str, torch.device],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

#: Parameters that take a name from a registry or an instance, and whose
#: hyper-parameters are addressable as ``<name>__<hyper-parameter>``.
STRATEGY_PARAMS = {
    "weighting": (WEIGHTINGS, BaseWeighting),
    "architecture": (ARCHITECTURES, BaseArchitecture),
    "numeric_embedding": (EMBEDDINGS, BaseNumericEmbedding),
}


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


#: Dict parameters whose entries are addressable as ``<name>__<task>``.
DICT_PARAMS = ("tasks", "losses", "task_weights", "class_weight")


def dict_entries(estimator):
    """The ``<name>__<task>`` entries of the dict parameters, for ``get_params(deep=True)``.

    Only str keys are listed: task names are str, and a ``set_params`` key is one.
    """
    return {
        f"{name}__{key}": value
        for name in DICT_PARAMS
        if isinstance(getattr(estimator, name), dict)
        for key, value in getattr(estimator, name).items()
        if isinstance(key, str)
    }


def expand_nested_params(estimator, params):
    """``params`` for ``BaseEstimator.set_params``, nested entries resolved.

    ``<name>__<task>`` entries of the :data:`DICT_PARAMS` update a copy of
    that dict (never the user's); ``weighting__<name>`` /
    ``architecture__<name>`` entries are set on the strategy object, resolved
    from a name or cloned from an instance.
    """
    params = dict(params)
    for name in DICT_PARAMS:
        entries = _pop_prefixed(params, name)
        if entries:
            params[name] = _updated_dict(name, params.get(name, getattr(estimator, name)), entries)
    for name in STRATEGY_PARAMS:
        nested = _pop_prefixed(params, name)
        if nested:
            value = params.get(name, getattr(estimator, name))
            if value is None or (isinstance(value, str) and value == "auto"):
                raise ValueError(
                    f"{name}__{next(iter(nested))} sets a hyper-parameter of {name}, but "
                    f"{name} is {value!r}; choose one first, e.g. {name}='periodic'."
                )
            strategy = resolve_strategy(name, value)
            params[name] = strategy.set_params(**nested)
    return params


class NestedParamsMixin:
    """``get_params`` / ``set_params`` with the entries of dict parameters and strategies.

    Mixed into :class:`~sklearn_mtl.MultiTaskEstimator` before ``BaseEstimator``.
    """

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of nested objects (``weighting``,
            ``architecture`` and ``numeric_embedding`` instances) and each
            entry of the dict parameters ``tasks``, ``losses``,
            ``task_weights`` and ``class_weight`` as ``<name>__<task>``.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        return {**params, **dict_entries(self)} if deep else params

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Besides the usual parameters, accepts ``<name>__<task>`` for the dict
        parameters ``tasks``, ``losses``, ``task_weights`` and ``class_weight``
        (sets one entry of a copy of the dict), and ``weighting__<name>``,
        ``architecture__<name>`` and ``numeric_embedding__<name>`` also when
        that parameter is a name: the name is then replaced by an instance of
        its class.

        Parameters
        ----------
        **params : dict

        Returns
        -------
        self
        """
        return super().set_params(**expand_nested_params(self, params))


def _updated_dict(name, current, entries):
    """A copy of the dict parameter ``name`` (None: empty) with ``entries`` set."""
    if current is not None and not isinstance(current, dict):
        first = next(iter(entries))
        raise ValueError(
            f"{name}__{first} sets one task's entry of {name}, but {name}={current!r} is "
            f"not a dict; set the whole parameter instead, e.g. "
            f"set_params({name}={{{first!r}: ...}})."
        )
    return {**(current or {}), **entries}


def _pop_prefixed(params, name):
    """Remove the ``<name>__<key>`` entries from ``params``; return them as ``{key: value}``."""
    prefix = name + "__"
    return {key[len(prefix) :]: params.pop(key) for key in list(params) if key.startswith(prefix)}


def check_sizes(estimator, n_samples):
    """Check the layer sizes, and that early stopping leaves rows to train on."""
    for name in ("hidden_layer_sizes", "head_hidden_sizes"):
        sizes = getattr(estimator, name)
        if not all(_is_positive_int(s) for s in sizes):
            raise ValueError(
                f"{name} must hold positive integers, got {sizes!r}; e.g. {name}=(64, 32)."
            )
    if estimator.early_stopping:
        check_validation_split(estimator.validation_fraction, n_samples)


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
