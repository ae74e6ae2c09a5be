"""The torch modules: every ``nn.Module`` of the network outside the plugin families.

- ``_inputs``: the input layer (numeric columns scaled and embedded, missing
  values flagged, categorical columns one-hot or embedded);
- ``_network``: MLP blocks, task heads and :class:`MultiTaskNetwork`;
- ``_ensemble``: efficient ensembles (TabM-mini members sharing one body);
- ``_groups``: task groups, one body per group side by side;
- ``_loss``: the masked multi-task loss; ``_state``: copies of parameters.
"""

from ._ensemble import LINKS, MemberInputs, average_members
from ._groups import GroupedBody
from ._inputs import FeatureLayer
from ._loss import MultiTaskLoss
from ._network import (
    ACTIVATIONS,
    Head,
    MultiTaskNetwork,
    OrdinalOutput,
    QuantileOutput,
    hidden_blocks,
    make_mlp,
)
from ._state import restore, snapshot

__all__ = [
    "ACTIVATIONS",
    "LINKS",
    "FeatureLayer",
    "GroupedBody",
    "Head",
    "MemberInputs",
    "MultiTaskLoss",
    "MultiTaskNetwork",
    "OrdinalOutput",
    "QuantileOutput",
    "average_members",
    "hidden_blocks",
    "make_mlp",
    "restore",
    "snapshot",
]
