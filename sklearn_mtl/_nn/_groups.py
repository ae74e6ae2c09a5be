"""Task groups: one body per group of tasks, side by side in one network.

:class:`GroupedBody` holds the bodies an architecture built for each group
(``task_groups``) and returns each task the representation of its group's body.
"""

from torch import nn


class GroupedBody(nn.Module):
    """One architecture body per group of tasks; a task reads its group's body only.

    Parameters
    ----------
    bodies : list of nn.Module
        One body per group, each built for that group's tasks (see
        :class:`~sklearn_mtl.architectures.BaseArchitecture`).
    groups : list of list of str
        The partition of the tasks, in the order of ``bodies``.

    Notes
    -----
    ``shared_parameters()`` are those that several tasks depend on: the
    shared parameters of the bodies of groups of two tasks or more. A body
    of one task is that task's own, like a head.
    """

    def __init__(self, bodies, groups):
        super().__init__()
        self.bodies = nn.ModuleList(bodies)
        self.groups = [list(group) for group in groups]
        self.out_features = {}
        for body, group in zip(self.bodies, self.groups):
            self.out_features.update({name: body.out_features[name] for name in group})

    def forward(self, x):
        representation = {}
        for body, group in zip(self.bodies, self.groups):
            out = body(x)
            if isinstance(out, dict):
                representation.update({name: out[name] for name in group})
            else:
                representation.update(dict.fromkeys(group, out))
        return representation

    def shared_parameters(self):
        return [
            parameter
            for body, group in zip(self.bodies, self.groups)
            if len(group) > 1
            for parameter in body.shared_parameters()
        ]
