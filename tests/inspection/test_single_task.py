import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.datasets import make_multitask
from sklearn_mtl.inspection import compare_single_task


def one_task(seed=0, n=400):
    X, Y = make_multitask(n, 10, 1, correlation=1.0, noise=0.1, random_state=seed)
    return X, Y["task_0"]


@pytest.fixture
def trained():
    """A network that learns the generated task well within 20 epochs (one: no bags)."""
    return MultiTaskEstimator(
        hidden_layer_sizes=(16,), max_epochs=20, batch_size=32, lr=1e-2, n_bags=1, random_state=0
    )


def test_copies_labelled_on_different_rows_help_each_other(trained, rng):
    # Two copies of one task, each labelled on half of the rows: the multi-task
    # model trains its trunk on every row, each single-task model on half.
    X, y = one_task()
    half = rng.rand(len(y)) < 0.5
    Y = TargetDict(a=np.where(half, y, np.nan), b=np.where(~half, y, np.nan))
    table = compare_single_task(trained, X, Y, cv=KFold(5, shuffle=True, random_state=0))
    assert list(table.index) == ["a", "b"]
    assert (table["metric"] == "r2").all()
    assert (table["difference"] > 0).all()
    assert (table["verdict"] == "helps").all()
    np.testing.assert_allclose(table["difference"], table["multi_task"] - table["single_task"])
    folds = table.attrs["fold_scores"]["a"]
    assert len(folds["multi_task"]) == len(folds["single_task"]) == 5
    np.testing.assert_allclose(
        table.loc["a", "difference_std"],
        np.std(np.subtract(folds["multi_task"], folds["single_task"]), ddof=1),
    )
    np.testing.assert_allclose(
        table.loc["a", "difference_se"], table.loc["a", "difference_std"] / np.sqrt(5)
    )


def test_an_independent_noise_task_does_not_help(trained, rng):
    X, y = one_task()
    Y = TargetDict(signal=y, noise=rng.normal(size=len(y)))
    table = compare_single_task(trained, X, Y, cv=KFold(5, shuffle=True, random_state=0))
    assert table.loc["signal", "verdict"] != "helps"
    assert table.loc["signal", "multi_task"] > 0.8
    # Neither model predicts noise better than its mean.
    assert table.loc["noise", "multi_task"] < 0.05
    assert table.loc["noise", "single_task"] < 0.05


def test_verdict_follows_the_documented_rule(trained, rng):
    X, y = one_task(n=200)
    Y = TargetDict(signal=y, noise=rng.normal(size=len(y)))
    table = compare_single_task(trained, X, Y, cv=3, threshold=0.0)
    # With a zero threshold only the sign of the mean difference matters.
    expected = np.where(table["difference"] > 0, "helps", "hurts")
    assert list(table["verdict"]) == list(expected)
    strict = compare_single_task(trained, X, Y, cv=3, threshold=1e9)
    assert (strict["verdict"] == "no clear difference").all()


def test_pipeline_with_declared_tasks_and_weights(fast):
    rng = np.random.RandomState(0)
    n = 150
    X = pd.DataFrame({"num": rng.normal(size=n), "cat": rng.choice(list("abc"), size=n)})
    Y = pd.DataFrame(
        {
            "label": np.where(X["num"] > 0, "yes", "no"),
            "count": (X["cat"] == "a") * 3.0 + rng.normal(size=n),
        }
    )
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["cat"]), (StandardScaler(), ["num"])),
        MultiTaskEstimator(tasks={"count": "regression"}, task_weights={"label": 2.0}, **fast),
    )
    table = compare_single_task(model, X, Y, cv=2, scoring={"label": "roc_auc"})
    assert list(table["metric"]) == ["roc_auc", "r2"]
    assert table["multi_task"].notna().all() and table["single_task"].notna().all()
    assert not hasattr(model[-1], "net_"), "the user's pipeline must stay unfitted"


def test_scoring_name_applies_to_every_task(fast, mixed_data):
    X, Y = mixed_data
    Y = TargetDict(task_1=Y["task_1"], task_2=Y["task_2"])
    table = compare_single_task(MultiTaskEstimator(**fast), X, Y, cv=2, scoring="accuracy")
    assert list(table["metric"]) == ["accuracy", "accuracy"]
    assert table[["multi_task", "single_task"]].stack().between(0, 1).all()


def test_bad_arguments_are_reported(fast, mixed_data):
    X, Y = mixed_data
    est = MultiTaskEstimator(**fast)
    with pytest.raises(ValueError, match="scoring has keys \\['nope'\\] that are not tasks"):
        compare_single_task(est, X, Y, scoring={"nope": "r2"})
    with pytest.raises(TypeError, match="MultiTaskEstimator or a Pipeline"):
        compare_single_task(StandardScaler(), X, Y)
    with pytest.raises(ValueError, match=r"'threshold' parameter .* in the range \[0.0, inf\)"):
        compare_single_task(est, X, Y, threshold=-1)
    with pytest.raises(TypeError, match="'scoring' parameter of compare_single_task must be"):
        compare_single_task(est, X, Y, scoring=3)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_verbose_draws_one_line_over_the_fits(fast, capfd, n_jobs):
    X, y = one_task(n=60)
    Y = TargetDict(a=y, b=-y)
    est = MultiTaskEstimator(**fast)
    quiet = compare_single_task(est, X, Y, cv=2, n_jobs=n_jobs)
    assert capfd.readouterr() == ("", "")
    table = compare_single_task(est, X, Y, cv=2, n_jobs=n_jobs, verbose=1)
    out, err = capfd.readouterr()
    # (1 multi-task + 2 single-task fits) x 2 folds, drawn as they finish.
    assert out == "" and err.endswith("\n")
    assert err.split("\n")[-2].rsplit("\r", 1)[-1].startswith("compare_single_task: 100%|")
    assert "| 6/6 [" in err
    pd.testing.assert_frame_equal(table, quiet)
