"""Static weighting: the user's fixed task weights."""

from ._base import LossWeighting


class StaticWeighting(LossWeighting):
    """Fixed weights: minimise ``sum_t w_t * L_t`` with ``w = task_weights``.

    The default strategy. The weights are the estimator's ``task_weights``
    (1.0 for a task not named there), constant through training and
    grid-searchable as ``task_weights__<task>``.

    Cost per step: one backward pass; no extra memory.

    See Also
    --------
    sklearn_mtl.MultiTaskEstimator : Its ``task_weights`` parameter.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import StaticWeighting
    >>> s = StaticWeighting().initialize(["a", "b"], torch.tensor([1.0, 0.5]), "cpu")
    >>> total, weights = s.combine(torch.tensor([2.0, 4.0]), torch.tensor([True, True]))
    >>> float(total)
    4.0
    """

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        # Weights of 1 (the default) need no multiply: the same sum, two fewer
        # kernels per step in the forward and backward pass.
        self.unit_weights_ = bool((self.base_weights_ == 1).all())
        self.weight_values_ = self.base_weights_.tolist()
        return self

    def combine(self, losses, present):
        if self.unit_weights_:
            return losses.sum(), self.base_weights_
        return (self.base_weights_ * losses).sum(), self.base_weights_

    def weighted_sum(self, losses):
        """``sum_t w_t * L_t`` of a list of scalar losses, added term by term.

        What :meth:`combine` computes from the stacked losses, for the engine's
        step on a fully labelled batch: in the backward pass additions cost
        less than a stack and a sum. A weight of 1 needs no multiply.

        Parameters
        ----------
        losses : list of torch.Tensor
            One scalar per task, in task order.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        total = None
        for weight, loss in zip(self.weight_values_, losses):
            term = loss if weight == 1 else loss * weight
            total = term if total is None else total + term
        return total
