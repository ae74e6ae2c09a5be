"""Looking inside a fitted architecture: gate weights and cross-stitch units."""

import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import HasMethods, validate_params

from .._pipeline import fitted_final_estimator, transform
from .._training import inference_batches


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix"],
        "level": [numbers.Integral],
    },
    prefer_skip_nested_validation=True,
)
def gate_weights(estimator, X, *, level=-1):
    """Mean gate weight each task gives each expert on the rows of ``X``.

    For architectures with input-dependent gates
    (:class:`~sklearn_mtl.architectures.MMoE`, :class:`~sklearn_mtl.architectures.CGC`,
    :class:`~sklearn_mtl.architectures.PLE`): each gate's softmax weights over
    the experts of one level, averaged over the rows of ``X`` (and over the
    members of an ensemble, ``ensemble_size > 1``). A gate gives
    weight 0 to experts it cannot read (another task's private experts in CGC
    and PLE), so every row of the result sums to 1.

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        Fitted, with a gated architecture. For a Pipeline, ``X`` goes through
        every step but the last, which must be a MultiTaskEstimator.
    X : array-like of shape (n_samples, n_features)
        The rows to average the gates over, as given to ``predict``.
    level : int, default=-1
        Which extraction level, for :class:`~sklearn_mtl.architectures.PLE` (0 is
        the first, -1 the last one, whose task gates feed the heads). MMoE and
        CGC have one level.

    Returns
    -------
    weights : pandas.DataFrame of shape (n_gates, n_experts)
        One row per gate: the tasks, in the fitted order, plus ``"(shared)"``
        for the shared gate of a PLE level below the last. One column per
        expert: ``expert_<i>`` for MMoE, ``<task>/<i>`` and ``shared/<i>`` for
        CGC and PLE.

    Raises
    ------
    ValueError
        If the estimator's architecture has no gates, or ``level`` does not
        exist.

    See Also
    --------
    stitch_weights : The learned mixing of a cross-stitch network.

    Examples
    --------
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.datasets import make_multitask
    >>> from sklearn_mtl.inspection import gate_weights
    >>> X, Y = make_multitask(200, 5, 2, random_state=0)
    >>> est = MultiTaskEstimator(architecture="cgc", hidden_layer_sizes=(8,),
    ...                          max_epochs=2, random_state=0).fit(X, Y)
    >>> gates = gate_weights(est, X)
    >>> list(gates.columns)
    ['task_0/0', 'task_1/0', 'shared/0', 'shared/1']
    >>> float(gates.loc["task_0", "task_1/0"])
    0.0
    """
    preprocessors, final = fitted_final_estimator(estimator)
    module = final.net_.module_
    body = module.body
    if not hasattr(body, "gate_weights"):
        raise ValueError(
            f"gate_weights needs an architecture with gates ('mmoe', 'cgc', 'ple'); this "
            f"estimator was fitted with {type(final.architecture_).__name__}, which "
            "has none. For 'cross_stitch' use stitch_weights."
        )
    X = final._encode_X(transform(preprocessors, X))
    modes = {part: part.training for part in module.modules()}
    module.eval()
    sums, n_rows = None, 0
    try:
        with torch.inference_mode():
            for batch in inference_batches(X, next(body.parameters()).device):
                levels = body.gate_weights(module.body_inputs(batch))
                if not -len(levels) <= level < len(levels):
                    raise ValueError(
                        f"level={level} does not exist: this "
                        f"{type(final.architecture_).__name__} has {len(levels)} level(s); "
                        f"use 0 to {len(levels) - 1} or -1."
                    )
                experts, gates = levels[level]
                batch_sums = {name: g.sum(dim=0).double().cpu() for name, g in gates.items()}
                n_rows += next(iter(gates.values())).shape[0]  # batch x members
                if sums is None:
                    sums = batch_sums
                else:
                    sums = {name: sums[name] + batch_sums[name] for name in sums}
    finally:
        for part, training in modes.items():
            part.training = training
    frame = pd.DataFrame(
        np.stack([(s / n_rows).numpy() for s in sums.values()]),
        index=pd.Index(list(sums), name="gate"),
        columns=pd.Index(experts, name="expert"),
    )
    return frame


@validate_params({"estimator": [HasMethods(["fit"])]}, prefer_skip_nested_validation=True)
def stitch_weights(estimator):
    """The learned cross-stitch units of a fitted :class:`~sklearn_mtl.architectures.CrossStitch`.

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        Fitted with ``architecture="cross_stitch"`` (or a Pipeline ending in one).

    Returns
    -------
    weights : list of pandas.DataFrame of shape (n_tasks, n_tasks)
        One per hidden layer, first layer first. Entry ``(t, s)`` is
        ``alpha_ts``: how much of column ``s`` task ``t``'s column reads after
        that layer.

    Raises
    ------
    ValueError
        If the estimator was not fitted with a cross-stitch architecture.

    See Also
    --------
    gate_weights : Gate weights of MMoE, CGC and PLE.

    Examples
    --------
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.architectures import CrossStitch
    >>> from sklearn_mtl.datasets import make_multitask
    >>> from sklearn_mtl.inspection import stitch_weights
    >>> est = MultiTaskEstimator(architecture=CrossStitch(), hidden_layer_sizes=(8, 4),
    ...                          max_epochs=2, random_state=0)
    >>> units = stitch_weights(est.fit(*make_multitask(200, 5, 2, random_state=0)))
    >>> len(units), units[0].shape
    (2, (2, 2))
    """
    _, final = fitted_final_estimator(estimator)
    body = final.net_.module_.body
    if not hasattr(body, "stitch_weights"):
        raise ValueError(
            "stitch_weights needs an estimator fitted with architecture='cross_stitch'; "
            f"this one was fitted with {type(final.architecture_).__name__}. For "
            "'mmoe', 'cgc' and 'ple' use gate_weights."
        )
    names = pd.Index(list(final.tasks_), name="task")
    return [
        pd.DataFrame(alpha.cpu().numpy(), index=names, columns=names.rename("source"))
        for alpha in body.stitch_weights()
    ]
