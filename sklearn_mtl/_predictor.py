"""The fitted model's prediction side: encoded features to each task's outputs and answers."""

import copy
import math
import threading

import torch

from ._nn import average_members, restore
from ._tasks import class_probabilities, scored_rows
from ._training import INFERENCE_BATCH_SIZE, inference_batches, limit_torch_threads

#: Held while a copy of a network is made for a best epoch's parameters.
_COPYING = threading.Lock()


class Predictor:
    """What predicting needs from a fit: the fitted tasks and the trained networks.

    Made at the end of ``fit`` (as HistGradientBoosting's grower makes its
    predictor). It reads the networks, never changes them, so that several
    threads may predict at once: after ``early_stopping="per_task"`` each
    best epoch's parameters live in a copy of the network of their own
    (made on first use), not swapped in and out of the shared one. With
    several bags (``n_bags``), each task's output is the average of the
    bags' predictions (:func:`~sklearn_mtl._nn.average_members`: their mean
    probabilities, values or expected counts) on its raw-output scale.

    Parameters
    ----------
    tasks : dict of str -> TaskType
        The fitted tasks, in order.
    nets : list of MultiTaskNet
        The fitted engines, one per bag (``net_`` is the first).
    """

    def __init__(self, tasks, nets):
        self.tasks = tasks
        self.nets = list(nets)
        for net in self.nets:
            net.module_.eval()

    @property
    def net(self):
        """The first bag's engine (the only one without bagging)."""
        return self.nets[0]

    def __getstate__(self):
        # The copies are rebuilt from the nets, whose pickling maps devices.
        return {key: value for key, value in vars(self).items() if key != "_networks"}

    def task_states(self, tasks=None, bag=0):
        """``(epoch, state, task names)`` triples: which tasks predict with which state.

        ``state`` is None for the network's own parameters, else a
        :func:`~sklearn_mtl._nn.snapshot` kept by per-task early stopping
        for the tasks whose best epoch ``epoch`` it is. ``tasks`` defaults to
        every task; ``bag`` picks the bag's net.
        """
        net = self.nets[bag]
        tasks = list(self.tasks) if tasks is None else list(tasks)
        states = getattr(net, "task_states_", {})
        best = getattr(net, "best_epochs_", None) or {}
        groups = {}
        for name in tasks:
            epoch = best.get(name)
            groups.setdefault(epoch if epoch in states else None, []).append(name)
        return [(epoch, states.get(epoch), names) for epoch, names in groups.items()]

    def _network(self, bag, epoch, state):
        """Bag ``bag``'s network holding ``state`` (the net's own for None), in evaluation mode."""
        module = self.nets[bag].module_
        if state is None:
            # eval() walks every submodule: not on each call of a small predict.
            return module.eval() if module.training else module
        networks = self.__dict__.setdefault("_networks", {})
        if (bag, epoch) not in networks:
            with _COPYING:  # threads that predict at once make one copy, not one each
                if (bag, epoch) not in networks:
                    network = copy.deepcopy(module)
                    restore(network, state)
                    networks[bag, epoch] = network.eval()
        return networks[bag, epoch]

    def outputs(self, X, tasks=None):
        """Raw outputs for encoded ``X`` (array, memory map or encoded rows), task -> CPU tensor.

        One forward pass per batch of rows (the net's ``inference_rows_``,
        measured in fit: 256 to 8,192) under ``torch.inference_mode()`` for all
        ``tasks`` (default: every task) that share a network state; the
        outputs stay on the device until the last batch, then move to the
        host once per task. With several bags, their average per task.
        """
        tasks = list(self.tasks) if tasks is None else list(tasks)
        device = self.net.device
        rows = getattr(self.net, "inference_rows_", None) or INFERENCE_BATCH_SIZE
        with limit_torch_threads(), torch.inference_mode():
            networks = [
                (self._network(bag, epoch, state), names)
                for bag in range(len(self.nets))
                for epoch, state, names in self.task_states(tasks, bag)
            ]
            # Each batch is read (and a DataFrame's rows encoded) once for every network.
            chunks = [[] for _ in networks]
            for batch in inference_batches(X, device, rows):
                for kept, (network, _) in zip(chunks, networks):
                    kept.append(network(batch))
            bags = {name: [] for name in tasks}
            for kept, (_, names) in zip(chunks, networks):
                for name in names:
                    # One batch (a few rows): its output as it is, not a copy.
                    outs = [out[name] for out in kept]
                    bags[name].append(outs[0] if len(outs) == 1 else torch.cat(outs))
            outputs = {name: average_bags(outs, self.tasks[name]) for name, outs in bags.items()}
        check_finite_outputs(outputs)
        return outputs

    def predictions(self, X, tasks=None):
        """Predictions of ``tasks`` (default: all) in the user's terms, task -> array."""
        outputs = self.outputs(X, tasks)
        return {name: self.tasks[name].predict(output) for name, output in outputs.items()}

    def probabilities(self, X, tasks=None):
        """Probabilities of the classification tasks among ``tasks`` (default: all)."""
        names = self.tasks if tasks is None else tasks
        classifiers = {name: self.tasks[name] for name in names if self.tasks[name].is_classifier}
        return class_probabilities(self.outputs(X, classifiers), classifiers)

    def quantiles(self, X, tasks=None):
        """Quantiles of the tasks with a quantile head among ``tasks`` (default: all)."""
        names = self.tasks if tasks is None else tasks
        heads = [name for name in names if self.tasks[name].quantiles is not None]
        outputs = self.outputs(X, heads)
        return {name: self.tasks[name].predict_quantiles(outputs[name]) for name in heads}

    def scores(self, X, targets, sample_weight=None):
        """Task -> default score over its labelled rows, for the tasks of ``targets``."""
        outputs = self.outputs(X, targets.names)
        scores = {}
        for task, rows in scored_rows(targets, X, sample_weight, self.tasks):
            y_pred = task.predict(outputs[task.name][torch.from_numpy(rows.mask)])
            scores[task.name] = float(task.score(rows.y_true, y_pred, rows.sample_weight))
        return scores


