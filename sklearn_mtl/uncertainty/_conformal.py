"""ConformalTasks: split conformal prediction for each task of a fitted multi-task model."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from .._pipeline import fitted_final_estimator, transform
from .._tasks import check_fitted_tasks, check_n_samples, labelled_rows, read_targets
from ._scores import SCORES, conformal_threshold, default_score, min_rows


class ConformalTasks(BaseEstimator):
    """Prediction intervals and sets for each task of a fitted model, by split conformal prediction.

    :meth:`conformalize` scores how far each labelled row of a calibration
    set (rows the model was not fitted on) is from what the model predicts,
    per task, and keeps the quantile of those scores that the confidence
    level asks for. :meth:`predict_interval` then gives each regression and
    count task an interval, :meth:`predict_set` each classification task a
    set of classes, each holding the truth on a share ``confidence_level``
    of new rows drawn like the calibration rows, whatever the model (Vovk,
    Gammerman and Shafer, 2005; Lei et al., 2018). Named as MAPIE v1 names
    its ``SplitConformalRegressor`` and ``SplitConformalClassifier`` with
    ``prefit=True``; see :ref:`uncertainty`.

    Parameters
    ----------
    estimator : MultiTaskEstimator or Pipeline
        A fitted :class:`~sklearn_mtl.MultiTaskEstimator`, or a fitted
        Pipeline ending in one; held as is, never refitted. Refit, it needs a
        new :meth:`conformalize`.
    confidence_level : float or dict of str -> float, default=0.9
        The coverage asked of each task's intervals or sets, strictly between
        0 and 1; a dict gives each task of the calibration targets its own.
    conformity_score : str, dict of str -> str or None, default=None
        How a row's fit is scored (see Notes): None gives each task its
        type's default; a name applies to every task it can calibrate (the
        others keep their default); a dict names the score of some tasks.
    joint : bool, default=False
        Bonferroni's correction: with ``confidence_level=c`` and ``m``
        calibrated tasks (each label of a multilabel task counting as one),
        each gets ``1 - (1 - c) / m``, so that every task's interval or set
        holds its truth at once on a share ``c`` of the rows at least.
    random_state : int, RandomState instance or None, default=None
        Seeds the random share of the true class's probability in APS
        calibration scores.

    Attributes
    ----------
    estimator_ : MultiTaskEstimator
        The fitted estimator (``estimator`` or its last step).
    conformity_scores_ : dict of str -> str
        Task -> the name of the score it was calibrated with.
    confidence_levels_ : dict of str -> float
        Task -> the coverage its intervals or sets are calibrated for (with
        ``joint=True``, each label's of a multilabel task).
    n_conformalize_ : dict of str -> int or ndarray
        Task -> the number of labelled calibration rows (per label for a
        multilabel task).
    thresholds_ : dict of str -> float or ndarray
        Task -> the conformal quantile of its scores (per label for a
        multilabel task).

    See Also
    --------
    sklearn_mtl.MultiTaskEstimator.predict_quantiles : The quantile head's own quantiles.
    sklearn_mtl.for_task : A task as a fitted single-task estimator, for MAPIE or crepes.

    Notes
    -----
    Scores by task type, the default first:

    - regression: ``"quantile"`` (CQR, Romano, Patterson and Candès, 2019)
      when the task has a quantile loss, adaptive to the row; otherwise
      ``"absolute"``, ``|y - y_pred|``, one width for every row;
    - count: ``"pearson"``, ``|y - mu| / mu ** (power / 2)``, widths growing
      with the expected count, or ``"absolute"``; lower bounds at least 0;
    - binary, multiclass: ``"lac"`` (smallest sets, possibly empty) or
      ``"aps"`` (sets growing with the spread of the probabilities, never
      empty, coverage above the level); multilabel: ``"lac"``, a set of
      ``{0, 1}`` per label;
    - ordinal: ``"lac"`` filled in to ranges of classes, or ``"aps"`` grown
      from the most probable class; both give ranges (contiguous sets).

    Coverage holds per task, over the rows labelled for it (marginal): 90%
    intervals for two tasks may both hold on only 80% of the rows. For joint
    coverage use ``joint=True``, or give the levels yourself in a dict: all
    hold at once on at least ``1 - sum(1 - level)`` of the rows. With ``n``
    calibration rows the coverage is between ``c`` and ``c + 1 / (n + 1)``
    on average over calibration sets (more for APS); a level ``c`` needs at
    least ``ceil(c / (1 - c))`` labelled rows per task.

    References
    ----------
    Angelopoulos and Bates (2023), "Conformal prediction: a gentle introduction".

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtl import MultiTaskEstimator
    >>> from sklearn_mtl.uncertainty import ConformalTasks
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(600, 3))
    >>> Y = {"size": X[:, 0] + rng.normal(size=600), "big": X[:, 1] > 0}
    >>> est = MultiTaskEstimator(hidden_layer_sizes=(8,), max_epochs=5,
    ...                          random_state=0)
    >>> est = est.fit(X[:300], {t: y[:300] for t, y in Y.items()})
    >>> conformal = ConformalTasks(est, confidence_level=0.9)
    >>> conformal = conformal.conformalize(X[300:500],
    ...                                    {t: y[300:500] for t, y in Y.items()})
    >>> conformal.predict_interval(X[500:])["size"].shape
    (100, 2)
    >>> conformal.predict_set(X[500:])["big"].shape
    (100, 2)
    """

    _parameter_constraints = {
        "estimator": "no_validation",
        "confidence_level": [Interval(numbers.Real, 0, 1, closed="neither"), dict],
        "conformity_score": [str, dict, None],
        "joint": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        *,
        confidence_level=0.9,
        conformity_score=None,
        joint=False,
        random_state=None,
    ):
        self.estimator = estimator
        self.confidence_level = confidence_level
        self.conformity_score = conformity_score
        self.joint = joint
        self.random_state = random_state

    def conformalize(self, X_conformalize, y_conformalize):
        """Calibrate each task of ``y_conformalize`` on its labelled rows.

        Parameters
        ----------
        X_conformalize : array-like or DataFrame of shape (n_samples, n_features)
            Rows the model was not fitted on, as the model's ``predict`` takes them.
        y_conformalize : dict, TargetDict, DataFrame or ndarray
            Targets of the tasks to calibrate, in any container ``fit`` takes;
            rows whose label is missing are left out of that task's calibration.

        Returns
        -------
        self : ConformalTasks
        """
        self._validate_params()
        preprocessors, final = fitted_final_estimator(self.estimator)
        targets = read_targets(y_conformalize)
        check_fitted_tasks(targets.names, final.tasks_)
        Xt = final._encode_X(transform(preprocessors, X_conformalize))
        check_n_samples(Xt.shape[0], targets)
        tasks = final._predictor.tasks
        scores = self._resolve_scores({name: tasks[name] for name in targets.names})
        rows = {name: self._labelled(targets, tasks[name]) for name in targets.names}
        levels = self._levels(targets.names, rows)
        outputs = final._predictor.outputs(Xt, targets.names)
        rng = check_random_state(self.random_state)
        thresholds, counts = {}, {}
        for name, (mask, y_true) in rows.items():
            alpha = 1 - levels[name]
            values = scores[name].scores(tasks[name], outputs[name][mask], y_true, alpha, rng)
            values = values.reshape(len(values), -1)
            columns = [column[~np.isnan(column)] for column in values.T]
            for column in columns:
                _check_enough_rows(name, len(column), levels[name])
            thresholds[name] = np.array([conformal_threshold(c, alpha) for c in columns])
            counts[name] = np.array([len(column) for column in columns])
            if not tasks[name].two_dimensional:
                thresholds[name], counts[name] = float(thresholds[name][0]), int(counts[name][0])
        self.estimator_, self.thresholds_, self.n_conformalize_ = final, thresholds, counts
        self._preprocessors, self._scores = preprocessors, scores
        self.conformity_scores_ = {name: score.name for name, score in scores.items()}
        self.confidence_levels_ = levels
        return self

    def _labelled(self, targets, task):
        """The mask of the task's labelled rows and their labels; raises if there is none."""
        if targets.unlabelled(targets.names.index(task.name)).all():
            raise ValueError(
                f"Task '{task.name}' has no labelled row in the calibration targets, so it "
                "cannot be calibrated; label some of its rows, or leave the task out of "
                "y_conformalize."
            )
        rows = labelled_rows(targets, task)
        return rows.mask, rows.y_true

    def _resolve_scores(self, tasks):
        """Task -> its conformity score object; raises for a score a task cannot take."""
        spec = self.conformity_score
        named = spec if isinstance(spec, dict) else {}
        unknown = [key for key in named if key not in tasks]
        if unknown:
            raise ValueError(
                f"conformity_score names {unknown}, which are not tasks of y_conformalize; "
                f"its tasks are {list(tasks)}."
            )
        for name in [*named.values(), *([spec] if isinstance(spec, str) else [])]:
            if name not in SCORES:
                raise ValueError(
                    f"conformity_score {name!r} is not a conformity score; choose one of "
                    f"{sorted(SCORES)}."
                )
        if isinstance(spec, str) and not any(SCORES[spec]().applies(t) for t in tasks.values()):
            raise ValueError(
                f"conformity_score={spec!r} calibrates none of the tasks {_types(tasks)}; "
                f"give it per task in a dict, e.g. {{'<task>': {spec!r}}}, or leave it None."
            )
        scores = {}
        for name, task in tasks.items():
            score = SCORES[named.get(name, default_score(task))]()
            if isinstance(spec, str) and SCORES[spec]().applies(task):
                score = SCORES[spec]()
            if not score.applies(task):
                takes = sorted(n for n, s in SCORES.items() if s().applies(task))
                hint = ""
                if score.name == "quantile" and task.type_name == "regression":
                    hint = (
                        f" 'quantile' needs a quantile head: fit with losses={{'{name}': "
                        "('quantile', [0.05, 0.5, 0.95])}."
                    )
                raise ValueError(
                    f"conformity_score gives task '{name}' the score {score.name!r}, which "
                    f"cannot calibrate this {task.type_name} task; it takes {takes}.{hint}"
                )
            scores[name] = score
        return scores

    def _levels(self, names, rows):
        """Task -> the confidence level its scores are calibrated for."""
        level = self.confidence_level
        if isinstance(level, dict):
            if self.joint:
                raise ValueError(
                    "joint=True splits one confidence_level between the tasks; give a float "
                    "(the joint level), or joint=False with the level of each task in a dict."
                )
            missing = [name for name in names if name not in level]
            extra = [name for name in level if name not in names]
            if missing or extra:
                raise ValueError(
                    f"confidence_level gives levels to {list(level)}; it needs one for each "
                    f"task of y_conformalize, {names} (missing {missing}, not tasks {extra})."
                )
            for name, value in level.items():
                if not (isinstance(value, numbers.Real) and 0 < value < 1):
                    raise ValueError(
                        f"confidence_level gives task '{name}' the level {value!r}; a "
                        "confidence level is strictly between 0 and 1, e.g. 0.9."
                    )
            return {name: float(level[name]) for name in names}
        units = sum(_n_units(y_true) for _, y_true in rows.values()) if self.joint else 1
        return dict.fromkeys(names, 1 - (1 - float(level)) / units)

    def _outputs(self, X, kind):
        """Raw outputs of the calibrated tasks whose scores give ``kind``, task -> tensor."""
        if not hasattr(self, "thresholds_"):
            raise NotFittedError(
                "This ConformalTasks is not conformalized yet; call "
                "conformalize(X_conformalize, y_conformalize) with rows the model was not "
                "fitted on, then predict."
            )
        names = [name for name, score in self._scores.items() if score.output == kind]
        if not names:
            method = {"interval": "predict_interval", "set": "predict_set"}[kind]
            what = {"interval": "regression or count", "set": "classification"}[kind]
            raise ValueError(
                f"{method} answers for {what} tasks, and none was conformalized; the "
                f"calibrated tasks are {_types_of(self)}."
            )
        Xt = self.estimator_._encode_X(transform(self._preprocessors, X))
        return self.estimator_._predictor.outputs(Xt, names)

    def predict_interval(self, X):
        """Prediction intervals of the calibrated regression and count tasks.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        intervals : dict of str -> ndarray of shape (n_samples, 2)
            Task -> lower and upper bounds, in the target's units.
        """
        outputs = self._outputs(X, "interval")
        return {name: self._predict(name, output) for name, output in outputs.items()}

    def predict_set(self, X):
        """Prediction sets of the calibrated classification tasks.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        sets : dict of str -> ndarray of bool
            Task -> ``(n_samples, n_classes)``, whether each class of
            ``classes_[task]`` (in that order) is in the row's set; for a
            multilabel task ``(n_samples, n_labels, 2)``, whether 0 and 1
            are in each label's set.
        """
        outputs = self._outputs(X, "set")
        return {name: self._predict(name, output) for name, output in outputs.items()}

    def _predict(self, name, output):
        task = self.estimator_._predictor.tasks[name]
        alpha = 1 - self.confidence_levels_[name]
        return self._scores[name].predict(task, output, self.thresholds_[name], alpha)


def _n_units(y_true):
    """How many coverage statements a task makes: one, or one per label."""
    return 1 if y_true.ndim == 1 else y_true.shape[1]


def _types(tasks):
    return {name: task.type_name for name, task in tasks.items()}


def _types_of(conformal):
    return {name: conformal.estimator_.tasks_[name] for name in conformal._scores}


def _check_enough_rows(name, n, level):
    """Raise when ``n`` calibration rows cannot give a finite bound at ``level``."""
    needed = min_rows(1 - level)
    if n < needed:
        raise ValueError(
            f"Task '{name}' has {n} labelled calibration rows (per label for a multilabel "
            f"task); a confidence level of {level:.4g} needs at least {needed} "
            f"(ceil(level / (1 - level))). Calibrate on more rows, or lower the level."
        )
