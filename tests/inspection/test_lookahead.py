"""lookahead_affinity, its plot, and compare_single_task over a grouping."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtl import MultiTaskEstimator
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.inspection import compare_single_task, lookahead_affinity

PARAMS = dict(hidden_layer_sizes=(16,), max_epochs=12, random_state=0)


@pytest.fixture(scope="module")
def fitted_affinity():
    """The affinity of a cluster of two related tasks and an unrelated one, and the estimator."""
    X, Y = make_multitask(1000, 8, 3, clusters=[2, 1], correlation=0.9, random_state=0)
    est = MultiTaskEstimator(**PARAMS)
    return lookahead_affinity(make_pipeline(StandardScaler(), est), X, Y), est


def test_related_tasks_have_the_higher_lookahead_affinity(fitted_affinity):
    affinity, est = fitted_affinity
    assert not hasattr(est, "net_")  # a clone was fitted
    names = ["task_0", "task_1", "task_2"]
    assert list(affinity.index) == list(affinity.columns) == names
    assert affinity.index.name == "step_on" and affinity.columns.name == "loss_of"
    for related, other in (("task_0", "task_1"), ("task_1", "task_0")):
        assert affinity.loc[related, other] > affinity.loc[related, "task_2"]
        assert affinity.loc[other, related] > affinity.loc["task_2", related]
    assert (affinity.attrs["standard_error"].to_numpy() >= 0).all()
    assert sorted(map(sorted, affinity.attrs["groups"])) in (
        [names],
        [["task_0", "task_1"], ["task_2"]],
    )


def test_plot_orders_and_boxes_the_groups(fitted_affinity):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from sklearn_mtl.inspection import plot_lookahead_affinity

    affinity, _ = fitted_affinity
    ax = plot_lookahead_affinity(affinity, groups=[["task_2"], ["task_0", "task_1"]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["task_2", "task_0", "task_1"]
    assert len(ax.patches) == 2
    assert "Lookahead affinity" in ax.get_title()
    with pytest.raises(ValueError, match="square DataFrame"):
        plot_lookahead_affinity(np.zeros((2, 3)))


def test_compare_single_task_compares_a_grouping(fast):
    X, Y = make_multitask(300, 8, 3, clusters=[2, 1], correlation=0.9, random_state=0)
    groups = [["task_0", "task_1"], ["task_2"]]
    table = compare_single_task(MultiTaskEstimator(**fast), X, Y, cv=2, task_groups=groups)
    for column in ("grouped", "grouped_difference", "grouped_difference_se", "grouped_verdict"):
        assert column in table.columns
    assert table.attrs["groups"] == [groups, groups]
    assert set(table["grouped_verdict"]) <= {"helps", "hurts", "no clear difference"}
    folds = table.attrs["fold_scores"]
    for task in table.index:
        grouped = np.asarray(folds[task]["grouped"])
        multi, single = (np.asarray(folds[task][k]) for k in ("multi_task", "single_task"))
        better = multi if multi.mean() >= single.mean() else single
        assert table.loc[task, "grouped"] == pytest.approx(grouped.mean())
        assert table.loc[task, "grouped_difference"] == pytest.approx((grouped - better).mean())
    # Without task_groups the table is as before.
    plain = compare_single_task(MultiTaskEstimator(**fast), X, Y, cv=2)
    assert "grouped" not in plain.columns and "groups" not in plain.attrs


def test_single_task_clones_of_a_grouped_estimator_drop_the_groups(fast):
    X, Y = make_multitask(200, 6, 2, random_state=0)
    est = MultiTaskEstimator(**fast, task_groups=[["task_0"], ["task_1"]])
    table = compare_single_task(est, X, Y, cv=2)
    assert list(table.index) == ["task_0", "task_1"]
