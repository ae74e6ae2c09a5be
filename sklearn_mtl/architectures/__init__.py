"""Multi-task architectures: how the tasks share the network below their heads.

``MultiTaskEstimator(architecture=...)`` takes a name from :data:`ARCHITECTURES`
or an instance of one of these classes; hyper-parameters are grid-searchable as
``architecture__<name>``. This package only builds networks:
:func:`sklearn_mtl.inspection.gate_weights` and
:func:`sklearn_mtl.inspection.stitch_weights` show what a fitted soft-sharing
architecture learned.
"""

from ._base import BaseArchitecture
from .cgc import CGC
from .cross_stitch import CrossStitch
from .mmoe import MMoE
from .ple import PLE
from .shared import SharedBottom

#: Registry: name accepted by ``architecture=`` -> class.
ARCHITECTURES = {
    "shared": SharedBottom,
    "mmoe": MMoE,
    "cgc": CGC,
    "ple": PLE,
    "cross_stitch": CrossStitch,
}

__all__ = [
    "ARCHITECTURES",
    "BaseArchitecture",
    "CGC",
    "CrossStitch",
    "MMoE",
    "PLE",
    "SharedBottom",
]
