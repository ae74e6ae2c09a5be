"""The UCI Adult census data, bundled with the package."""

from importlib import resources

import pandas as pd
from sklearn.utils._param_validation import StrOptions, validate_params

_COLUMNS = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education_num",
    "marital_status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
    "native_country",
    "income",
]
_FILES = {"train": "adult.data.gz", "test": "adult.test.gz"}
TARGETS = ["income", "marital_status", "hours_per_week"]
#: Task types of the Adult targets, for ``MultiTaskEstimator(tasks=...)``.
ADULT_TASKS = {"income": "binary", "marital_status": "multiclass", "hours_per_week": "regression"}


def _read(subset):
    path = resources.files(__package__) / "data" / _FILES[subset]
    with resources.as_file(path) as file:
        frame = pd.read_csv(
            file,
            names=_COLUMNS,
            header=None,
            skipinitialspace=True,
            na_values="?",
            comment="|",
            compression="gzip",
        )
    frame["income"] = frame["income"].str.rstrip(".")
    return frame


@validate_params(
    {"subset": [StrOptions({"train", "test", "all"})]}, prefer_skip_nested_validation=True
)
def load_adult(subset="train"):
    """Load the UCI Adult census data as features and three task targets.

    48,842 people from the 1994 US census (32,561 in the original training file,
    16,281 in the test file). Targets:

    - ``income``: ``">50K"`` or ``"<=50K"`` (binary, 24% positive);
    - ``marital_status``: 7 classes (multiclass);
    - ``hours_per_week``: hours worked per week, as float (regression).

    Features: ``age``, ``workclass``, ``education``, ``education_num``,
    ``occupation``, ``race``, ``sex``, ``capital_gain``, ``capital_loss``,
    ``native_country``; categorical columns are pandas ``category`` dtype with
    NaN where the source has ``?``. ``relationship`` is dropped because it
    nearly encodes marital status (husband / wife), and ``fnlwgt`` (a census
    sampling weight, not a trait of the person) is dropped too.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The original training file, the test file, or both (train first).

    Returns
    -------
    X : pandas.DataFrame of shape (n_samples, 10)
    Y : pandas.DataFrame of shape (n_samples, 3)
        Columns ``income``, ``marital_status``, ``hours_per_week``. Pass
        ``tasks=ADULT_TASKS`` so that hours are treated as a quantity.

    Notes
    -----
    Source: Becker, B. and Kohavi, R. (1996). Adult. UCI Machine Learning
    Repository, https://doi.org/10.24432/C5XW20, licensed under Creative Commons
    Attribution 4.0 International (CC BY 4.0). The files ``adult.data`` and
    ``adult.test`` are shipped gzip-compressed and unchanged, with the original
    ``adult.names`` description, in ``sklearn_mtl/datasets/data/``.

    References
    ----------
    .. [1] R. Kohavi, "Scaling Up the Accuracy of Naive-Bayes Classifiers: a
       Decision-Tree Hybrid", KDD 1996.

    Examples
    --------
    >>> from sklearn_mtl.datasets import load_adult
    >>> X, Y = load_adult("test")
    >>> X.shape, list(Y.columns)
    ((16281, 10), ['income', 'marital_status', 'hours_per_week'])
    """
    subsets = ["train", "test"] if subset == "all" else [subset]
    frame = pd.concat([_read(s) for s in subsets], ignore_index=True)
    frame["hours_per_week"] = frame["hours_per_week"].astype(float)
    Y = frame[TARGETS].copy()
    X = frame.drop(columns=TARGETS + ["relationship", "fnlwgt"])
    for column in X.columns:
        if X[column].dtype == object or isinstance(X[column].dtype, pd.StringDtype):
            X[column] = X[column].astype("category")
    return X, Y
