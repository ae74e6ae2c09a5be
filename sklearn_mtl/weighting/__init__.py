"""Task-weighting strategies: how the task losses become one training signal.

``MultiTaskEstimator(weighting=...)`` takes a name from :data:`WEIGHTINGS` or an
instance of one of these classes. Loss-level strategies (subclasses of
:class:`LossWeighting`: ``static``, ``uncertainty``, ``dwa``, ``rlw``, ``famo``)
cost one backward pass per step; gradient-level ones (subclasses of
:class:`GradientWeighting`: ``gradnorm``, ``pcgrad``, ``mgda``, ``cagrad``,
``imtl``, ``nash``) combine per-task gradients of the shared parameters,
several of them through torchjd's Gramian weightings.
"""

from ._base import BaseWeighting, GradientWeighting, LossWeighting, task_gradients
from .cagrad import CAGradWeighting
from .dwa import DWAWeighting
from .famo import FAMOWeighting
from .gradnorm import GradNormWeighting
from .imtl import IMTLWeighting
from .mgda import MGDAWeighting
from .nash import NashMTLWeighting
from .pcgrad import PCGradWeighting
from .rlw import RLWWeighting
from .static import StaticWeighting
from .uncertainty import UncertaintyWeighting

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
}

__all__ = [
    "WEIGHTINGS",
    "BaseWeighting",
    "CAGradWeighting",
    "DWAWeighting",
    "FAMOWeighting",
    "GradNormWeighting",
    "GradientWeighting",
    "IMTLWeighting",
    "LossWeighting",
    "MGDAWeighting",
    "NashMTLWeighting",
    "PCGradWeighting",
    "RLWWeighting",
    "StaticWeighting",
    "UncertaintyWeighting",
    "task_gradients",
]
