"""MultiTaskEstimator: the scikit-learn face of the package."""

import functools
import numbers
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import ClassifierTags, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._engine import MultiTaskNet, make_dataset
from ._mapped import MappedData, is_memmap, map_chunks, validate_mapped
from ._network import ACTIVATIONS, MultiTaskLoss, MultiTaskNetwork
from ._targets import (
    check_scorable,
    class_row_weights,
    encode_column,
    encode_targets,
    fit_encoding,
    labelled_values,
    read_targets,
    resolve_task_types,
    wrap_like,
)
from ._tasks import TASK_TYPES, make_task
from ._threads import limit_torch_threads
from .architectures import ARCHITECTURES, BaseArchitecture
from .weighting import WEIGHTINGS, BaseWeighting

# Parameters that take a name from a registry or an instance, and whose
# hyper-parameters are addressable as ``<name>__<hyper-parameter>``.
_STRATEGY_PARAMS = {
    "weighting": (WEIGHTINGS, BaseWeighting),
    "architecture": (ARCHITECTURES, BaseArchitecture),
}


def _unfitted_on_error(fit):
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


class MultiTaskEstimator(BaseEstimator):
    """Learn several supervised tasks over the same rows with one neural network.

    A shared body (hard parameter sharing by default) feeds one head per task.
    Training minimises ``sum_t w_t * L_t``, each task's loss ``L_t`` averaged
    over the rows labelled for that task; the weights ``w_t`` are fixed
    (``task_weights``) or set by a dynamic ``weighting`` strategy. Training runs
    through skorch on CPU or CUDA.

    Targets may be a dict of 1-D arrays, a :class:`TargetDict`, a pandas
    DataFrame (one column per task), a 2-D array (one column per task, named
    ``task_0``, ``task_1``, ...) or a 1-D array (one task, ``task_0``);
    :meth:`predict` returns the same kind of container.

    Parameters
    ----------
    tasks : dict of str -> {"binary", "multiclass", "regression"}, default=None
        Declared task types. Tasks not named here have their type inferred
        from their labels, as :func:`sklearn.utils.multiclass.type_of_target`
        does ("continuous" means regression). Declare numeric quantities such
        as counts as ``"regression"``: integer labels are inferred as classes.

    hidden_layer_sizes : tuple of int, default=(128, 64)
        Sizes of the shared trunk's hidden layers (or of each expert / column
        for other architectures).

    head_hidden_sizes : tuple of int, default=()
        Hidden layers inside each task head, before its output layer.

    activation : {"relu", "tanh", "logistic", "gelu", "silu"}, default="relu"
        Activation of every hidden layer.

    dropout : float, default=0.0
        Dropout probability after each hidden layer.

    losses : dict of str -> str, default=None
        Loss of each task by name; tasks not named use their type's default:
        ``"cross_entropy"`` for classification, ``"squared_error"`` for
        regression. Regression also takes ``"absolute_error"`` and ``"huber"``
        (quadratic within one standard deviation of the target).

    task_weights : dict of str -> float, default=None
        Static weight of each task's loss; tasks not named weigh 1.0. Entries
        are addressable as ``task_weights__<task>`` by ``set_params`` and
        ``GridSearchCV``. Dynamic strategies combine them with their own
        weights as their documentation says.

    class_weight : "balanced", dict or None, default=None
        Weights of the classes of classification tasks, multiplying each
        labelled row's weight in that task's loss. ``"balanced"`` balances every
        classification task; a dict maps a task to ``"balanced"`` or to a dict
        class label -> weight (labels not named weigh 1.0; tasks not named are
        unweighted). ``"balanced"`` weighs class ``c`` of a task by
        ``n / (n_classes * n_c)``, counted over the rows labelled for that task,
        as :func:`sklearn.utils.class_weight.compute_class_weight` does.

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

    standardize_targets : bool, default=True
        Standardise regression targets (zero mean, unit variance over labelled
        rows) for training and undo it at predict, so that regression losses are
        on the scale of classification losses whatever the target's units.

    max_epochs : int, default=50
        Number of passes over the training data (fewer with early stopping).

    batch_size : int, default=256
        Rows per training step.

    lr : float, default=1e-3
        Learning rate of the Adam optimizer.

    weight_decay : float, default=0.0
        L2 penalty (Adam's ``weight_decay``).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, stop when the validation
        loss (the ``task_weights``-weighted sum of per-task validation losses)
        has not improved by ``tol`` for ``n_iter_no_change`` epochs, and restore
        the weights of the best epoch.

    validation_fraction : float, default=0.1
        Share of rows held out when ``early_stopping=True``. The split is
        random by row, not stratified; a row keeps all its labels, missing or
        not, so partially labelled rows are validated on the tasks they have.

    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.

    tol : float, default=1e-4
        Smallest decrease of the validation loss that counts as improvement.

    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        Where to train. ``"auto"`` picks CUDA when available, else the CPU.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, batch order and the validation
        split. With an int, fitting twice on CPU gives the same model.

    verbose : int, default=0
        If positive, print one line per epoch with each task's losses.

    Attributes
    ----------
    tasks_ : dict of str -> str
        Task name -> task type, in the targets' order.
    classes_ : dict of str -> ndarray
        Classification task -> its sorted class labels.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` had string column names.
    net_ : skorch.NeuralNet
        The fitted skorch net (a private subclass).
    history_ : skorch.History
        Per epoch: ``train_loss``, ``train_loss_<task>``, ``weight_<task>``
        (mean weight in force), and with early stopping ``valid_loss`` and
        ``valid_loss_<task>``; ``dur`` in seconds.
    task_weights_ : dict of str -> float
        The task weights in force at the end of training.
    n_epochs_ : int
        Number of epochs run.
    weighting_ : BaseWeighting
        The strategy object used in fit.
    architecture_ : BaseArchitecture
        The architecture object used in fit.
    device_ : str
        The device trained on.

    See Also
    --------
    TargetDict : Targets that scikit-learn can slice by rows.
    task_scorer : A scorer for one task, for GridSearchCV and cross_validate.
    sklearn.multioutput.MultiOutputClassifier : One independent model per task.

    Notes
    -----
    **Missing labels.** A missing label (NaN, None, pandas NA, a masked
    entry) removes that row from that task's training loss, early-stopping
    validation loss and score, and from nothing else: the row still trains the
    shared layers through the tasks it is labelled for. Each task's loss is
    averaged over the labelled rows of the batch, ``sum(w * l) / sum(w)`` with
    ``w`` the row's ``sample_weight`` times its ``class_weight``; a batch
    without a labelled row for a task gives that task loss 0 and no gradient,
    and trains the other tasks normally.

    **Loss balance.** Classification losses are cross-entropies on their
    natural scale (``log(n_classes)`` for a model that knows nothing);
    regression uses the squared error on the standardised target (unless
    ``losses`` says otherwise), 1.0 for a model that predicts the mean, so that
    tasks weigh alike whatever a target's units. ``standardize_targets=False``
    trains on the raw target instead; its loss then scales with the target's
    variance and ``task_weights`` should compensate.

    **Validation split.** With ``early_stopping=True`` a random
    ``validation_fraction`` of the rows (not stratified) is held out, each row
    whole with all its labels, missing or not; a rarely labelled task may then
    have few or no labelled validation rows, and a task with none is left out
    of ``valid_loss`` that epoch (its ``valid_loss_<task>`` is NaN). See the
    user guide page "Missing labels, sample and class weights".

    Every input is checked before training starts; a fit that fails (bad
    input, or a loss that turns NaN, which raises a ``ValueError`` naming the
    task) leaves the estimator unfitted. ``fit`` never modifies ``X``, the
    targets or the ``task_weights`` dict.

    ``fit`` and ``predict`` run torch on at most as many CPU threads as the
    process is given: torch's own setting, ``OMP_NUM_THREADS`` /
    ``MKL_NUM_THREADS`` (which joblib's workers and dask's nanny set to their
    share of the cores) and the CPUs the process may use. ``GridSearchCV(...,
    n_jobs=2)`` on two cores thus runs one thread per worker.

    A model trained on CUDA pickles with its tensors mapped back to the CPU on
    a machine without CUDA; it then predicts on the CPU.

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

    _parameter_constraints = {
        "tasks": [dict, None],
        "hidden_layer_sizes": ["array-like"],
        "head_hidden_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "losses": [dict, None],
        "task_weights": [dict, None],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "weighting": [StrOptions(set(WEIGHTINGS)), HasMethods(["initialize", "backward"])],
        "architecture": [StrOptions(set(ARCHITECTURES)), HasMethods(["build"])],
        "standardize_targets": ["boolean"],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "device": [StrOptions({"auto", "cpu", "cuda"}), str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        tasks=None,
        *,
        hidden_layer_sizes=(128, 64),
        head_hidden_sizes=(),
        activation="relu",
        dropout=0.0,
        losses=None,
        task_weights=None,
        class_weight=None,
        weighting="static",
        architecture="shared",
        standardize_targets=True,
        max_epochs=50,
        batch_size=256,
        lr=1e-3,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
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
        self.standardize_targets = standardize_targets
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- parameters ---------------------------------------------------------------

    def get_params(self, deep=True):
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of nested objects (``weighting``,
            ``architecture`` instances) and each ``task_weights__<task>`` entry.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep)
        if deep and isinstance(self.task_weights, dict):
            for task, weight in self.task_weights.items():
                params[f"task_weights__{task}"] = weight
        return params

    def set_params(self, **params):
        """Set the parameters of this estimator.

        Besides the usual parameters, accepts ``task_weights__<task>`` (sets one
        entry of a copy of ``task_weights``) and ``weighting__<name>`` /
        ``architecture__<name>`` also when ``weighting`` / ``architecture`` is
        a name: the name is then replaced by an instance of its class.

        Parameters
        ----------
        **params : dict

        Returns
        -------
        self
        """
        params = dict(params)
        entries = {
            key[len("task_weights__") :]: params.pop(key)
            for key in list(params)
            if key.startswith("task_weights__")
        }
        if entries:
            task_weights = dict(params.get("task_weights", self.task_weights) or {})
            task_weights.update(entries)
            params["task_weights"] = task_weights
        for name, (registry, _) in _STRATEGY_PARAMS.items():
            prefix = name + "__"
            nested = {
                key[len(prefix) :]: params.pop(key)
                for key in list(params)
                if key.startswith(prefix)
            }
            if not nested:
                continue
            value = params.get(name, getattr(self, name))
            if isinstance(value, str):
                if value not in registry:
                    raise ValueError(
                        f"{name}={value!r} is not a known {name}; known names are "
                        f"{sorted(registry)}."
                    )
                value = registry[value]()
            else:
                value = clone(value)
            params[name] = value.set_params(**nested)
        return super().set_params(**params)

    def __setstate__(self, state):
        super().__setstate__(state)
        # skorch maps a CUDA-trained net to the CPU when CUDA is missing on load.
        if "net_" in state:
            self.device_ = str(self.net_.device)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = True
        # Not a classifier (tasks may be regressions), but its classification
        # tasks may have any number of classes.
        tags.classifier_tags = ClassifierTags(multi_class=True)
        return tags

    # -- fit --------------------------------------------------------------------------

    @_unfitted_on_error
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to every task in ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric features, no missing values. A NumPy memory map
            (``np.load(path, mmap_mode="r")``) is not loaded whole: it is
            checked in chunks and each batch is read from it.
        y : dict, TargetDict, DataFrame, ndarray of shape (n_samples, n_tasks) or (n_samples,)
            One target per task; missing labels (NaN, None, pandas NA) are
            left out of that task's loss.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights, applied to every task's loss (multiplied by
            ``class_weight`` for classification tasks). Each task's loss is the
            weighted mean ``sum(w * loss) / sum(w)`` over its labelled rows in a
            batch. Routed by Pipeline and GridSearchCV metadata routing after
            ``set_fit_request(sample_weight=True)``.

        Returns
        -------
        self : MultiTaskEstimator
            The fitted estimator.
        """
        X = self._validate_X(X, reset=True)
        targets = read_targets(y)
        if targets.n_samples != X.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} rows but the targets have {targets.n_samples}; "
                "every task needs one label (or a missing value) per row of X."
            )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float32, ensure_non_negative=True
        )
        self._check_layer_sizes()
        self._check_validation_split(X.shape[0])
        names = targets.names
        task_types = resolve_task_types(targets, self.tasks)
        encodings = {
            name: fit_encoding(
                name,
                task_types[name],
                labelled_values(targets.columns[i], targets.missing(i)),
                self.standardize_targets,
            )
            for i, name in enumerate(names)
        }
        y, mask = encode_targets(targets, names, encodings)
        unlabelled = ~mask.any(axis=1)
        if unlabelled.any():
            warnings.warn(
                f"{int(unlabelled.sum())} rows have every label missing and do not "
                "contribute to training; drop them from X and the targets.",
                UserWarning,
                stacklevel=2,
            )
        base_weights = self._check_task_weights(names)
        device = self._resolve_device()
        weighting = self._resolve("weighting")
        architecture = self._resolve("architecture")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

        losses = self._check_losses(names)
        types = [make_task(name, task_types[name], losses.get(name)) for name in names]
        n_outputs = [
            task.n_outputs(len(encodings[name].classes) if task.is_classifier else 1)
            for name, task in zip(names, types)
        ]
        devices = [torch.device(device)] if torch.device(device).type == "cuda" else []
        with torch.random.fork_rng(devices=devices), limit_torch_threads():
            torch.manual_seed(seed)
            body = architecture.build(
                X.shape[1],
                names,
                hidden_layer_sizes=tuple(self.hidden_layer_sizes),
                activation=self.activation,
                dropout=self.dropout,
            )
            network = MultiTaskNetwork(
                body, names, n_outputs, tuple(self.head_hidden_sizes), self.activation, self.dropout
            )
            net = MultiTaskNet(
                network,
                MultiTaskLoss(names, types),
                task_names=names,
                weighting=weighting,
                base_weights=torch.tensor(base_weights, dtype=torch.float32, device=device),
                seed=seed,
                early_stopping=self.early_stopping,
                validation_fraction=self.validation_fraction,
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
                optimizer=torch.optim.Adam,
                optimizer__weight_decay=self.weight_decay,
                lr=self.lr,
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                device=device,
                verbose=self.verbose,
            )
            weights = mask * sample_weight[:, None]
            weights *= class_row_weights(self.class_weight, names, encodings, y, mask)
            weights = weights.astype(np.float32)
            dataset = MappedData if is_memmap(X) else make_dataset
            net.fit(dataset(X, y, weights, device))

        self.net_ = net
        self.tasks_ = dict(task_types)
        self.classes_ = {
            name: encodings[name].classes for name in names if encodings[name].classes is not None
        }
        self._encodings = encodings
        self._target_kind = (targets.kind, targets.labels)
        self.weighting_ = weighting
        self.architecture_ = architecture
        self.device_ = str(device)
        self.history_ = net.history
        self.n_epochs_ = len(net.history)
        self.task_weights_ = dict(zip(names, weighting.weights_.cpu().tolist()))
        return self

    def _validate_X(self, X, reset):
        """Dense float32 features; sparse input (e.g. one-hot columns) is densified.

        A memory map is checked in chunks and left on disk.
        """
        if is_memmap(X):
            return validate_mapped(self, X, reset=reset)
        try:
            X = validate_data(
                self, X, reset=reset, dtype=np.float32, accept_sparse=("csr", "csc", "coo")
            )
        except ValueError as exc:
            if "could not convert" not in str(exc):
                raise
            raise ValueError(
                f"X must be numeric, but {exc}. Encode categorical columns first, e.g. "
                "with a ColumnTransformer holding a OneHotEncoder in a Pipeline."
            ) from None
        return X.toarray() if sp.issparse(X) else X

    def _check_validation_split(self, n_samples):
        n_valid = max(1, int(round(self.validation_fraction * n_samples)))
        if self.early_stopping and n_valid >= n_samples:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} holds out {n_valid} of "
                f"n_samples={n_samples} rows and leaves none for training; lower it, "
                "pass more rows or switch early_stopping off."
            )

    def _check_layer_sizes(self):
        for name in ("hidden_layer_sizes", "head_hidden_sizes"):
            sizes = getattr(self, name)
            if not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
                raise ValueError(
                    f"{name} must hold positive integers, got {sizes!r}; e.g. {name}=(64, 32)."
                )

    def _check_losses(self, names):
        losses = dict(self.losses or {})
        unknown = sorted(set(losses) - set(names))
        if unknown:
            raise ValueError(f"losses has keys {unknown} that are not tasks; tasks are {names}.")
        return losses

    def _check_task_weights(self, names):
        weights = dict.fromkeys(names, 1.0)
        for task, weight in (self.task_weights or {}).items():
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
            weights[task] = float(weight)
        if not any(weights.values()):
            raise ValueError(
                f"Every task weight is 0 ({weights}); give at least one task a positive weight."
            )
        return [weights[name] for name in names]

    def _resolve(self, name):
        """A fresh strategy object for a name, a clone for an instance."""
        registry, base = _STRATEGY_PARAMS[name]
        value = getattr(self, name)
        if isinstance(value, str):
            return registry[value]()
        if not isinstance(value, base):
            raise TypeError(
                f"{name} must be a name in {sorted(registry)} or an instance of "
                f"{base.__name__}; got {type(value).__name__}."
            )
        return clone(value)

    def _resolve_device(self):
        device = self.device
        if device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        try:
            device = torch.device(device)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(
                f"device={self.device!r} is not a device torch knows ({exc}); use "
                "'auto', 'cpu', 'cuda' or 'cuda:<index>'."
            ) from None
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise ValueError(
                    f"device={self.device!r} was requested but CUDA is not available on "
                    "this machine; use device='auto' or device='cpu'."
                )
            if device.index is not None and device.index >= torch.cuda.device_count():
                raise ValueError(
                    f"device={self.device!r} names a GPU this machine does not have; it "
                    f"has {torch.cuda.device_count()} (cuda:0 to "
                    f"cuda:{torch.cuda.device_count() - 1})."
                )
        elif device.type != "cpu":
            raise ValueError(
                f"device={self.device!r} is not supported; use 'auto', 'cpu' or 'cuda'."
            )
        return str(device)

    # -- predict ----------------------------------------------------------------------

    def _outputs(self, X):
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with limit_torch_threads():
            if is_memmap(X):
                return map_chunks(self.net_.predict_outputs, X)
            return self.net_.predict_outputs(X)

    def _decode(self, name, output):
        task = TASK_TYPES[self.tasks_[name]]()
        encoding = self._encodings[name]
        decoded = task.decode(output).numpy()
        if task.is_classifier:
            return encoding.classes[decoded]
        return decoded.astype(np.float64) * encoding.scale + encoding.mean

    def predict(self, X):
        """Predict every task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Y_pred : dict, TargetDict, DataFrame or ndarray
            The same kind of container as the targets given to ``fit``, with
            class labels for classification tasks and values in the original
            units for regression tasks.
        """
        outputs = self._outputs(X)
        predictions = {name: self._decode(name, outputs[name]) for name in self.tasks_}
        kind, labels = self._target_kind
        return wrap_like(kind, labels, list(self.tasks_), predictions, getattr(X, "index", None))

    def _predict_task(self, X, task):
        """Predictions of one task as a 1-D array."""
        return self._decode(task, self._outputs(X)[task])

    def predict_proba(self, X):
        """Class probabilities of every classification task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : dict of str -> ndarray of shape (n_samples, n_classes), or ndarray
            Task -> probabilities, columns in the order of ``classes_[task]``.
            When ``fit`` was given a 1-D target (one task), the array of that
            task alone, as a single-task classifier returns it.
        """
        proba = self._predict_proba_tasks(X)
        if self._target_kind[0] == "array1d":
            return proba[next(iter(self.tasks_))]
        return proba

    def _predict_proba_tasks(self, X):
        """Probabilities of every classification task, as a dict."""
        outputs = self._outputs(X)
        proba = {}
        for name, kind in self.tasks_.items():
            task = TASK_TYPES[kind]()
            if task.is_classifier:
                # In float64, so that rows sum to 1 as tightly as sklearn metrics check.
                proba[name] = task.proba(outputs[name].double()).numpy()
        if not proba:
            raise AttributeError(
                "predict_proba needs a classification task; every task is a regression."
            )
        return proba

    def score_tasks(self, X, y, sample_weight=None):
        """Default score of each task over its labelled rows.

        Accuracy for classification tasks, R^2 for regression tasks. Rows whose
        label for a task is missing are left out of that task's score (and
        their ``sample_weight`` with them); a task with no labelled row raises
        a ``ValueError``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, TargetDict, DataFrame or ndarray
            Targets of some or all fitted tasks, in any supported container.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        scores : dict of str -> float
        """
        check_is_fitted(self)
        targets = read_targets(y)
        unknown = [name for name in targets.names if name not in self.tasks_]
        if unknown:
            raise ValueError(
                f"The targets have tasks {unknown} that were not fitted; fitted tasks "
                f"are {list(self.tasks_)}."
            )
        outputs = self._outputs(X)
        if targets.n_samples != len(next(iter(outputs.values()))):
            raise ValueError(
                f"X has {len(next(iter(outputs.values())))} rows but the targets have "
                f"{targets.n_samples}."
            )
        scores = {}
        for i, name in enumerate(targets.names):
            missing = targets.missing(i)
            check_scorable(name, missing)
            y_true = labelled_values(targets.columns[i], missing)
            task = TASK_TYPES[self.tasks_[name]]()
            if task.is_classifier:
                # Raises a clear error for labels never seen in fit.
                encode_column(name, self._encodings[name], y_true)
            y_pred = self._decode(name, outputs[name][torch.from_numpy(~missing)])
            weight = None if sample_weight is None else np.asarray(sample_weight)[~missing]
            scores[name] = float(task.score(y_true, y_pred, sample_weight=weight))
        return scores

    def score(self, X, y, sample_weight=None):
        """Unweighted mean of the per-task default scores (see :meth:`score_tasks`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : dict, TargetDict, DataFrame or ndarray
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return float(np.mean(list(self.score_tasks(X, y, sample_weight).values())))
