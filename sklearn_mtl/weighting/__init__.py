"""Task-weighting strategies: how the task losses become one training signal.

``MultiTaskEstimator(weighting=...)`` takes a name from :data:`WEIGHTINGS` or an
instance of one of these classes. Loss-level strategies (subclasses of
:class:`LossWeighting`: ``static``, ``uncertainty``, ``dwa``, ``rlw``, ``famo``)
cost one backward pass per step; gradient-level ones (subclasses of
:class:`GradientWeighting`: ``gradnorm``, ``pcgrad``, ``mgda``, ``cagrad``,
``imtl``, ``nash``, ``upgrad``, ``dualproj``, ``aligned_mtl``, ``gradvac``,
``config``, ``fairgrad``, ``db_mtl``) combine per-task gradients of the shared
parameters, several of them through torchjd's Gramian weightings.
"""

from ._base import BaseWeighting, GradientWeighting, LossWeighting, task_gradients
from .aligned_mtl import AlignedMTLWeighting
from .cagrad import CAGradWeighting
from .config import ConFIGWeighting
from .db_mtl import DBMTLWeighting
from .dualproj import DualProjWeighting
from .dwa import DWAWeighting
from .fairgrad import FairGradWeighting
from .famo import FAMOWeighting
from .gradnorm import GradNormWeighting
from .gradvac import GradVacWeighting
from .imtl import IMTLWeighting
from .mgda import MGDAWeighting
from .nash import NashMTLWeighting
from .pcgrad import PCGradWeighting
from .rlw import RLWWeighting
from .static import StaticWeighting
from .uncertainty import UncertaintyWeighting
from .upgrad import UPGradWeighting

#: Registry: name accepted by ``weighting=`` -> class.
WEIGHTINGS = {
    "static": StaticWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DWAWeighting,
    "rlw": RLWWeighting,
    "famo": FAMOWeighting,
    "gradnorm": GradNormWeighting,
    "pcgrad": PCGradWeighting,
    "mgda": MGDAWeighting,
    "cagrad": CAGradWeighting,
    "imtl": IMTLWeighting,
    "nash": NashMTLWeighting,
    "upgrad": UPGradWeighting,
    "dualproj": DualProjWeighting,
    "aligned_mtl": AlignedMTLWeighting,
    "gradvac": GradVacWeighting,
    "config": ConFIGWeighting,
    "fairgrad": FairGradWeighting,
    "db_mtl": DBMTLWeighting,
}

__all__ = [
    "WEIGHTINGS",
    "AlignedMTLWeighting",
    "BaseWeighting",
    "CAGradWeighting",
    "ConFIGWeighting",
    "DBMTLWeighting",
    "DWAWeighting",
    "DualProjWeighting",
    "FAMOWeighting",
    "FairGradWeighting",
    "GradNormWeighting",
    "GradVacWeighting",
    "GradientWeighting",
    "IMTLWeighting",
    "LossWeighting",
    "MGDAWeighting",
    "NashMTLWeighting",
    "PCGradWeighting",
    "RLWWeighting",
    "StaticWeighting",
    "UPGradWeighting",
    "UncertaintyWeighting",
    "task_gradients",
]
