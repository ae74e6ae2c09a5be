"""The fitted network and each task's decoding as one torch module, and its ONNX graph.

:func:`export_network` traces :class:`TaskPredictions` with torch's ONNX
exporter, which follows whatever modules the network holds, so a new input
layer, architecture or head exports without new code here; :func:`insert_graph`
copies that graph into the one skl2onnx is building.
"""

import contextlib
import copy
import importlib
import logging
import threading
import warnings

import torch
from onnx import AttributeProto, helper, numpy_helper
from torch import nn

from .._nn import average_members, restore
from .._tasks import ClassificationTask, CountTask, MultilabelTask, RegressionTask, level_weights

#: ONNX opset of the exported graph: the lowest torch's exporter writes
#: (onnxruntime runs it from version 1.14 on).
OPSET = 18


def output_kind(name, task):
    """What task ``name`` predicts in the graph: ``"labels"``, ``"multilabel"`` or ``"values"``.

    Raises a ``ValueError`` for a task type the export does not know.
    """
    if isinstance(task, MultilabelTask):
        return "multilabel"
    if isinstance(task, ClassificationTask):
        return "labels"
    if isinstance(task, (RegressionTask, CountTask)):
        return "values"
    raise ValueError(
        f"Task {name!r} is of type {type(task).__name__}, which to_onnx cannot export yet; "
        "drop the task from the model, or export its network with torch.onnx.export."
    )


def _decode(task, output):
    """A task's predictions from its raw output, as in ``predict`` / ``predict_proba``.

    Class codes (indices into ``classes``; a multilabel task's 0/1 matrix) and
    float64 probabilities, or float64 values in the target's units (and a
    quantile head's quantiles).
    """
    if isinstance(task, MultilabelTask):
        return (output > 0).long(), task.proba(output.double())
    if isinstance(task, ClassificationTask):
        return task.codes(output), task.proba(output.double())
    if isinstance(task, CountTask):
        return (torch.exp(output[:, 0].double()) * task.scale_,)
    if task.quantiles is not None:
        quantiles = output.double() * task.scale_ + task.mean_
        median = torch.from_numpy(level_weights(task.quantiles, 0.5))
        return quantiles @ median, quantiles
    return (output[:, 0].double() * task.scale_ + task.mean_,)


class TaskPredictions(nn.Module):
    """A fitted estimator's network and decoding: encoded features in, predictions out.

    ``forward(features)`` takes the float32 matrix the network reads (see
    :mod:`sklearn_mtl._features`) and returns a flat tuple: per task, in
    order, its class codes and probabilities (classification) or its values
    (regression, count; then a quantile head's quantiles). After
    ``early_stopping="per_task"``, each task reads a copy of the network
    holding its own best epoch's parameters, and with ``n_bags > 1`` the
    average of every bag's network, as ``predict`` does.

    Parameters
    ----------
    estimator : MultiTaskEstimator
        Fitted; read, not modified (the networks are copied to the CPU).
    """

    def __init__(self, estimator):
        super().__init__()
        predictor = estimator._predictor
        self.networks = nn.ModuleList()
        self.networks_of = {name: [] for name in predictor.tasks}
        for bag, net in enumerate(predictor.nets):
            for _, state, names in predictor.task_states(bag=bag):
                network = copy.deepcopy(net.module_).cpu()
                if state is not None:
                    restore(network, state)
                for name in names:
                    self.networks_of[name].append(len(self.networks))
                self.networks.append(network)
        self.tasks = list(predictor.tasks.items())
        self.eval()

    def forward(self, features):
        outputs = [network(features) for network in self.networks]
        predictions = []
        for name, task in self.tasks:
            bags = [outputs[i][name] for i in self.networks_of[name]]
            output = bags[0] if len(bags) == 1 else average_members(torch.stack(bags, 1), task.link)
            predictions.extend(_decode(task, output))
        return tuple(predictions)


