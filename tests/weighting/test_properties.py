"""Properties every gradient-level strategy must have, on generated gradients (hypothesis).

Parametrized over ``WEIGHTINGS``: a new gradient-level strategy is covered as
soon as it has its registry line. The helpers in ``_asserts.py`` state one
property each.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_mtl.weighting import WEIGHTINGS, GradientWeighting

from ._asserts import (
    assert_finite,
    assert_leaves_out,
    assert_non_conflicting,
    assert_permutation_equivariant,
)

GRADIENT_LEVEL = sorted(
    name for name, strategy in WEIGHTINGS.items() if issubclass(strategy, GradientWeighting)
)
NON_CONFLICTING = [name for name in GRADIENT_LEVEL if WEIGHTINGS[name].non_conflicting]
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@st.composite
def gradients(draw, min_tasks=2, max_tasks=5, near_opposed=False, independent=False):
    """Task gradients of norms 1e-3 to 1e3; optionally one pair nearly opposed.

    ``independent``: at least as many dimensions as tasks (as in training,
    where the shared parameters far outnumber the tasks).
    """
    n_tasks = draw(st.integers(min_tasks, max_tasks))
    dim = draw(st.integers(n_tasks if independent else 2, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(n_tasks, dim))
    if near_opposed:
        g[1] = -g[0] * rng.uniform(0.3, 3.0) + 10.0 ** draw(st.integers(-6, -1)) * rng.normal(
            size=dim
        )
    return g * 10.0 ** rng.uniform(-3, 3, size=(n_tasks, 1))


def _factory(name):
    return WEIGHTINGS[name]


@pytest.mark.parametrize("name", GRADIENT_LEVEL)
@EXAMPLES
@given(g=gradients(independent=True), data=st.data())
def test_permuting_the_tasks_permutes_the_weights(name, g, data):
    if WEIGHTINGS[name].random_order:
        g = g[:2]  # with two tasks, the visiting order cannot matter
    permutation = data.draw(st.permutations(range(len(g))))
    assert_permutation_equivariant(_factory(name), g, np.array(permutation))


@pytest.mark.parametrize("how", ["weight", "absent"])
@pytest.mark.parametrize("name", GRADIENT_LEVEL)
@EXAMPLES
@given(g=gradients(min_tasks=3, max_tasks=3), task=st.integers(0, 2))
def test_a_task_with_weight_zero_or_no_label_is_left_out(name, how, g, task):
    assert_leaves_out(_factory(name), g, task, how=how)


@pytest.mark.parametrize("name", GRADIENT_LEVEL)
@EXAMPLES
@given(g=gradients(near_opposed=True), case=st.sampled_from(["duplicate", "zero", "opposed"]))
def test_finite_for_duplicate_zero_and_near_opposed_gradients(name, g, case):
    if case == "duplicate":
        g = np.vstack([g, g[:1]])
    elif case == "zero":
        g = np.vstack([g, np.zeros_like(g[:1])])
    assert_finite(_factory(name), g)


@pytest.mark.parametrize("name", NON_CONFLICTING)
@settings(max_examples=150, deadline=None, derandomize=True)
@given(g=gradients(near_opposed=True))
def test_no_task_loss_increases_to_first_order(name, g):
    assert_non_conflicting(_factory(name), g)


def test_the_promise_is_kept_by_the_methods_that_make_it():
    assert set(NON_CONFLICTING) >= {"mgda", "upgrad", "dualproj"}
