import doctest
import re

import numpy as np
import pytest
import torch
from hypothesis import is_hypothesis_test

from sklearn_mtl.datasets import make_multitask


@pytest.fixture(autouse=True)
def _torch_threads():
    # Keep unit tests predictable on the 2-core CI machine.
    torch.set_num_threads(1)


@pytest.fixture
def fast():
    """Small, fast estimator parameters for unit tests: one tiny network (no bags), few epochs."""
    return dict(hidden_layer_sizes=(16,), max_epochs=3, batch_size=64, n_bags=1, random_state=0)


@pytest.fixture
def no_step_floor(monkeypatch):
    """Early stopping may stop from the first epoch (no minimum of optimiser steps).

    For tests of when early stopping stops on data so small that the floor of
    ``_callbacks.MIN_STEPS`` steps would decide it instead.
    """
    from sklearn_mtl._training import _callbacks

    monkeypatch.setattr(_callbacks, "MIN_STEPS", 0)


@pytest.fixture
def output_checker():
    """A doctest checker for what a page shows against what its code prints, on any CPU.

    A fit's last bits depend on the processor: vectorised kernels (AVX2,
    AVX-512) sum in different orders, so a probability shown as 0.910 on one
    machine prints as 0.911 on another. The text must match (whitespace
    normalised), and each printed decimal may differ from the one shown by at
    most one unit of the shown number's last digit; integers match exactly.
    """
    return _PrintedOutput()


#: A decimal number as numpy and pandas print it.
_DECIMAL = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?")


class _PrintedOutput(doctest.OutputChecker):
    def check_output(self, want, got, optionflags):
        if super().check_output(want, got, optionflags):
            return True
        shown, printed = _DECIMAL.findall(want), _DECIMAL.findall(got)
        if not shown or len(shown) != len(printed):
            return False
        if _DECIMAL.sub(" # ", want).split() != _DECIMAL.sub(" # ", got).split():
            return False
        pairs = zip(shown, printed)
        return all(abs(float(a) - float(b)) <= 1.001 * _last_unit(a) for a, b in pairs)


def _last_unit(number):
    """One unit of the last digit of ``number`` as written (0.001 for ``"0.125"``)."""
    mantissa, _, exponent = number.lower().partition("e")
    return 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture
def training_data(monkeypatch):
    """Records what each fit trains on: a list of ``(X, y, w)``, one per fit."""
    from sklearn_mtl._training import _fit

    seen = []
    make_dataset = _fit.make_dataset

    def recording(X, y, w, device):
        seen.append((X, y, w))
        return make_dataset(X, y, w, device)

    monkeypatch.setattr(_fit, "make_dataset", recording)
    return seen


@pytest.fixture
def mixed_data():
    """300 rows, a regression, a binary and a 3-class task, strongly related."""
    return make_multitask(
        300, 6, 3, ["regression", "binary", "multiclass"], correlation=0.9, random_state=0
    )


@pytest.fixture
def every_type_data():
    """300 rows, one task of each type, a fifth of every task's labels missing.

    Returns ``X``, ``Y`` and the ``tasks=`` that declares the count and ordinal
    tasks (their labels are ints, which would be inferred as classes).
    """
    types = ["regression", "binary", "multiclass", "count", "ordinal", "multilabel"]
    X, Y = make_multitask(300, 8, 6, types, correlation=0.8, random_state=0)
    rng = np.random.RandomState(0)
    for name in ("task_0", "task_1", "task_2", "task_3"):
        Y[name] = np.where(rng.rand(300) < 0.2, np.nan, Y[name])
    Y["task_4"] = Y["task_4"].mask(rng.rand(300) < 0.2)
    tags = Y["task_5"].astype(float)
    tags[rng.rand(300, tags.shape[1]) < 0.2] = np.nan
    Y["task_5"] = tags
    return X, Y, {"task_3": "count", "task_4": "ordinal"}


@pytest.hookimpl(trylast=True)  # after -m has deselected
def pytest_collection_modifyitems(config, items):
    spread_property_tests(items)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def spread_property_tests(items):
    """Place the property-based tests at even intervals of ``items``, in place.

    They are the longest tests of the slow suite (half a minute to a minute
    each) and sit together in one file. pytest-xdist's work stealing starts each
    worker on a contiguous share of the collection and can take back only tests
    queued behind the running ones, so that, kept together, they ran one after
    the other on one worker while the other sat idle (the slow suite took 232 s;
    spread, 210 s). The relative order of the tests stays otherwise as collected.
    """
    marked = [(is_hypothesis_test(getattr(item, "obj", None)), item) for item in items]
    properties = [item for is_property, item in marked if is_property]
    others = [item for is_property, item in marked if not is_property]
    if not properties or not others:
        return
    step = len(items) / len(properties)
    slots = {round(i * step) for i in range(len(properties))}
    placed, rest = iter(properties), iter(others)
    items[:] = [next(placed) if i in slots else next(rest) for i in range(len(items))]
