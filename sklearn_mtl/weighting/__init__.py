"""Task-weighting strategies: how the task losses become one training signal.

``MultiTaskEstimator(weighting=...)`` takes a name from :data:`WEIGHTINGS` or an
instance of one of these classes.
"""

from ._base import BaseWeighting, GradientWeighting, LossWeighting
from .static import StaticWeighting

#: Registry: name accepted by ``weighting=`` -> class.
WEIGHTINGS = {
    "static": StaticWeighting,
}

__all__ = [
    "WEIGHTINGS",
    "BaseWeighting",
    "GradientWeighting",
    "LossWeighting",
    "StaticWeighting",
]
