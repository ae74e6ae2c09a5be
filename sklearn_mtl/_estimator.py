"""MultiTaskEstimator: the scikit-learn face of the package."""

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import ClassifierTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._features import FeatureEncoder
from ._lifecycle import VersionedPickleMixin, unfitted_on_error
from ._params import PARAMETER_CONSTRAINTS, NestedParamsMixin
from ._predictor import Predictor, has_quantile_task
from ._tasks import (
    check_fitted_tasks,
    check_n_samples,
    fit_targets,
    has_classification_task,
    read_targets,
    row_weights,
    task_sample_weights,
    wrap_like,
)
from ._training import report_validation_scores, settle, train_bags


class MultiTaskEstimator(VersionedPickleMixin, NestedParamsMixin, BaseEstimator):
    """Learn several supervised tasks over the same rows with one neural network.

    A shared body (hard parameter sharing by default) feeds one head per task. Training
    minimises ``sum_t w_t * L_t``, each task's loss ``L_t`` averaged over the rows labelled
    for that task; the weights ``w_t`` are fixed (``task_weights``) or set by a dynamic
    ``weighting`` strategy. Training runs through skorch on CPU or CUDA.

    Targets may be a dict of 1-D arrays, a :class:`TargetDict`, a pandas
    DataFrame (one column per task), a 2-D array (one column per task, named
    ``task_0``, ``task_1``, ...) or a 1-D array (one task, ``task_0``);
    :meth:`predict` returns the same kind of container.

    Parameters
    ----------
    tasks : dict of str -> str or list, default=None
        Declared task types: ``"binary"``, ``"multiclass"``, ``"regression"``,
        ``"count"``, ``"ordinal"``, ``"multilabel"``, or a list of labels from
        lowest to highest (an ordinal task in that order). Other tasks (or
        declared None) are inferred: 2-D 0/1 as multilabel, an ordered pandas
        Categorical as ordinal, else as ``type_of_target`` says ("continuous":
        regression; integers: classes). See :ref:`task-types`.

    hidden_layer_sizes : tuple of int, default=(128, 128)
        Sizes of the shared trunk's hidden layers (or of each expert / column
        for other architectures).

    head_hidden_sizes : tuple of int, default=()
        Hidden layers inside each task head, before its output layer.

    activation : {"relu", "tanh", "logistic", "gelu", "silu"}, default="relu"
        Activation of every hidden layer.

    dropout : float or "auto", default="auto"
        Dropout probability after each hidden layer. ``"auto"``: 0.1 below
        1,000 rows of fit, 0 from there on (where the ensemble regularises).

    losses : dict of str -> str or tuple, default=None
        Loss of each task; tasks not named use their type's default. Regression
        also takes ``"absolute_error"``, ``"huber"`` and ``("quantile", levels)``
        (:meth:`predict_quantiles`), count ``"tweedie"`` (or ``("tweedie",
        power)``) and ``"gamma"`` (see :ref:`task-types`).

    task_weights : dict of str -> float, default=None
        Static weight of each task's loss; tasks not named weigh 1.0. Entries
        are addressable as ``task_weights__<task>`` by ``set_params`` and
        ``GridSearchCV``, as are those of ``tasks``, ``losses`` and a dict
        ``class_weight``. Dynamic strategies combine them with their own
        weights as their documentation says.

    class_weight : "balanced", dict or None, default=None
        Weights of the classes of classification tasks, multiplying each
        labelled row's weight in that task's loss. ``"balanced"`` balances every
        classification task; a dict maps a task to ``"balanced"`` or to a dict
        class label -> weight (labels not named weigh 1.0; tasks not named are
        unweighted). ``"balanced"`` weighs class ``c`` by ``n / (n_classes *
        n_c)`` over the task's labelled rows, as ``compute_class_weight`` does.

    weighting : str or BaseWeighting instance, default="static"
        How task losses are combined: a name in
        :data:`sklearn_mtl.weighting.WEIGHTINGS` or a strategy instance (cloned
        at fit). Hyper-parameters are addressable as ``weighting__<name>``.

    architecture : str or BaseArchitecture instance, default="shared"
        How tasks share the network: a name in
        :data:`sklearn_mtl.architectures.ARCHITECTURES` (``"shared"``,
        ``"mmoe"``, ``"cgc"``, ``"ple"``, ``"cross_stitch"``) or an instance
        (cloned at fit). Hyper-parameters are addressable as
        ``architecture__<name>``, e.g. ``architecture__n_experts``.

    task_groups : list of list of str, "auto" or None, default=None
        Which tasks share a body: every task (None); per group of a partition,
        e.g. ``[["income", "marital"], ["hours"]]``, one body each built by
        ``architecture``, in one network and one fit; or (``"auto"``) groups
        that the tasks' lookahead affinity on held-out rows, measured while
        training them together (TAG), clearly supports. See :ref:`task-groups`.

    numeric_embedding : str, BaseNumericEmbedding instance or None, default="auto"
        Embedding of each numeric column before the body (every architecture
        reads it): ``"mixed"``, ``"periodic"`` or ``"piecewise_linear"`` (see
        :mod:`sklearn_mtl.embeddings`), an instance (cloned at fit), or None for the
        scaled values (skewed ones also logged). Addressable as ``numeric_embedding__<name>``.
        ``"auto"``: ``"mixed"`` from 1,000 rows of fit, None below.

    ensemble_size : int or "auto", default="auto"
        Members of an efficient ensemble (TabM-mini): each row goes through
        the body ``ensemble_size`` times, scaled per member, and each member
        has its own heads; predictions average the members. ``"auto"``: 3
        from 1,000 rows of fit, 1 below. See :ref:`numeric-embeddings`.

    n_bags : int or "auto", default="auto"
        Networks fitted from their own seeds and early-stopping rows, their
        predictions averaged (bagging, as RealMLP's ``n_cv``), for ``n_bags``
        times the fit; ``net_``, ``history_`` and ``n_epochs_`` are the first's.
        ``"auto"``: 5 below 1,000 rows of fit, 1 from there.

    categorical_features : "from_dtype", array-like or None, default="from_dtype"
        Which columns of ``X`` are categorical, as in HistGradientBoosting: a DataFrame's
        category, object and string columns (``"from_dtype"``), column names, indices or a
        boolean mask. See :ref:`raw_data`.

    min_frequency : int or float, default=5
        Categories in fewer rows of fit (a fraction if below 1) share a slot
        with those first seen at predict.

    target_encoding : {"auto", "all"} or None, default="auto"
        Each task's target statistics (a category's smoothed mean target,
        cross-fitted as scikit-learn's ``TargetEncoder`` does) as extra inputs:
        for a column half of whose rows or more are in categories of under 5
        rows (``"auto"``: ids seen a few times each), every one, or none.

    standardize_targets : bool, default=True
        Standardise regression targets (zero mean, unit variance over labelled
        rows; counts are divided by their mean, not centred) for training and
        undo it at predict, so that losses are on comparable scales whatever
        the target's units (see Notes). With False the regression loss scales
        with the target's variance, and ``task_weights`` should compensate.

    max_epochs : int, default=100
        Number of passes over the training data (fewer with early stopping).

    batch_size : int or "auto", default="auto"
        Rows per training step. ``"auto"``: 32 up to 2,047 rows, then doubling
        with the rows to 256 from 8,192, and 512 from 16,384.

    lr : float, default=3e-3
        Learning rate of the AdamW optimizer.

    lr_schedule : {"plateau", "constant", "cosine", "linear"}, default="plateau"
        How the learning rate moves. ``"plateau"``: constant until the
        validation loss (the training loss without early stopping) has not
        improved for ``n_iter_no_change`` epochs, then divided by 10, once,
        training going on from the best epoch's parameters; early stopping
        then stops at the first epoch without improvement. ``"cosine"`` and
        ``"linear"``: a decay every step, to 0 after ``max_epochs``.

    weight_decay : float, default=3e-4
        Decoupled weight decay (AdamW's ``weight_decay``).

    early_stopping : bool or "per_task", default=True
        Hold out ``validation_fraction`` of the rows, stop when the validation
        loss (the ``task_weights``-weighted sum of per-task validation losses)
        has not improved by ``tol`` for ``n_iter_no_change`` epochs (but not
        before 500 optimiser steps), and restore the best epoch's weights.
        ``"per_task"``: each task predicts with the network of its own best
        validation epoch, and training stops when no task has improved for
        that long (see :ref:`early-stopping`).

    validation_fraction : float, default=0.1
        Share of rows held out for early stopping: random by row, not stratified,
        each row with all its labels; a task without a labelled validation row
        is left out of ``valid_loss``, a split without any refused (see :ref:`missing_labels`).

    n_iter_no_change, tol : int, float, default=4, 1e-4
        Early stopping's patience in epochs (raise it where ``valid_loss`` in ``history_``
        jumps yet falls at the stop: :ref:`per-task-references`) and the least decrease that counts.

    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where to train. ``"auto"`` picks CUDA when available, else the CPU.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, batch order and the validation
        split. With an int, fitting twice on CPU gives the same model.

    verbose : int, default=0
        0: silent. 1: one progress line per fit on stderr (epochs, time elapsed
        and left, the validation loss; why training stopped), then each task's
        validation score. 2: skorch's table, a row per epoch. See :ref:`progress`.

    Attributes
    ----------
    tasks_ : dict of str -> str
        Task name -> task type, in the targets' order.
    classes_ : dict of str -> ndarray
        Classification task -> its class labels (ordinal: in order; multilabel: names).
    n_features_in_, feature_names_in_ : int, ndarray of str
        Number of features seen in fit; their names, when ``X`` had string column names.
    is_categorical_ : ndarray of bool or None
        Which features were categorical; None when none was.
    net_ : skorch.NeuralNet
        The fitted skorch net (a private subclass; the first bag's).
    history_ : skorch.History
        Per epoch: ``train_loss``, ``train_loss_<task>``, ``weight_<task>``
        (mean weight in force), ``dur`` (s); with early stopping ``valid_loss``,
        ``valid_loss_<task>`` and, for ``"per_task"``, ``valid_loss_<task>_best``.
    task_weights_ : dict of str -> float
        The task weights in force at the end of training.
    n_epochs_, n_bags_ : int
        Epochs run (by the first bag), and bags fitted (``n_bags`` resolved).
    best_epochs_ : dict of str -> int or None
        With early stopping, task -> the epoch (1-based) whose network it
        predicts with; None without.
    task_groups_, task_affinity_ : list of list of str, DataFrame or None
        The partition trained; with ``"auto"``, the lookahead affinity (row
        ``i``, column ``j``: how a step on ``i`` lowered ``j``'s held-out loss).
    weighting_, architecture_, numeric_embedding_ : objects
        The strategy, architecture and numeric embedding (or None) used in fit.
    device_ : str
        The device trained on.

    See Also
    --------
    TargetDict : Targets that scikit-learn can slice by rows.
    task_scorer : A scorer for one task, for GridSearchCV and cross_validate.
    sklearn.multioutput.MultiOutputClassifier : One independent model per task.

    Notes
    -----
    The defaults were chosen by measurement (:ref:`tabular-quality`). Numeric columns are
    standardised in the network (outliers of fit clipped); without a numeric embedding, one
    non-negative and skewed in fit (skewness over 1: counts, amounts) also enters as ``log1p``.
    Input is checked before training; a fit that fails (bad input, or a loss turning NaN: a
    ``ValueError`` naming the task) leaves it unfitted; ``fit`` never modifies its arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4))
    >>> Y = {"size": X @ [1.0, 2.0, 0.0, 0.0], "big": X[:, 0] > 0}
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(16,), max_epochs=20,
    ...                          random_state=0).fit(X, Y)
    >>> est.tasks_
    {'size': 'regression', 'big': 'binary'}
    >>> sorted(est.predict(X[:3]))
    ['big', 'size']
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        tasks=None,
        *,
        hidden_layer_sizes=(128, 128),
        head_hidden_sizes=(),
        activation="relu",
        dropout="auto",
        losses=None,
        task_weights=None,
        class_weight=None,
        weighting="static",
        architecture="shared",
        task_groups=None,
        numeric_embedding="auto",
        ensemble_size="auto",
        n_bags="auto",
        categorical_features="from_dtype",
        min_frequency=5,
        target_encoding="auto",
        standardize_targets=True,
        max_epochs=100,
        batch_size="auto",
        lr=3e-3,
        lr_schedule="plateau",
        weight_decay=3e-4,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=4,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.tasks = tasks
        self.hidden_layer_sizes = hidden_layer_sizes
        self.head_hidden_sizes = head_hidden_sizes
        self.activation = activation
        self.dropout = dropout
        self.losses = losses
        self.task_weights = task_weights
        self.class_weight = class_weight
        self.weighting = weighting
        self.architecture = architecture
        self.task_groups = task_groups
        self.numeric_embedding = numeric_embedding
        self.ensemble_size = ensemble_size
        self.n_bags = n_bags
        self.categorical_features = categorical_features
        self.min_frequency = min_frequency
        self.target_encoding = target_encoding
        self.standardize_targets = standardize_targets
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        # Not a classifier (tasks may be regressions); classification tasks have any number.
        tags.classifier_tags = ClassifierTags(multi_class=True)
        return tags

    @unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to every task in ``y``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A DataFrame with numeric, bool, category, object or string
            columns, or a numeric array or sparse matrix; NaN, None and pandas
            NA are missing values. A NumPy memory map
            (``np.load(path, mmap_mode="r")``) is not loaded whole: it is
            checked in chunks and each batch is read from it.
        y : dict, TargetDict, DataFrame, ndarray of shape (n_samples, n_tasks) or (n_samples,)
            One target per task; missing labels (NaN, None, pandas NA) are
            left out of that task's loss.
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), \
                DataFrame or dict, default=None
            Weights of the rows in every task's loss (1-D) or in each task's
            (a column per task, a DataFrame with task columns, or a dict task
            -> 1-D weights; tasks not named weigh 1), times ``class_weight``.
            See the user guide page "Missing labels, sample and class weights".

        Returns
        -------
        self : MultiTaskEstimator
            The fitted estimator.
        """
        X, targets, sample_weight, settings = self._check_fit_data(X, y, sample_weight)
        encoded = fit_targets(targets, self.tasks, self.losses, self.standardize_targets)
        embedding = settings.numeric_embedding
        X = self._feature_encoder.fit_transform(X, sample_weight, encoded, settings.seed, embedding)
        weights = row_weights(encoded, sample_weight, self.class_weight)
        nets = train_bags(settings, X, self._feature_encoder.layout_, encoded, weights)
        self._record_fit(nets, settings, encoded, targets)
        if settings.verbose == 1:  # the first bag's validation rows: the others trained on them
            report_validation_scores(Predictor(encoded.tasks, nets[:1]), X, targets)
        return self

    def _check_fit_data(self, X, y, sample_weight):
        """Validated features, the targets, the sample weights and the settled parameters."""
        self._feature_encoder = FeatureEncoder(
            self.categorical_features, self.min_frequency, self.target_encoding
        )
        X = self._feature_encoder.validate(self, X, reset=True)
        targets = read_targets(y)
        check_n_samples(X.shape[0], targets)
        sample_weight = task_sample_weights(sample_weight, X, targets.names)
        settings = settle(self.get_params(deep=False), X.shape[0], targets.names)
        return X, targets, sample_weight, settings

    def _record_fit(self, nets, settings, encoded, targets):
        """Set the fitted attributes."""
        self.net_ = net = nets[0]
        self._predictor = Predictor(encoded.tasks, nets)
        self.tasks_ = {name: task.type_name for name, task in encoded.tasks.items()}
        self.classes_ = {n: t.classes_ for n, t in encoded.tasks.items() if t.is_classifier}
        self.task_groups_, self.task_affinity_ = net.task_groups_, net.task_affinity_
        self.is_categorical_ = self._feature_encoder.categorical_mask
        self._target_container = (targets.container, targets.keys)
        self.weighting_, self.architecture_ = settings.weighting, settings.architecture
        self.numeric_embedding_ = settings.numeric_embedding
        self.device_ = str(net.device)
        self.history_, self.n_epochs_, self.n_bags_ = net.history, len(net.history), len(nets)
        self.best_epochs_ = net.best_epochs()
        self.task_weights_ = dict(zip(encoded.names, net.weighting.weights_.cpu().tolist()))

    def _encode_X(self, X):
        """The features as the network reads them; every method's X comes through here."""
        check_is_fitted(self)
        return self._feature_encoder.transform(self._feature_encoder.validate(self, X, reset=False))

    def predict(self, X):
        """Predict every task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Y_pred : dict, TargetDict, DataFrame or ndarray
            The same kind of container as the targets given to ``fit``: class
            labels, values in the target's units, expected counts, and for a
            multilabel task its 0/1 matrix (int, columns ``classes_[task]``).
        """
        X_encoded = self._encode_X(X)
        predictions = self._predictor.predictions(X_encoded)
        container, keys = self._target_container
        index = getattr(X, "index", None)
        return wrap_like(container, keys, list(self.tasks_), predictions, index)

    @available_if(has_classification_task)
    def predict_proba(self, X):
        """Class probabilities of every classification task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : dict of str -> ndarray of shape (n_samples, n_classes), or ndarray
            Task -> probabilities, columns in the order of ``classes_[task]`` (a multilabel
            task: each label's probability of being 1). Given a 1-D target in ``fit`` (one
            task), the array of that task alone, as a single-task classifier returns it.
        """
        X_encoded = self._encode_X(X)
        proba = self._predictor.probabilities(X_encoded)
        if self._target_container[0] == "array1d":
            return proba[next(iter(self.tasks_))]
        return proba

    @available_if(has_quantile_task)
    def predict_quantiles(self, X):
        """Quantiles of every task fitted with a ``"quantile"`` loss (see ``losses``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        quantiles : dict of str -> ndarray of shape (n_samples, n_quantiles)
            Task -> its quantiles in the target's units, a column per level (increasing).
        """
        return self._predictor.quantiles(self._encode_X(X))

    def score_tasks(self, X, y, sample_weight=None):
        """Default score of each task over its labelled rows.

        Accuracy, R^2, D^2 or mean per-label accuracy, by task type (see :ref:`task-types`).
        Rows whose label for a task is missing are left out of that task's score (and their
        ``sample_weight`` with them); a task with no labelled row raises a ``ValueError``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, TargetDict, DataFrame or ndarray
            Targets of some or all fitted tasks, in any supported container.
        sample_weight : array-like, DataFrame or dict, default=None
            In any form ``fit`` takes, per task of ``y``.

        Returns
        -------
        scores : dict of str -> float
        """
        check_is_fitted(self)
        targets = read_targets(y)
        check_fitted_tasks(targets.names, self.tasks_)
        X = self._encode_X(X)
        check_n_samples(X.shape[0], targets)
        return self._predictor.scores(X, targets, sample_weight)

    def score(self, X, y, sample_weight=None):
        """Unweighted mean of the per-task default scores (see :meth:`score_tasks`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, TargetDict, DataFrame or ndarray
        sample_weight : array-like, DataFrame or dict, default=None

        Returns
        -------
        score : float
        """
        return float(np.mean(list(self.score_tasks(X, y, sample_weight).values())))
