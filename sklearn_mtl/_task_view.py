"""One task of a fitted multi-task model, seen as a fitted single-task estimator.

scikit-learn's tools for one model (calibration, threshold tuning, ROC and
prediction-error displays, partial dependence, permutation importance) take a
classifier or a regressor with one target. :func:`for_task` gives each task of
a fitted :class:`MultiTaskEstimator` (alone or at the end of a Pipeline) that
face: a :class:`TaskClassifier` or :class:`TaskRegressor` that holds the model
itself, not a copy, and answers for one task from the shared forward pass.
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._pipeline import fitted_final_estimator, split_final_estimator, transform
from ._tasks import TASK_TYPES

#: Task types whose raw network output is a decision function in scikit-learn's
#: sense: one logit of the positive class, or one logit per class.
_LOGIT_TYPES = ("binary", "multiclass")


class _TaskView:
    """Shared machinery of :class:`TaskClassifier` and :class:`TaskRegressor`.

    First among their bases, so that its ``score`` and tags win over the mixins'.
    """

    def __init__(self, model, task):
        self.model = model
        self.task = task

    def __sklearn_is_fitted__(self):
        return self._staleness() is None

    def _staleness(self):
        """Why the view no longer reads a fitted task of its model; None when it does."""
        task = self.task
        try:
            check_is_fitted(self.model)
        except NotFittedError:
            return (
                "of a model that is not fitted (a clone of a view, or a model whose last fit "
                f"failed): fit the model, then take a new view with for_task(model, {task!r})"
            )
        _, final, _ = split_final_estimator(self.model)
        if task not in final.tasks_:
            return (
                f"of task {task!r}, which the model no longer has: it was refitted on the tasks "
                f"{list(final.tasks_)}; take a view of one of them with for_task(model, task)"
            )
        if _view_class(final, task) is not type(self):
            return (
                f"of task {task!r}, which the model was refitted as a {final.tasks_[task]} "
                f"task; take a new view, a {_view_class(final, task).__name__}, with "
                f"for_task(model, {task!r})"
            )
        return None

    def _check_current(self):
        """Raise a ``NotFittedError`` saying what changed when the view is stale."""
        problem = self._staleness()
        if problem is not None:
            raise NotFittedError(f"This {type(self).__name__} is a view {problem}.")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # What X may hold is the model's business (a ColumnTransformer takes strings).
        tags.input_tags = get_tags(self.model).input_tags
        return tags

    @property
    def estimator_(self):
        """The fitted MultiTaskEstimator read by this view (the model's last step)."""
        return self._parts()[1]

    @property
    def preprocessors_(self):
        """The fitted Pipeline steps applied to X before the estimator, outermost first."""
        return self._parts()[0]

    @property
    def task_type_(self):
        """The task's type name, as in ``estimator_.tasks_``."""
        return self.estimator_.tasks_[self.task]

    @property
    def n_features_in_(self):
        """Number of features of X, as the model saw them in fit."""
        self._check_current()
        return self.model.n_features_in_

    @property
    def feature_names_in_(self):
        """Feature names of X, when the model was fitted on string column names."""
        self._check_current()
        return self.model.feature_names_in_

    def _parts(self):
        """The fitted preprocessors and MultiTaskEstimator, raising when the view is stale."""
        self._check_current()
        return fitted_final_estimator(self.model)

    def _features(self, X):
        """``X`` as the network reads it, and the estimator's fitted predictor."""
        preprocessors, final = self._parts()
        return final._encode_X(transform(preprocessors, X)), final._predictor

    def fit(self, X, y=None, **fit_params):
        """Refuse to fit: the network is shared with the model's other tasks.

        Parameters
        ----------
        X, y, **fit_params
            Ignored.

        Raises
        ------
        TypeError
            Always; fit the multi-task model and take a new view of it, or wrap
            this view in :class:`sklearn.frozen.FrozenEstimator` for a tool
            that fits its estimator.
        """
        raise TypeError(
            f"{type(self).__name__} is a view of task {self.task!r} of a fitted "
            "multi-task model and cannot be fitted on its own: its network is shared "
            "with the model's other tasks. Fit the MultiTaskEstimator (or its "
            f"Pipeline) and take a new view with for_task(model, {self.task!r}); to "
            "use the view in a tool that fits (or clones and fits) its estimator, wrap "
            "it in sklearn.frozen.FrozenEstimator, or pass cv='prefit' where the tool "
            "takes it."
        )

    def predict(self, X):
        """Predict the task: class labels, or values in the target's units.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            Features as the model (the estimator or its Pipeline) takes them.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            The 0/1 label matrix for a multilabel task.
        """
        Xt, predictor = self._features(X)
        return predictor.predictions(Xt, [self.task])[self.task]

    def score(self, X, y, sample_weight=None):
        """The task's default score (accuracy, R^2...) over the labelled rows of ``y``.

        Rows whose label is missing (NaN, None) are left out, as in
        :meth:`MultiTaskEstimator.score_tasks`.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        preprocessors, final = self._parts()
        Xt = transform(preprocessors, X)
        return final.score_tasks(Xt, {self.task: y}, sample_weight=sample_weight)[self.task]


class TaskClassifier(_TaskView, ClassifierMixin, BaseEstimator):
    """A classification task of a fitted multi-task model, as a fitted classifier.

    Made by :func:`for_task`; see there. It predicts labels, probabilities and
    decision values of one task from the model's shared forward pass, and
    cannot be refitted.

    Parameters
    ----------
    model : MultiTaskEstimator or Pipeline
        The fitted model, held as is (not copied).
    task : str
        The classification task this view predicts.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,) or list of ndarray
        The task's class labels (for a multilabel task, ``[0, 1]`` per label).
    n_features_in_ : int
        Number of features of X.
    feature_names_in_ : ndarray of str
        Feature names of X, when fitted on string column names.
    estimator_ : MultiTaskEstimator
        The fitted multi-task estimator (``model`` or its last step).
    preprocessors_ : list of Pipeline
        The fitted steps before it, outermost first; empty for an estimator.
    task_type_ : str
        ``"binary"``, ``"multiclass"``, ``"ordinal"`` or ``"multilabel"``.
    """

    @property
    def classes_(self):
        """The task's class labels, sorted, in the order of ``predict_proba``'s columns.

        Sorted as scikit-learn's classifiers keep them (``np.unique``), which its
        metrics and scorers assume when they read ``predict_proba``: an ordinal
        task's too, whose declared order is in the model's ``classes_[task]``.
        For a multilabel task, one ``array([0, 1])`` per label, as scikit-learn's
        multilabel classifiers have them (the label names are in the model's
        ``classes_[task]``).
        """
        final = self.estimator_
        if final._predictor.tasks[self.task].two_dimensional:
            return [np.array([0, 1])] * len(final.classes_[self.task])
        return final.classes_[self.task][self._sorted_columns()]

    def _sorted_columns(self):
        """Positions of the task's classes in sorted order (the model keeps an ordinal order)."""
        classes = self.estimator_.classes_[self.task]
        if self.estimator_._predictor.tasks[self.task].two_dimensional:
            return slice(None)
        try:
            return np.argsort(classes, kind="stable")
        except TypeError:  # labels that do not sort: scikit-learn could not have sorted them
            return slice(None)

    def predict_proba(self, X):
        """Class probabilities of the task.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        Xt, predictor = self._features(X)
        return predictor.probabilities(Xt, [self.task])[self.task][:, self._sorted_columns()]

    def _has_logits(self):
        return self.task_type_ in _LOGIT_TYPES

    @available_if(_has_logits)
    def decision_function(self, X):
        """The network's logits for the task.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For a binary task, the logit of ``classes_[1]`` (positive means
            that class); for a multiclass task, one logit per class.
        """
        Xt, predictor = self._features(X)
        logits = predictor.outputs(Xt, [self.task])[self.task].double().numpy()
        return logits[:, 0] if self.task_type_ == "binary" else logits


class TaskRegressor(_TaskView, RegressorMixin, BaseEstimator):
    """A regression task of a fitted multi-task model, as a fitted regressor.

    Made by :func:`for_task`; see there. It predicts one task, in the
    target's units, from the model's shared forward pass, and cannot be
    refitted.

    Parameters
    ----------
    model : MultiTaskEstimator or Pipeline
        The fitted model; a refit of it shows in the view.
    task : str
        The regression or count task this view predicts.

    Attributes
    ----------
    n_features_in_, feature_names_in_ : int, ndarray of str
        The number of features of X and, when fitted on string column
        names, their names.
    estimator_, preprocessors_ : MultiTaskEstimator, list of Pipeline
        The fitted multi-task estimator (``model`` or its last step) and the
        fitted steps before it, outermost first (empty for an estimator).
    task_type_ : str
        ``"regression"`` or ``"count"``.
    """


def for_task(model, task):
    """One task of a fitted multi-task model as a fitted single-task estimator.

    The result is a classifier (:class:`TaskClassifier`) or a regressor
    (:class:`TaskRegressor`) that scikit-learn's per-model tools accept:
    :class:`~sklearn.calibration.CalibratedClassifierCV` and
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV` (through
    :class:`~sklearn.frozen.FrozenEstimator`), the ``from_estimator``
    displays, :func:`~sklearn.inspection.partial_dependence` and
    :func:`~sklearn.inspection.permutation_importance`. It holds ``model``
    itself, not a copy: it reads the shared network, and a refit of
    ``model`` shows in it (a refit without the task, or as another kind of
    task, makes its methods raise a ``NotFittedError`` saying so). It pickles
    (with the model), but it cannot be fitted: ``fit`` raises a
    ``TypeError`` saying why.

    Parameters
    ----------
    model : MultiTaskEstimator or Pipeline
        A fitted :class:`~sklearn_mtl.MultiTaskEstimator`, or a fitted Pipeline
        (possibly nested) whose last step is one; the view then takes the
        Pipeline's input and runs its preprocessing.
    task : str
        Name of a fitted task.

    Returns
    -------
    view : TaskClassifier or TaskRegressor
        A classifier for a classification task (``classes_``, ``predict``,
        ``predict_proba``, ``decision_function``, ``score`` as accuracy), a
        regressor for a regression task (``predict``, ``score`` as R^2).

    Raises
    ------
    NotFittedError
        When ``model`` is not fitted.
    ValueError
        When ``task`` is not one of its tasks.

    See Also
    --------
    sklearn.frozen.FrozenEstimator : Lets tools that fit their estimator use a view.

    Notes
    -----
    A binary task's ``decision_function`` is the network's logit of
    ``classes_[1]``, 1-D as scikit-learn expects; a multiclass task's gives
    one logit per class. Each call runs the whole network once (every head
    shares the body) and keeps the task's output.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MultiTaskEstimator, for_task
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> Y = {"pos": X[:, 0] > 0, "val": X[:, 1]}
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=5,
    ...                          random_state=0).fit(X, Y)
    >>> view = for_task(est, "pos")
    >>> view.classes_
    array([False,  True])
    >>> view.predict_proba(X[:2]).shape
    (2, 2)
    >>> type(for_task(est, "val")).__name__
    'TaskRegressor'
    """
    _, final = fitted_final_estimator(model)
    if task not in final.tasks_:
        raise ValueError(
            f"for_task: {task!r} is not a task of the model; its tasks are {list(final.tasks_)}."
        )
    return _view_class(final, task)(model, task)


def _view_class(final, task):
    """The view class of ``task`` of the fitted MultiTaskEstimator ``final``."""
    return TaskClassifier if TASK_TYPES[final.tasks_[task]].is_classifier else TaskRegressor
