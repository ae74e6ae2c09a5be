"""Task affinity: do the tasks' gradients agree, and does a step on one help another?"""

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, validate_params

from .._pipeline import fitted_final_estimator, split_final_estimator, transform
from .._tasks import check_fitted_tasks, check_n_samples, encode_targets, read_targets
from .._training import INFERENCE_BATCH_SIZE, host_tensor, iter_batches
from ..weighting import task_gradients


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix"],
        "Y": ["array-like", dict],
    },
    prefer_skip_nested_validation=True,
)
def task_affinity(estimator, X, Y):
    """Cosine similarity between the tasks' gradients on the shared parameters.

    For a fitted multi-task model, computes each task's loss over the rows of
    ``X`` labelled for it (the loss the model was trained on: cross-entropy or
    squared error on the standardised target), its gradient with respect to the
    parameters that several tasks share (the trunk in hard sharing, the
    experts in mixture-of-experts architectures), and the cosine similarity
    between every pair of gradients. A value near 1 means that a step that
    lowers one task's loss lowers the other's: the tasks cooperate. Near 0 they
    pull in unrelated directions; below 0 they conflict.

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        A fitted :class:`~sklearn_mtl.MultiTaskEstimator` or a fitted Pipeline
        whose last step is one. Left unchanged (its parameters' ``.grad`` are
        not touched).

    X : array-like or DataFrame of shape (n_samples, n_features)
        Features, as ``estimator.predict`` takes them. Held-out rows show how
        the tasks relate beyond the training set.

    Y : dict, TargetDict, DataFrame or ndarray
        Targets of two or more of the fitted tasks, in any supported container;
        missing labels are left out of that task's loss.

    Returns
    -------
    affinity : pandas.DataFrame of shape (n_tasks, n_tasks)
        Symmetric, with the tasks of ``Y`` as index and columns and 1 on the
        diagonal. NaN for a task whose gradient is zero (no labelled row, or no
        path to the shared parameters).

    Raises
    ------
    ValueError
        If ``Y`` has fewer than two tasks, a task that was not fitted, a class
        never seen in fit, or if the network has no shared parameter.

    See Also
    --------
    compare_single_task : Whether multi-task training helps each task.
    lookahead_affinity : How a step on one task changes another's held-out loss.
    plot_task_affinity : Draw the matrix as a heatmap.

    Notes
    -----
    The gradients are those of the full-data losses, computed in chunks of
    rows and summed, so the result does not depend on a batch size. They are
    taken at the end of training, where the losses are near a minimum of the
    weighted sum: the affinity describes the directions in which the tasks
    would still like to move the shared body. Gradient cosine similarity is the
    conflict measure of PCGrad [1]_; task affinity through look-ahead losses
    [2]_ (:func:`lookahead_affinity`) is a costlier alternative, measured on
    held-out rows during training.

    What "shared" means depends on the architecture: the whole trunk in hard
    sharing, the experts or the cross-stitch units in soft-sharing ones, where
    each task also has parameters of its own. Soft sharing gives lower
    affinities for the same tasks, so compare values within one architecture.

    References
    ----------
    .. [1] T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman, C. Finn, "Gradient
       Surgery for Multi-Task Learning", NeurIPS 2020.
    .. [2] C. Fifty, E. Amid, Z. Zhao, T. Yu, R. Anil, C. Finn, "Efficiently
       Identifying Task Groupings for Multi-Task Learning", NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.inspection import task_affinity
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4))
    >>> Y = {"a": X[:, 0] + X[:, 1], "b": X[:, 0] + X[:, 1], "noise": rng.normal(size=300)}
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(16,), max_epochs=5,
    ...                          random_state=0).fit(X, Y)
    >>> affinity = task_affinity(est, X, Y)
    >>> affinity.shape
    (3, 3)
    >>> bool(affinity.loc["a", "b"] > affinity.loc["a", "noise"])
    True
    """
    preprocessors, final = fitted_final_estimator(estimator)
    X = final._encode_X(transform(preprocessors, X))
    targets = read_targets(Y)
    names = targets.names
    fitted = list(final.tasks_)
    check_fitted_tasks(names, fitted)
    if len(names) < 2:
        raise ValueError(f"task_affinity needs the targets of at least two tasks; got {names}.")
    check_n_samples(X.shape[0], targets)
    y, mask = encode_targets(targets, final._predictor.tasks)
    w = mask.astype(np.float32)
    columns = [fitted.index(name) for name in names]

    net = final.net_
    module, criterion = net.module_, net.criterion_
    shared = module.shared_parameters()
    if not shared:
        raise ValueError(
            f"The network of architecture {final.architecture_!r} has no shared "
            "parameter, so the tasks' gradients cannot be compared."
        )
    device = next(iter(shared)).device
    was_training = module.training
    module.eval()
    try:
        grads = torch.zeros(len(fitted), sum(p.numel() for p in shared), device=device)
        tensors = [host_tensor(a, np.float32) for a in (X, y, w)]
        for X_c, y_c, w_c in iter_batches(tensors, INFERENCE_BATCH_SIZE, device):
            losses, weight_sums = criterion(module(X_c), y_c, w_c)
            # Gradients of the per-task sums of row losses add up over chunks.
            grads += task_gradients(losses * weight_sums, shared).detach()
    finally:
        module.train(was_training)
    grads = grads[columns].double().cpu()
    norms = grads.norm(dim=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = (grads @ grads.T).numpy() / np.outer(norms.numpy(), norms.numpy())
    cosine = np.clip(cosine, -1.0, 1.0)
    np.fill_diagonal(cosine, np.where(norms.numpy() > 0, 1.0, np.nan))
    return pd.DataFrame(cosine, index=pd.Index(names, name="task"), columns=names)


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix"],
        "Y": ["array-like", dict],
    },
    prefer_skip_nested_validation=True,
)
def lookahead_affinity(estimator, X, Y, **fit_params):
    """How a training step on one task changes each task's held-out loss (TAG).

    Fits a clone of ``estimator`` with ``task_groups="auto"``: while every
    task trains in one shared body, some of the first steps are repeated for
    each task ``i`` alone, as an SGD step on task ``i``'s loss over training
    rows, and every task ``j``'s loss is measured on the early-stopping
    validation rows before and after it. The affinity of ``i`` onto ``j`` is
    ``1 - L_j(after) / L_j(before)``, averaged over the measurements: positive
    when learning ``i`` lowers ``j``'s loss on rows neither trained on, so
    that ``j`` gains from sharing with ``i``; negative when it raises it.

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        A :class:`~sklearn_mtl.MultiTaskEstimator` or a Pipeline whose last
        step is one, fitted or not; its parameters are used, and it is left
        unchanged (a clone is fitted).

    X : array-like or DataFrame of shape (n_samples, n_features)
        Training features, as ``estimator.fit`` takes them.

    Y : dict, TargetDict, DataFrame or ndarray
        Targets of two or more tasks.

    **fit_params : dict
        Passed to the clone's ``fit`` (e.g. ``sample_weight``).

    Returns
    -------
    affinity : pandas.DataFrame of shape (n_tasks, n_tasks)
        Row ``i`` (index ``step_on``), column ``j`` (``loss_of``): the
        affinity of task ``i`` onto task ``j``. Not symmetric; its scale
        follows the learning rate, so compare values within one matrix.
        ``affinity.attrs["standard_error"]`` holds the standard errors (a
        DataFrame) and ``affinity.attrs["groups"]`` the partition that
        ``task_groups="auto"`` chooses from it.

    See Also
    --------
    task_affinity : Gradient cosine similarity of a fitted model, no training.
    plot_lookahead_affinity : Draw the matrix with its groups.
    sklearn_mtl.MultiTaskEstimator : ``task_groups="auto"`` stores the matrix
        as ``task_affinity_``.

    Notes
    -----
    Cost: about one fit. The measurements cover the first 300 optimiser
    steps (60 of them, each ``n_tasks`` backward passes on 128 rows and
    ``n_tasks + 1`` forward passes over at most 2,048 validation rows), and
    the clone's fit goes on with the groups chosen; the matrix is read from
    it. See :ref:`task-groups` for how it decides.

    References
    ----------
    .. [1] C. Fifty, E. Amid, Z. Zhao, T. Yu, R. Anil, C. Finn, "Efficiently
       Identifying Task Groupings for Multi-Task Learning", NeurIPS 2021.

    Examples
    --------
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.datasets import make_multitask
    >>> from sklearn_mtl.inspection import lookahead_affinity
    >>> X, Y = make_multitask(1000, 8, 3, clusters=[2, 1], correlation=0.9,
    ...                       random_state=0)
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(16,), max_epochs=12,
    ...                          random_state=0)
    >>> affinity = lookahead_affinity(est, X, Y)
    >>> affinity.shape
    (3, 3)
    >>> bool(affinity.loc["task_0", "task_1"] > affinity.loc["task_0", "task_2"])
    True
    """
    _, _, prefix = split_final_estimator(estimator)
    model = clone(estimator).set_params(**{prefix + "task_groups": "auto"})
    model.fit(X, Y, **fit_params)
    final = split_final_estimator(model)[1]
    affinity = final.task_affinity_.copy()
    affinity.attrs = {**final.task_affinity_.attrs, "groups": final.task_groups_}
    return affinity
