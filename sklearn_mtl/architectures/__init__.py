"""Multi-task architectures: how the tasks share the network below their heads.

``MultiTaskEstimator(architecture=...)`` takes a name from :data:`ARCHITECTURES`
or an instance of one of these classes.
"""

from ._base import BaseArchitecture
from .shared import SharedBottom

#: Registry: name accepted by ``architecture=`` -> class.
ARCHITECTURES = {
    "shared": SharedBottom,
}

__all__ = ["ARCHITECTURES", "BaseArchitecture", "SharedBottom"]