def export_network(module, n_features):
    """``module`` (a :class:`TaskPredictions`) as an ONNX model with a dynamic batch size.

    Its input, ``features``, is the float32 ``(batch, n_features)`` matrix;
    its outputs are ``forward``'s, in order.
    """
    sample = torch.zeros(2, n_features)
    with _quiet(), _operator_table_once(), torch.no_grad():
        program = torch.onnx.export(
            module,
            (sample,),
            dynamo=True,
            opset_version=OPSET,
            input_names=["features"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            verbose=False,
        )
    return program.model_proto


#: onnxscript's table of ATen operators, as its ``get_torchlib_ops`` returns it.
_OPERATOR_TABLE = []
#: Held while an export reads the table through the substitute below.
_EXPORTING = threading.Lock()


@contextlib.contextmanager
def _operator_table_once():
    """Let torch's exporter build onnxscript's operator table once per process.

    ``torch.onnx.export`` asks onnxscript for its table of ATen operators on every
    call, and onnxscript rebuilds it each time (about 0.3 s of the 1.1-1.4 s of
    a repeated small export); the table depends only on the installed
    onnxscript. For the duration of the export, the function torch calls
    returns the first call's table; it is restored afterwards (exports run one
    at a time, so that two threads cannot restore each other's substitute).
    Where torch or onnxscript is laid out differently, the export runs as it
    is.
    """
    try:
        from torch.onnx._internal._lazy_import import onnxscript_apis

        apis = importlib.import_module(onnxscript_apis.__name__)
        build = apis.get_torchlib_ops
    except (ImportError, AttributeError):
        yield
        return

    def table():
        if not _OPERATOR_TABLE:
            _OPERATOR_TABLE.extend(build())
        return list(_OPERATOR_TABLE)

    with _EXPORTING:
        apis.get_torchlib_ops = table
        try:
            yield
        finally:
            apis.get_torchlib_ops = build


@contextlib.contextmanager
def _quiet():
    """Silence the exporter's notices (optional torchvision operators, deprecations)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"(torch|onnxscript|onnx_ir)(\.|$)")
            # torch's own deprecations, raised from the modules it calls (copyreg).
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


def insert_graph(scope, container, model, inputs, outputs):
    """Copy ``model``'s graph into skl2onnx's ``container``, wired to the names given.

    ``inputs`` and ``outputs`` name, in order, the variables that the graph's
    inputs and outputs become; every other tensor and node gets a fresh name
    from ``scope``.
    """
    if model.functions:
        raise ValueError(
            "The network's ONNX graph holds local functions, which to_onnx cannot copy; "
            "please report this with the model's parameters."
        )
    graph = model.graph
    names = {old.name: new for old, new in zip(graph.input, inputs)}
    names.update({old.name: new for old, new in zip(graph.output, outputs)})

    def rename(name):
        if name and name not in names:
            names[name] = scope.get_unique_variable_name(f"net_{name}")
        return names.get(name, name)

    versions = {opset.domain: opset.version for opset in model.opset_import}
    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        content = numpy_helper.from_array(array)
        container.add_initializer(rename(tensor.name), tensor.data_type, list(array.shape), content)
    for node in graph.node:
        op_type, node_inputs = _without_omitted_inputs(node)
        container.add_node(
            op_type,
            [rename(name) for name in node_inputs],
            [rename(name) for name in node.output],
            op_domain=node.domain,
            op_version=versions[node.domain],
            name=scope.get_unique_operator_name(f"net_{node.op_type}"),
            **_attributes(node),
        )


def _without_omitted_inputs(node):
    """``(op_type, inputs)`` of ``node`` with no omitted (``""``) optional input.

    skl2onnx's container cannot order a node with an input named ``""``. Trailing
    ones are dropped; a clip with one bound omitted (``clamp_max`` / ``clamp_min``,
    as in a piecewise-linear numeric embedding) becomes ``Min`` / ``Max``.
    """
    inputs = list(node.input)
    while inputs and not inputs[-1]:
        inputs.pop()
    if node.op_type == "Clip" and len(inputs) == 3 and not inputs[1]:
        return "Min", [inputs[0], inputs[2]]
    if "" in inputs:
        raise ValueError(
            f"The network's ONNX graph has a {node.op_type} node with an omitted input, which "
            "to_onnx cannot copy; please report this with the model's parameters."
        )
    return node.op_type, inputs


def _attributes(node):
    """A node's attributes as Python values, for ``container.add_node``."""
    attributes = {}
    for attribute in node.attribute:
        if attribute.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
            raise ValueError(
                f"The network's ONNX graph has control flow ({node.op_type}), which to_onnx "
                "cannot copy; please report this with the model's parameters."
            )
        value = helper.get_attribute_value(attribute)
        # An empty list has no type of its own to write back; ONNX reads an
        # empty list attribute as an absent one.
        if not (isinstance(value, list) and not value):
            attributes[attribute.name] = value
    return attributes
