"""A pickle records the package version; loading one made by another version warns."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import InconsistentVersionWarning

import sklearn_mtl
from sklearn_mtl import MultiTaskEstimator


@pytest.fixture(scope="module")
def fitted():
    X = np.random.RandomState(0).normal(size=(60, 3))
    Y = {"y": X[:, 0], "c": X[:, 1] > 0}
    return X, MultiTaskEstimator(hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X, Y)


def _as_if_pickled_by(version, est):
    """``est`` pickled with another version recorded (None: with no version, as before 0.1)."""
    state = est.__getstate__()
    if version is None:
        del state["_sklearn_mtl_version"]
    else:
        state["_sklearn_mtl_version"] = version
    clone = MultiTaskEstimator.__new__(MultiTaskEstimator)
    return pickle.dumps((clone, state))


def test_a_pickle_records_the_version_and_loads_silently(fitted):
    X, est = fitted
    assert est.__getstate__()["_sklearn_mtl_version"] == sklearn_mtl.__version__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restored = pickle.loads(pickle.dumps(est))
    assert "_sklearn_mtl_version" not in vars(restored)
    np.testing.assert_array_equal(restored.predict(X)["y"], est.predict(X)["y"])


@pytest.mark.parametrize("version, shown", [("0.0.1", "0.0.1"), (None, "before 0.1.0")])
def test_loading_another_versions_pickle_warns_as_scikit_learn_does(fitted, version, shown):
    X, est = fitted
    clone, state = pickle.loads(_as_if_pickled_by(version, est))
    with pytest.warns(InconsistentVersionWarning) as record:
        clone.__setstate__(state)
    message = str(record[0].message)
    assert f"made by sklearn_mtl {shown} with sklearn_mtl {sklearn_mtl.__version__}" in message
    assert "Refit it with this version" in message
    assert record[0].message.original_sklearn_version == shown
    np.testing.assert_array_equal(clone.predict(X)["y"], est.predict(X)["y"])
