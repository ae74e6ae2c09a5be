"""An estimator's state across failures and versions: a failed fit leaves nothing, a pickle
records the package version and loading another version's warns.
"""

import functools
import warnings

from sklearn.exceptions import InconsistentVersionWarning

from ._version import __version__

_KEY = "_sklearn_mtl_version"


class _InconsistentVersionWarning(InconsistentVersionWarning):
    """scikit-learn's warning for a model pickled by another version, about this package."""

    def __str__(self):
        return (
            f"Trying to unpickle a {self.estimator_name} made by sklearn_mtl "
            f"{self.original_sklearn_version} with sklearn_mtl {self.current_sklearn_version}: "
            "it might fail or predict differently. Refit it with this version, or load it "
            f"where sklearn_mtl {self.original_sklearn_version} is installed."
        )


def pickle_version():
    """What ``__getstate__`` adds to an estimator's state: this package's version."""
    return {_KEY: __version__}


def check_pickle_version(estimator, state):
    """``state`` without its version; warns when another version of the package pickled it.

    A subclass of scikit-learn's ``InconsistentVersionWarning``, so that the
    filters users set for scikit-learn's models apply to these too.
    """
    state = dict(state)
    version = state.pop(_KEY, "before 0.1.0")
    if version != __version__:
        warnings.warn(
            _InconsistentVersionWarning(
                estimator_name=type(estimator).__name__,
                current_sklearn_version=__version__,
                original_sklearn_version=version,
            ),
            stacklevel=3,
        )
    return state


class VersionedPickleMixin:
    """Pickle the package's version with the estimator; warn when loading another's."""

    def __getstate__(self):
        return {**super().__getstate__(), **pickle_version()}

    def __setstate__(self, state):
        super().__setstate__(check_pickle_version(self, state))
        # skorch maps a CUDA-trained net to the CPU when CUDA is missing on load.
        if "net_" in state:
            self.device_ = str(self.net_.device)


def unfitted_on_error(fit):
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