def average_bags(outputs, task):
    """The bags' raw outputs of ``task`` (each ``(n, ...)``) as one CPU tensor.

    One bag's output is returned as it is (float32); several are averaged as
    an ensemble's members are, by the task's link, in float64, so that the
    average adds no rounding of its own to the probabilities.
    """
    if len(outputs) == 1:
        return outputs[0].float().cpu()
    return average_members(torch.stack(outputs, dim=1).double(), task.link).cpu()


def has_quantile_task(estimator):
    """``available_if`` check of ``predict_quantiles``: unfitted, or fitted with a quantile head."""
    predictor = getattr(estimator, "_predictor", None)
    if predictor is not None and all(t.quantiles is None for t in predictor.tasks.values()):
        raise AttributeError(
            f"predict_quantiles needs a regression task fitted with a quantile loss; this "
            f"model's tasks {estimator.tasks_} have none. Fit with e.g. "
            "losses={'<task>': ('quantile', [0.05, 0.5, 0.95])}."
        )
    return True


def check_finite_outputs(outputs):
    """Raise, naming the task and rows, if a network output is NaN or infinite."""
    for name, output in outputs.items():
        # One reduction: a finite sum means finite entries (an overflowing sum
        # of finite entries falls through to the exact check), read as a float:
        # torch.isfinite would add a few kernels per task to a one-row predict.
        if math.isfinite(output.sum()):
            continue
        finite = torch.isfinite(output).reshape(len(output), -1).all(dim=1)
        if not finite.all():
            rows = torch.nonzero(~finite).flatten()[:10].tolist()
            raise ValueError(
                f"The network's outputs for task '{name}' are NaN or infinite on rows "
                f"{rows} of X: the network overflows float32 on them (its inputs are "
                "clipped, so its weights have grown too large). Refit with a lower lr "
                "or some weight_decay."
            )
