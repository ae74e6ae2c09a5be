"""MultiTaskEstimator's parameters: their constraints, and ``<name>__<key>`` entries.

Each parameter is checked on its own when ``fit`` starts
(:data:`PARAMETER_CONSTRAINTS`); what needs the data or the machine is settled
for training by :func:`sklearn_mtl._training.settle`.
"""

import numbers

import torch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._nn import ACTIVATIONS
from ._training import STRATEGY_PARAMS, resolve_strategy
from .architectures import ARCHITECTURES
from .embeddings import EMBEDDINGS
from .weighting import WEIGHTINGS

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
    "task_groups": [StrOptions({"auto"}), list, tuple, None],
    "numeric_embedding": [StrOptions({"auto", *EMBEDDINGS}), HasMethods(["build"]), None],
    "ensemble_size": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "n_bags": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
    "target_encoding": [StrOptions({"auto", "all"}), None],
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
