"""Hard parameter sharing: one trunk for every task."""

from torch import nn

from .._nn import make_mlp
from ._base import BaseArchitecture


class SharedBottom(BaseArchitecture):
    """Hard parameter sharing: one MLP trunk whose output feeds every head.

    The simplest and cheapest multi-task architecture, and the default
    (``architecture="shared"``). All tasks read the same representation, which
    regularises related tasks towards shared features and makes unrelated tasks
    compete for capacity.

    Parameter count: that of one MLP with ``hidden_layer_sizes`` plus the heads.

    See Also
    --------
    sklearn_mtl.MultiTaskEstimator : Uses this architecture by default.

    References
    ----------
    .. [1] R. Caruana, "Multitask Learning", Machine Learning 28, 41-75, 1997.

    Examples
    --------
    >>> from sklearn_mtl.architectures import SharedBottom
    >>> body = SharedBottom().build(5, ["a", "b"], hidden_layer_sizes=(8,),
    ...                             activation="relu", dropout=0.0)
    >>> body.out_features
    {'a': 8, 'b': 8}
    """

    def build(self, n_features, task_names, *, hidden_layer_sizes, activation, dropout):
        return _Trunk(n_features, task_names, hidden_layer_sizes, activation, dropout)


class _Trunk(nn.Module):
    shares_representation = True

    def __init__(self, n_features, task_names, hidden_layer_sizes, activation, dropout):
        super().__init__()
        self.layers, width = make_mlp(n_features, hidden_layer_sizes, activation, dropout)
        self.out_features = {name: width for name in task_names}

    def forward(self, x):
        return self.layers(x)

    def shared_parameters(self):
        return list(self.parameters())
