"""Copies of a network's parameters, kept and restored (early stopping's best epochs)."""

import itertools

import torch


def snapshot(module):
    """Copies of ``module``'s parameters and buffers, in ``parameters()`` order.

    A list, not a state dict: its keys would differ between a module and its
    data-parallel wrapper, their order does not.
    """
    return [t.detach().clone() for t in itertools.chain(module.parameters(), module.buffers())]


def restore(module, state):
    """Copy a :func:`snapshot` back into ``module``."""
    with torch.no_grad():
        for target, saved in zip(itertools.chain(module.parameters(), module.buffers()), state):
            target.copy_(saved)
