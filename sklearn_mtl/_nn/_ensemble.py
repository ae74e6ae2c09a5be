"""Efficient ensembles (TabM-mini): ``k`` members sharing one body, each with its own heads.

Each row's input vector is copied ``k`` times, each copy scaled by its
member's learned scaling (:class:`MemberInputs`), and the copies go through
the body as rows of the batch, so every architecture runs them unchanged. In
training each member's loss counts; in evaluation the network returns the
members' average (:func:`average_members`).
"""

import math

import tabm
import torch
from torch import nn
from torch.nn import functional as F

#: How a task type's raw output relates to the quantity its members average:
#: ``"identity"`` (values), ``"log"`` (the log of an expected count),
#: ``"logit"`` (independent sigmoid probabilities: binary, multilabel, CORAL's
#: thresholds) or ``"softmax"`` (one distribution over classes).
LINKS = ("identity", "log", "logit", "softmax")


class MemberInputs(nn.Module):
    """``(batch, d)`` to ``(batch * k, d)``: ``k`` scaled copies of each row, row-major.

    Row ``i``'s copy for member ``m`` is row ``i * k + m``, the row times
    member ``m``'s scaling (``tabm.ElementwiseAffine`` without bias, TabM's
    initialisation: one random value per input column's part, random signs,
    or normal values after a numeric embedding).

    Parameters
    ----------
    k : int
        Number of members.
    feature_widths : list of int
        Width of each input column's part of a row (they sum to ``d``).
    scaling_init : {"random-signs", "normal"}
    """

    def __init__(self, k, feature_widths, scaling_init):
        super().__init__()
        self.k = k
        self.view = tabm.EnsembleView(k=k)
        self.scaling = tabm.ElementwiseAffine(
            (k, sum(feature_widths)),
            bias=False,
            scaling_init=scaling_init,
            scaling_init_chunks=list(feature_widths),
        )

    def forward(self, x):
        return self.scaling(self.view(x)).flatten(0, 1)


def split_members(x, k):
    """``(batch * k, ...)`` rows, member-minor, as ``(batch, k, ...)``."""
    return x.unflatten(0, (-1, k))


def average_members(output, link):
    """Members' outputs ``(batch, k, n)`` to the raw output of their average ``(batch, n)``.

    The average is taken of what each member predicts (see :data:`LINKS`),
    and returned on the raw-output scale, so that a task type reads it like
    one network's output: the logit of the mean probability, the log of the
    mean expected count. Computed in log space (``logsumexp``), which cannot
    overflow.
    """
    if link == "identity":
        return output.mean(dim=1)
    log_k = math.log(output.shape[1])
    if link == "log":
        return torch.logsumexp(output, dim=1) - log_k
    if link == "softmax":
        return torch.logsumexp(F.log_softmax(output, dim=-1), dim=1) - log_k
    if link == "logit":
        # log mean p - log mean (1 - p), both in one reduction.
        both = torch.logsumexp(torch.stack([F.logsigmoid(output), F.logsigmoid(-output)]), dim=2)
        return both[0] - both[1]
    raise ValueError(f"Unknown link {link!r}; expected one of {LINKS}.")


def member_linear(k):
    """A ``linear(n_in, n_out, bias=True)`` factory: ``nn.Linear``, or ``k`` of them."""
    if k == 1:
        return nn.Linear
    return lambda n_in, n_out, bias=True: tabm.LinearEnsemble(n_in, n_out, bias, k=k)
