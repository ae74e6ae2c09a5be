"""Dynamic weight average (Liu, Johns & Davison, 2019)."""

import numbers

import torch
from sklearn.utils._param_validation import Interval

from ._base import LossWeighting


class DWAWeighting(LossWeighting):
    """Weigh tasks by how slowly their loss has been falling.

    At epoch ``k`` (from the third on), with ``r_t = L_t(k-1) / L_t(k-2)`` the
    ratio of task ``t``'s mean training loss over the last two epochs,

    .. math:: \\lambda_t(k) = T \\frac{\\exp(r_t / \\tau)}{\\sum_i \\exp(r_i / \\tau)}

    so a task whose loss stalls (``r_t`` near 1 or above) gets more weight
    than one whose loss drops fast. The first two epochs use weight 1.

    Parameters
    ----------
    temperature : float, default=2.0
        ``tau``: large values flatten the weights towards 1; small values
        sharpen them towards the slowest task.

    Attributes
    ----------
    loss_history_ : list of torch.Tensor
        The last two epochs' mean training losses.
    weights_ : torch.Tensor of shape (n_tasks,)
        The weights in force for the current epoch.

    See Also
    --------
    UncertaintyWeighting : Learns the weights by gradient descent instead.

    Notes
    -----
    Cost per step: one backward pass, as ``static``; the weights change only
    at the end of an epoch, from the per-epoch losses the engine already
    records.

    The user's ``task_weights`` multiply the DWA weights. A task with no
    labelled row in an epoch (mean loss 0) or a non-finite ratio gets
    ``r_t = 1``.

    References
    ----------
    .. [1] S. Liu, E. Johns, A. J. Davison, "End-to-End Multi-Task Learning
       with Attention", CVPR 2019.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtl.weighting import DWAWeighting
    >>> s = DWAWeighting(temperature=1.0).initialize(["a", "b"], torch.ones(2), "cpu")
    >>> s.on_epoch_end(torch.tensor([1.0, 1.0]))
    >>> s.on_epoch_end(torch.tensor([0.5, 1.0]))  # task "a" halved, "b" stalled
    >>> s.weights_
    tensor([0.7551, 1.2449])
    """

    _parameter_constraints = {
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
    }

    def __init__(self, temperature=2.0):
        self.temperature = temperature

    def initialize(self, task_names, base_weights, device):
        super().initialize(task_names, base_weights, device)
        self.loss_history_ = []
        return self

    def combine(self, losses, present):
        return (self.weights_ * losses).sum(), self.weights_

    def backward(self, losses, *, present, network, representation=None):
        total, weights = self.combine(losses, present)
        total.backward()
        return weights

    def on_epoch_end(self, train_losses):
        self.loss_history_ = [*self.loss_history_, train_losses.detach()][-2:]
        if len(self.loss_history_) < 2:
            return
        previous, last = self.loss_history_
        ratio = last / previous
        ratio = torch.where(torch.isfinite(ratio) & (last > 0), ratio, torch.ones_like(ratio))
        n_tasks = ratio.shape[0]
        self.weights_ = self.base_weights_ * n_tasks * torch.softmax(ratio / self.temperature, 0)
