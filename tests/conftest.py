import numpy as np
import pytest
import torch

from sklearn_mtl.datasets import make_multitask


@pytest.fixture(autouse=True)
def _torch_threads():
    # Keep unit tests predictable on the 2-core CI machine.
    torch.set_num_threads(1)


@pytest.fixture
def fast():
    """Small, fast estimator parameters for unit tests: a tiny network, few epochs."""
    return dict(hidden_layer_sizes=(16,), max_epochs=3, batch_size=64, random_state=0)


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture
def mixed_data():
    """300 rows, a regression, a binary and a 3-class task, strongly related."""
    return make_multitask(
        300, 6, 3, ["regression", "binary", "multiclass"], correlation=0.9, random_state=0
    )


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
