"""task_groups: explicit partitions train one body per group; "auto" finds related tasks."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from sklearn_mtl import MultiTaskEstimator, for_task, task_scorer
from sklearn_mtl._nn import GroupedBody
from sklearn_mtl._training import choose_groups
from sklearn_mtl.datasets import make_multitask

GROUPS = [["task_0", "task_1"], ["task_2"]]


@pytest.fixture
def three_tasks():
    X, Y = make_multitask(
        400, 8, 3, ["regression", "binary", "multiclass"], correlation=0.8, random_state=0
    )
    return X, Y


@pytest.fixture
def grouped(three_tasks):
    X, Y = three_tasks
    params = dict(hidden_layer_sizes=(16,), max_epochs=20, random_state=0, task_groups=GROUPS)
    return MultiTaskEstimator(**params).fit(X, Y)


def test_a_partition_builds_one_body_per_group_and_every_task_learns(three_tasks, grouped):
    X, Y = three_tasks
    body = grouped.net_.module_.body
    assert isinstance(body, GroupedBody)
    assert body.groups == GROUPS
    assert grouped.task_groups_ == GROUPS
    assert grouped.task_affinity_ is None
    # Every task beats predicting the mean / the most frequent class by a margin.
    scores = grouped.score_tasks(X, Y)
    assert scores["task_0"] > 0.5  # R^2 of the mean is 0
    for task in ("task_1", "task_2"):
        majority = np.bincount(np.asarray(Y[task])).max() / len(X)
        assert scores[task] > majority + 0.1
    # A task's output does not depend on another group's body.
    outputs = grouped.predict_proba(X)
    for p in body.bodies[1].parameters():
        p.data.add_(1.0)
    changed = grouped.predict_proba(X)
    np.testing.assert_allclose(outputs["task_1"], changed["task_1"])
    assert not np.allclose(outputs["task_2"], changed["task_2"])


def test_none_and_one_group_are_the_shared_network(three_tasks, fast):
    X, Y = three_tasks
    shared = MultiTaskEstimator(**fast).fit(X, Y)
    one = MultiTaskEstimator(**fast, task_groups=[["task_2", "task_0", "task_1"]]).fit(X, Y)
    assert shared.task_groups_ == [["task_0", "task_1", "task_2"]]
    assert not isinstance(one.net_.module_.body, GroupedBody)
    np.testing.assert_allclose(shared.predict(X)["task_0"], one.predict(X)["task_0"])


@pytest.mark.parametrize(
    "task_groups, message",
    [
        ([["task_0", "task_1"], ["task_2", "hours"]], "'hours', which is not a task"),
        ([["task_0", "task_1"], ["task_1", "task_2"]], "puts task 'task_1' in two groups"),
        ([["task_0", "task_1"]], r"leaves out \['task_2'\].*e\.g\. add \['task_2'\]"),
        ([["task_0", "task_1"], []], "an empty group"),
        (["task_0", "task_1", "task_2"], "list of lists of task names"),
        ("everything", "task_groups"),
    ],
)
def test_a_bad_partition_is_refused_before_training(three_tasks, fast, task_groups, message):
    X, Y = three_tasks
    est = MultiTaskEstimator(**fast, task_groups=task_groups)
    with pytest.raises(ValueError, match=message):
        est.fit(X, Y)
    assert not hasattr(est, "net_")


def test_the_partition_survives_pickle_clone_and_set_params(three_tasks, grouped):
    X, Y = three_tasks
    loaded = pickle.loads(pickle.dumps(grouped))
    assert loaded.task_groups_ == GROUPS
    np.testing.assert_allclose(loaded.predict(X)["task_0"], grouped.predict(X)["task_0"])
    assert clone(grouped).get_params()["task_groups"] == GROUPS
    est = MultiTaskEstimator().set_params(task_groups=[["task_0"], ["task_1", "task_2"]])
    assert est.task_groups == [["task_0"], ["task_1", "task_2"]]


def test_task_views_of_a_grouped_model(three_tasks, grouped):
    X, _ = three_tasks
    view = for_task(grouped, "task_2")
    np.testing.assert_allclose(view.predict_proba(X), grouped.predict_proba(X)["task_2"])


def test_onnx_export_of_a_grouped_model(three_tasks, grouped):
    pytest.importorskip("onnxruntime")
    from tests.test_onnx import assert_onnx_matches

    X, _ = three_tasks
    assert_onnx_matches(grouped, X.astype(np.float32))


def test_grid_search_over_partitions(three_tasks, fast):
    X, Y = three_tasks
    Y = pd.DataFrame(dict(Y))
    search = GridSearchCV(
        MultiTaskEstimator(**fast),
        {"task_groups": [None, GROUPS, [["task_0"], ["task_1"], ["task_2"]]]},
        scoring=task_scorer("task_0", "r2"),
        cv=KFold(2),
    ).fit(X, Y)
    assert len(search.cv_results_["params"]) == 3
    assert search.best_estimator_.task_groups_ in (
        [["task_0", "task_1", "task_2"]],
        GROUPS,
        [["task_0"], ["task_1"], ["task_2"]],
    )


def test_other_architectures_build_a_body_per_group(three_tasks, fast):
    X, Y = three_tasks
    est = MultiTaskEstimator(**fast, architecture="mmoe", task_groups=GROUPS).fit(X, Y)
    bodies = est.net_.module_.body.bodies
    assert [sorted(b.out_features) for b in bodies] == [["task_0", "task_1"], ["task_2"]]


def affinity_of(clusters, noise=0.0, seed=0):
    """Affinity per block and chunk (4 x 4): 1 within each cluster, 0 across, plus noise."""
    labels = np.repeat(np.arange(len(clusters)), clusters)
    together = (labels[:, None] == labels[None, :]).astype(float)
    rng = np.random.RandomState(seed)
    return together + noise * rng.normal(size=(4, 4, *together.shape))


def test_choose_groups_recovers_blocks_and_stands_a_task_alone():
    names = list("abcde")
    groups = choose_groups(affinity_of([2, 2, 1], noise=0.05), names)
    assert groups == [["a", "b"], ["c", "d"], ["e"]]


def test_choose_groups_keeps_tasks_together_without_clear_evidence():
    names = list("abcde")
    assert choose_groups(affinity_of([2, 2, 1], noise=3.0), names) == [names]
    # Uniformly related tasks: nothing to gain from splitting.
    assert choose_groups(affinity_of([5], noise=0.05), names) == [names]


def test_choose_groups_searches_greedily_beyond_eight_tasks():
    names = [f"t{i}" for i in range(10)]
    groups = choose_groups(affinity_of([5, 5], noise=0.05), names)
    assert sorted(map(sorted, groups)) == [names[:5], names[5:]]


def clusters_data(seed):
    return make_multitask(1000, 12, 5, clusters=[2, 2, 1], correlation=0.9, random_state=seed)


TRUE_GROUPS = [["task_0", "task_1"], ["task_2", "task_3"], ["task_4"]]


def auto_groups(seed, verbose=0, max_epochs=30):
    # The groups are chosen after 300 steps (11 epochs here), whatever max_epochs.
    X, Y = clusters_data(seed)
    est = MultiTaskEstimator(
        hidden_layer_sizes=(32,),
        max_epochs=max_epochs,
        random_state=seed,
        task_groups="auto",
        verbose=verbose,
    )
    return est.fit(X, Y)


def test_auto_recovers_clusters_and_isolates_the_unrelated_task(capsys):
    for seed in (0, 1):
        est = auto_groups(seed, verbose=int(seed == 0), max_epochs=12)
        assert est.task_groups_ == TRUE_GROUPS
    affinity = est.task_affinity_
    assert list(affinity.index) == list(affinity.columns) == [f"task_{i}" for i in range(5)]
    assert affinity.loc["task_0", "task_1"] > affinity.loc["task_0", "task_2"]
    assert affinity.attrs["standard_error"].shape == (5, 5)
    assert "task_groups='auto': training the groups" in capsys.readouterr().err


@pytest.mark.slow
def test_auto_recovers_clusters_in_nine_of_ten_seeds():
    found = [auto_groups(seed).task_groups_ == TRUE_GROUPS for seed in range(10)]
    assert sum(found) >= 9, found


def test_auto_keeps_the_shared_network_of_a_fit_too_short_to_measure(fast):
    # 3 epochs of 5 steps: 3 measurements, too few to tell a split from noise.
    X, Y = make_multitask(300, 6, 3, clusters=[2, 1], correlation=1.0, random_state=0)
    shared = MultiTaskEstimator(**fast).fit(X, Y)
    auto = MultiTaskEstimator(**fast, task_groups="auto").fit(X, Y)
    assert auto.task_groups_ == [["task_0", "task_1", "task_2"]]
    # The measuring fit is the shared fit: measuring leaves training as it was.
    np.testing.assert_allclose(auto.predict(X)["task_0"], shared.predict(X)["task_0"])
