"""Binary and multiclass tasks: one label per row out of unordered classes."""

import torch

from ._base import ClassificationTask


class BinaryTask(ClassificationTask):
    """Two classes; one logit per row and the binary cross-entropy loss."""

    type_name = "binary"
    link = "logit"

    def fit(self, values, standardize):
        super().fit(values, standardize)
        if len(self.classes_) > 2:
            raise ValueError(
                f"Task '{self.name}' is declared 'binary' but has {len(self.classes_)} classes "
                f"{self.classes_[:10].tolist()}; declare it 'multiclass'."
            )
        return self

    @property
    def n_outputs(self):
        return 1

    def loss(self, output, target):
        return torch.nn.functional.binary_cross_entropy_with_logits(
            output[:, 0], target, reduction="none"
        )

    def mean_loss(self, output, target):
        return torch.nn.functional.binary_cross_entropy_with_logits(output[:, 0], target)

    def codes(self, output):
        return (output[:, 0] > 0).long()

    def proba(self, output):
        p = torch.sigmoid(output[:, 0])
        return torch.stack([1 - p, p], dim=1)


class MulticlassTask(ClassificationTask):
    """Three or more classes; one logit per class and the cross-entropy loss."""

    type_name = "multiclass"
    link = "softmax"

    def loss(self, output, target):
        return torch.nn.functional.cross_entropy(output, target.long(), reduction="none")

    def mean_loss(self, output, target):
        return torch.nn.functional.cross_entropy(output, target.long())

    def codes(self, output):
        return output.argmax(dim=1)

    def proba(self, output):
        return torch.softmax(output, dim=1)
