"""The network's heads: a bare head's output layer called directly gives the head's outputs."""

import copy

import pytest
import torch

from sklearn_mtl._nn import MultiTaskNetwork
from sklearn_mtl._nn._network import stacked_linear
from sklearn_mtl.architectures import SharedBottom


def network(head_hidden_sizes, output_layers):
    torch.manual_seed(0)
    names = ["a", "b", "c"]
    body = SharedBottom().build(5, names, hidden_layer_sizes=(8,), activation="relu", dropout=0.0)
    return MultiTaskNetwork(body, names, [1, 3, 2], head_hidden_sizes, "relu", 0.0, output_layers)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("head_hidden_sizes", [(), (4,)])
@pytest.mark.parametrize(
    "output_layers", [None, ["linear", "ordinal", "quantile"]], ids=["linear", "every kind"]
)
def test_forward_gives_each_heads_own_outputs(head_hidden_sizes, output_layers, training):
    net = network(head_hidden_sizes, output_layers).train(training)
    assert all(head.bare for head in net.heads) == (head_hidden_sizes == ())
    x = torch.randn(300, 5)
    outputs = net(x)
    representation = net.represent(x)
    # In evaluation, linear heads are one stacked product: equal up to rounding.
    stacked = not training and head_hidden_sizes == () and output_layers is None
    atol = 1e-6 if stacked else 0
    for name, head in zip(net.task_names, net.heads):
        torch.testing.assert_close(outputs[name], head(representation), rtol=0, atol=atol)


def test_stacked_linear_heads_match_the_heads_on_many_rows_and_in_a_row():
    net = network((), None).eval()
    x = torch.randn(5000, 5) * 10
    representation = net.represent(x)
    outputs = stacked_linear(representation, [head.output for head in net.heads])
    for out, head in zip(outputs, net.heads):
        expected = head.output(representation)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        (one_row,) = stacked_linear(representation[:1], [head.output])
        torch.testing.assert_close(one_row, expected[:1])


def test_heads_pickled_without_the_bare_flag_take_the_general_path():
    net = network((), None)
    old = copy.deepcopy(net)
    for head in old.heads:
        del head.bare  # as unpickled from a version before the flag: the class's False
    assert not any(head.bare for head in old.heads)
    x = torch.randn(16, 5)
    new_outputs, old_outputs = net(x), old(x)
    for name in net.task_names:
        torch.testing.assert_close(new_outputs[name], old_outputs[name], rtol=0, atol=0)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_hooks_on_a_bare_heads_output_layer_still_see_every_call(training):
    net = network((), None).train(training)
    seen = []
    for head in net.heads:
        head.output.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    net(torch.randn(16, 5))
    assert seen == [(16, 1), (16, 3), (16, 2)]


def test_a_global_forward_hook_sees_each_head_in_evaluation_too():
    net = network((), None).eval()
    outputs = {head.output for head in net.heads}
    seen = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: seen.append(out.shape) if module in outputs else None
    )
    try:
        net(torch.randn(16, 5))
    finally:
        handle.remove()
    assert seen == [(16, 1), (16, 3), (16, 2)]


def test_a_head_replaced_by_another_module_is_called_as_it_is():
    net = network((), None)
    net.heads[1] = torch.nn.Sequential(torch.nn.Linear(8, 3), torch.nn.Tanh())
    outputs = net(torch.randn(16, 5))
    assert outputs["b"].shape == (16, 3)
    assert outputs["b"].abs().max() <= 1  # the replacement's Tanh ran


@pytest.mark.parametrize("architecture", ["SharedBottom", "MMoE", "PLE", "CGC", "CrossStitch"])
@pytest.mark.parametrize("ensemble_size", [1, 3])
def test_relu_in_place_trains_as_relu_out_of_place(architecture, ensemble_size):
    from sklearn_mtl import architectures
    from sklearn_mtl._nn import MemberInputs

    torch.manual_seed(0)
    names = ["a", "b"]
    body = getattr(architectures, architecture)().build(
        6, names, hidden_layer_sizes=(8, 8), activation="relu", dropout=0.1
    )
    members = MemberInputs(ensemble_size, [1] * 6, "random-signs") if ensemble_size > 1 else None
    in_place = MultiTaskNetwork(body, names, [1, 3], (4,), "relu", 0.1, members=members)
    relus = [m for m in in_place.modules() if isinstance(m, torch.nn.ReLU)]
    assert relus and all(relu.inplace for relu in relus)
    out_of_place = copy.deepcopy(in_place)
    for module in out_of_place.modules():
        if isinstance(module, torch.nn.ReLU):
            module.inplace = False
    x = torch.randn(32, 6)
    for net in (in_place, out_of_place):
        optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
        torch.manual_seed(1)  # the same dropout masks
        for _ in range(3):
            loss = sum((out - 1).square().mean() for out in net(x).values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    for trained, reference in zip(in_place.parameters(), out_of_place.parameters()):
        assert torch.equal(trained, reference)
