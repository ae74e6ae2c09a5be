"""The base class of architectures."""

from sklearn.base import BaseEstimator


class BaseArchitecture(BaseEstimator):
    """Base class of multi-task architectures.

    An architecture is a parameter object: its ``__init__`` stores
    hyper-parameters (grid-searchable as ``architecture__<name>``), and
    :meth:`build` makes a fresh torch *body* for one fit. The estimator puts one
    head per task on top of the body (:class:`sklearn_mtl._nn.MultiTaskNetwork`).

    A body is an ``nn.Module`` whose ``forward(x)`` returns either one tensor
    (a representation every task reads, as in hard parameter sharing) or a dict
    ``{task: tensor}``, and which has:

    - ``out_features``: dict task -> width of that task's representation;
    - ``shared_parameters()``: the parameters more than one task depends on
      (gradient-level weighting strategies work on these);
    - optionally ``shares_representation = True`` when ``forward`` returns one
      tensor for all tasks (strategies such as MGDA-UB then work on it).

    To add an architecture, subclass this in a new file and add one line to the
    registry in ``sklearn_mtl/architectures/__init__.py``.
    """

    def build(self, n_features, task_names, *, hidden_layer_sizes, activation, dropout):
        """Make a fresh body.

        Parameters
        ----------
        n_features : int
            Width of the input.
        task_names : list of str
            The tasks, in order.
        hidden_layer_sizes : tuple of int
            The estimator's ``hidden_layer_sizes``: the shared trunk, or the
            default size of experts / columns for other architectures.
        activation : str
            Activation name.
        dropout : float
            Dropout after each hidden layer.

        Returns
        -------
        body : torch.nn.Module
        """
        raise NotImplementedError
