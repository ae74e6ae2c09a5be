"""Ordinal tasks: ordered classes, learned with rank-consistent thresholds (CORAL)."""

import numpy as np
import pandas as pd
import torch

from ._base import ClassificationTask, check_known, check_two_classes


class OrdinalTask(ClassificationTask):
    """Ordered classes ``c_0 < c_1 < ... < c_{K-1}``, one CORAL head.

    The head computes one score ``g(x)`` (a weight vector shared by the
    thresholds) and ``K - 1`` logits ``g(x) + b_k`` of ``P(y > c_k)``; the
    loss is the sum over ``k`` of the binary cross-entropies of those
    logits against ``[y > c_k]`` (Cao, Mirjalili and Raschka, 2020). The
    thresholds ``b_k`` are kept strictly decreasing by construction, so the
    ``P(y > c_k)`` decrease with ``k`` at every step of training: the class
    probabilities ``P(y = c_k) = P(y > c_{k-1}) - P(y > c_k)`` are never
    negative and sum to 1. :meth:`predict` follows the paper: the predicted
    rank is the number of ``k`` with ``P(y > c_k) > 0.5``, the median of the
    predicted distribution (which minimises the expected absolute rank
    error, and unlike the most probable class never skips a middle class
    whose thresholds are still close early in training).

    Parameters
    ----------
    name : str
    loss : str or None
        ``"coral"``, the only loss.
    order : list or None
        The classes from lowest to highest; None means the sorted labels.
    """

    type_name = "ordinal"
    losses = ("coral",)
    output_layer = "ordinal"
    link = "logit"

    def __init__(self, name, loss=None, order=None):
        super().__init__(name, loss)
        self.order = order

    def fit(self, values, standardize):
        if self.order is None:
            return super().fit(values, standardize)
        name, classes = self.name, np.asarray(self.order)
        if len(pd.unique(classes)) != len(classes):
            raise ValueError(
                f"The order of ordinal task '{name}' repeats a label: {classes.tolist()}; "
                "give each level once, from lowest to highest."
            )
        check_two_classes(name, classes)
        outside = pd.Index(classes).get_indexer(np.asarray(values)) < 0
        if outside.any():
            raise ValueError(
                f"Task '{name}' has labels {sorted(set(values[outside].tolist()))[:10]} that "
                f"are not in its declared order {classes.tolist()}; add them to the order "
                "in tasks=, from lowest to highest."
            )
        self.classes_ = classes
        return self

    def encode(self, values):
        if self.order is None:
            return super().encode(values)
        codes = pd.Index(self.classes_).get_indexer(np.asarray(values))
        check_known(self.name, self.classes_, values, codes < 0)
        return codes.astype(np.float32)

    @property
    def n_outputs(self):
        return len(self.classes_) - 1

    def loss(self, output, target):
        thresholds = torch.arange(output.shape[1], device=output.device)
        above = (target[:, None] > thresholds).to(output.dtype)
        return torch.nn.functional.binary_cross_entropy_with_logits(
            output, above, reduction="none"
        ).sum(dim=1)

    def proba(self, output):
        above = torch.sigmoid(output)
        ones = torch.ones_like(above[:, :1])
        upper = torch.cat([ones, above], dim=1)
        lower = torch.cat([above, torch.zeros_like(ones)], dim=1)
        # Decreasing by construction; the clamp only absorbs rounding.
        return (upper - lower).clamp_min(0)

    def codes(self, output):
        return (output > 0).sum(dim=1)

    def __repr__(self):
        order = "" if self.order is None else f", order={list(self.order)!r}"
        return f"{type(self).__name__}({self.name!r}, loss={self.loss_name!r}{order})"
