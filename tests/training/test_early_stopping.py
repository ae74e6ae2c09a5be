"""Per-task early stopping: each task predicts with the network of its own best epoch."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mtl import MultiTaskEstimator, TargetDict, for_task, task_scorer
from sklearn_mtl._tasks import encode_targets, read_targets
from sklearn_mtl._training import RandomSplit, _callbacks, make_dataset


def signal_and_noise(seed, n=1600):
    """An informative task that needs many epochs and a pure-noise task."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 8))
    signal = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3]
    Y = TargetDict(signal=signal + 0.3 * rng.normal(size=n), noise=rng.normal(size=n))
    return X, Y


def stopping(early_stopping, **params):
    base = dict(
        hidden_layer_sizes=(64, 64),
        max_epochs=300,
        lr=3e-3,
        batch_size=64,
        early_stopping=early_stopping,
        validation_fraction=0.25,
        n_iter_no_change=10,
        n_bags=1,  # one network's epochs
        random_state=0,
    )
    return MultiTaskEstimator(**{**base, **params})


@pytest.fixture(scope="module")
def fitted_pair():
    torch.set_num_threads(1)  # module-scoped: runs before conftest's per-test setting
    X, Y = signal_and_noise(0)
    train, test = np.arange(800), np.arange(800, 1600)
    with pytest.MonkeyPatch.context() as patch:  # the no_step_floor fixture, module-scoped
        patch.setattr(_callbacks, "MIN_STEPS", 0)
        joint = stopping(True).fit(X[train], Y.iloc[train])
        per_task = stopping("per_task").fit(X[train], Y.iloc[train])
    return X, Y, train, test, joint, per_task


def test_noise_stops_earlier_and_every_task_scores_at_least_as_well(fitted_pair):
    X, Y, _, test, joint, per_task = fitted_pair
    best = per_task.best_epochs_
    assert best["noise"] < best["signal"]
    assert best["noise"] <= 5  # noise only gets worse once the network fits it
    joint_scores = joint.score_tasks(X[test], Y.iloc[test])
    scores = per_task.score_tasks(X[test], Y.iloc[test])
    assert scores["signal"] >= joint_scores["signal"], (scores, joint_scores)
    assert scores["noise"] >= joint_scores["noise"], (scores, joint_scores)
    assert scores["signal"] > 0.7
    # Joint stopping restores one epoch for both tasks.
    assert len(set(joint.best_epochs_.values())) == 1


def test_history_shows_each_tasks_best_epoch(fitted_pair):
    *_, per_task = fitted_pair
    history = per_task.history_
    for task, epoch in per_task.best_epochs_.items():
        losses = np.array(history[:, f"valid_loss_{task}"])
        flags = np.array(history[:, f"valid_loss_{task}_best"])
        assert epoch == int(np.argmin(losses)) + 1
        assert flags[epoch - 1] and not flags[epoch:].any()
        # A flag marks a new minimum.
        assert (losses[flags] == np.minimum.accumulate(losses)[flags]).all()
    # lr_schedule="plateau": n_iter_no_change epochs without improvement divided the
    # learning rate; the first epoch without improvement after that stopped training.
    (divided,) = [row["epoch"] for row in history if row.get("lr_divided")]
    improved = [
        row["epoch"]
        for row in history[:divided]
        if row["valid_loss_signal_best"] or row["valid_loss_noise_best"]
    ]
    assert divided == improved[-1] + 10
    assert per_task.n_epochs_ == max(*per_task.best_epochs_.values(), divided) + 1


def _validation_losses(est, X, Y):
    """Per-task validation losses of the fitted model's predictions, on its own split."""
    targets = read_targets(Y)
    y, mask = encode_targets(targets, est._predictor.tasks)
    data = make_dataset(X.astype(np.float32), y, mask.astype(np.float32), "cpu")
    _, valid = RandomSplit(est.validation_fraction, est.net_.seed)(data)
    outputs = est._predictor.outputs(valid.X.numpy())
    losses, _ = est.net_.criterion_(outputs, valid.y, valid.w)
    return dict(zip(est.tasks_, losses.tolist()))


def test_each_task_predicts_with_its_best_epochs_network(fitted_pair):
    X, Y, train, _, _, per_task = fitted_pair
    losses = _validation_losses(per_task, X[train], Y.iloc[train])
    for task, epoch in per_task.best_epochs_.items():
        recorded = per_task.history_[epoch - 1, f"valid_loss_{task}"]
        assert losses[task] == pytest.approx(recorded, rel=1e-5)
    # The network itself holds the joint best epoch, as joint stopping would.
    joint_epoch = int(np.argmin(per_task.history_[:, "valid_loss"])) + 1
    with torch.inference_mode():
        assert set(per_task.net_.task_states_) == set(per_task.best_epochs_.values()) - {
            joint_epoch
        }


def test_every_prediction_path_uses_each_tasks_state(fitted_pair):
    X, Y, _, test, _, per_task = fitted_pair
    predictions = per_task.predict(X[test])
    restored = pickle.loads(pickle.dumps(per_task))
    for task in per_task.tasks_:
        np.testing.assert_array_equal(for_task(per_task, task).predict(X[test]), predictions[task])
        np.testing.assert_array_equal(restored.predict(X[test])[task], predictions[task])
        scorer = task_scorer(task, "r2")
        assert scorer(per_task, X[test], Y.iloc[test]) == pytest.approx(
            per_task.score_tasks(X[test], Y.iloc[test])[task]
        )
    assert restored.best_epochs_ == per_task.best_epochs_


def test_classification_probabilities_come_from_the_tasks_state():
    X, Y = signal_and_noise(1, n=800)
    Y = TargetDict(big=(Y["signal"] > 0).astype(int), noise=(Y["noise"] > 0).astype(int))
    est = stopping("per_task", max_epochs=60).fit(X, Y)
    assert est.best_epochs_["noise"] < est.best_epochs_["big"]
    losses = _validation_losses(est, X, Y)
    for task, epoch in est.best_epochs_.items():
        assert losses[task] == pytest.approx(
            est.history_[epoch - 1, f"valid_loss_{task}"], rel=1e-5
        )
    proba = est.predict_proba(X)
    np.testing.assert_array_equal(proba["big"].argmax(axis=1), est.predict(X)["big"])


def test_joint_and_no_early_stopping_report_their_best_epochs(mixed_data, fast):
    X, Y = mixed_data
    assert MultiTaskEstimator(**fast, early_stopping=False).fit(X, Y).best_epochs_ is None
    joint = MultiTaskEstimator(**dict(fast, max_epochs=6), early_stopping=True).fit(X, Y)
    best = int(np.argmin(joint.history_[:, "valid_loss"])) + 1
    assert joint.best_epochs_ == dict.fromkeys(Y, best)


def test_a_task_without_validation_labels_uses_the_joint_best_epoch(rng):
    X = rng.normal(size=(200, 4))
    rare = np.full(200, np.nan)
    rare[:3] = [0.0, 1.0, 2.0]  # three labels, most likely none in the validation rows
    Y = TargetDict(a=X[:, 0] * 2, rare=rare)
    est = stopping("per_task", max_epochs=20, validation_fraction=0.1).fit(X, Y)
    assert np.isnan(est.history_[:, "valid_loss_rare"]).all()
    joint_epoch = int(np.argmin(est.history_[:, "valid_loss"])) + 1
    assert est.best_epochs_["rare"] == joint_epoch
    assert np.isfinite(est.predict(X)["rare"]).all()


def split_rows(random_state, n, fraction):
    """The training and validation rows of a fit with this int ``random_state``."""
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max)  # as settle
    return RandomSplit(fraction, int(seed)).rows(n)


@pytest.mark.parametrize("early_stopping", [True, "per_task"])
def test_no_labelled_validation_row_is_refused_before_training(rng, early_stopping):
    # Issue 26: valid_loss was an empty sum, 0.0 at every epoch, and the first
    # epoch's untrained network was kept as the best.
    X = rng.normal(size=(200, 3))
    training_rows, validation_rows = split_rows(0, 200, 0.1)
    labels = np.full(200, np.nan)
    labels[training_rows[:8]] = [0, 1] * 4
    est = stopping(early_stopping, max_epochs=5, validation_fraction=0.1)
    match = r"none of the 20 validation rows .* \(8 of the 200 rows are\).*early_stopping=False"
    with pytest.raises(ValueError, match=match):
        est.fit(X, {"t": labels})
    assert not hasattr(est, "history_")
    unstopped = stopping(False, max_epochs=5).fit(X, {"t": labels})  # the fix it names
    assert unstopped.n_epochs_ == 5 and unstopped.best_epochs_ is None
    # A labelled validation row that weighs nothing counts as none ...
    labels[validation_rows[0]] = 1
    weights = np.where(np.isin(np.arange(200), validation_rows), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"none of the 20 validation rows"):
        est.fit(X, {"t": labels}, sample_weight=weights)
    # ... and one that weighs is enough.
    est.fit(X, {"t": labels})
    assert np.isfinite(est.history_[:, "valid_loss_t"]).all()


@pytest.mark.parametrize(
    "params", [dict(weighting="pcgrad"), dict(architecture="mmoe"), dict(weighting="uncertainty")]
)
def test_per_task_stopping_with_strategies_and_architectures(params, mixed_data, fast):
    X, Y = mixed_data
    est = MultiTaskEstimator(
        **dict(fast, max_epochs=8), early_stopping="per_task", n_iter_no_change=2, **params
    ).fit(X, Y)
    assert set(est.best_epochs_) == set(Y)
    restored = pickle.loads(pickle.dumps(est))
    for task, values in est.predict(X).items():
        np.testing.assert_array_equal(restored.predict(X)[task], values)


def test_grid_search_over_the_stopping_mode_and_bad_values(mixed_data, fast):
    X, Y = mixed_data
    search = GridSearchCV(
        MultiTaskEstimator(**dict(fast, max_epochs=4)),
        {"early_stopping": [True, "per_task"]},
        cv=KFold(2),
        error_score="raise",
    ).fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    with pytest.raises(InvalidParameterError, match="'early_stopping' parameter"):
        MultiTaskEstimator(early_stopping="per-task").fit(X, Y)


@pytest.mark.parametrize("lr_schedule", ["constant", "plateau"])
def test_verbose_says_why_it_stopped(capsys, mixed_data, fast, no_step_floor, lr_schedule):
    X, Y = mixed_data
    est = MultiTaskEstimator(
        **dict(fast, max_epochs=50, lr=0.05),
        early_stopping="per_task",
        n_iter_no_change=2,
        lr_schedule=lr_schedule,
        verbose=2,
    ).fit(X, Y)
    lines = capsys.readouterr().out.splitlines()
    assert "valid_loss_task_0" in lines[0]
    # Every epoch run is printed, the one that decided the stop included, then why.
    rows = [line.split()[0] for line in lines if line.strip()[:1].isdigit()]
    assert rows == [str(e) for e in range(1, est.n_epochs_ + 1)]
    assert est.n_epochs_ < 50 and len(est.history_) == est.n_epochs_
    misses = "2 epochs" if lr_schedule == "constant" else "1 epoch"  # 1 after the division
    assert lines[-1] == (
        f"Stopping since no task's validation loss has improved in the last {misses}."
    )
    divided = [i for i, line in enumerate(lines) if "learning rate divided by 10" in line]
    assert len(divided) == (lr_schedule == "plateau")


@pytest.mark.cuda
def test_cuda_fit_of_every_type_with_per_task_stopping(every_type_data):
    X, Y, tasks = every_type_data
    est = MultiTaskEstimator(
        tasks=tasks,
        hidden_layer_sizes=(16,),
        max_epochs=8,
        early_stopping="per_task",
        n_iter_no_change=2,
        device="cuda",
        random_state=0,
    ).fit(X, Y)
    assert next(est.net_.module_.parameters()).is_cuda
    restored = pickle.loads(pickle.dumps(est))
    for task, values in est.predict(X).items():
        np.testing.assert_array_equal(restored.predict(X)[task], values)


@pytest.mark.parametrize("lr_schedule", ["constant", "plateau"])
@pytest.mark.parametrize("early_stopping", [True, "per_task"])
def test_never_stops_before_the_minimum_of_optimiser_steps(mixed_data, early_stopping, lr_schedule):
    X, Y = mixed_data
    # 300 rows, 270 after the split, batch 64: 5 steps an epoch, so 100 epochs make 500 steps.
    params = dict(hidden_layer_sizes=(16,), batch_size=64, lr=0.05, n_bags=1, random_state=0)
    est = MultiTaskEstimator(
        **params,
        max_epochs=150,
        early_stopping=early_stopping,
        n_iter_no_change=2,
        tol=1.0,
        lr_schedule=lr_schedule,
    ).fit(X, Y)
    # tol=1.0: improvements are rare; the floor keeps it training, then patience 2 decides
    # (with "plateau", it divides the learning rate and the next miss stops).
    assert _callbacks.min_epochs_before_stopping(270, 64) == 100
    last_improvement = max(est.best_epochs_.values())
    divided = [row["epoch"] for row in est.history_ if row.get("lr_divided")]
    if lr_schedule == "constant":
        assert divided == [] and est.n_epochs_ == max(100, last_improvement + 2)
    else:
        assert len(divided) == 1 and divided[0] >= 100
        assert est.n_epochs_ == max(divided[0], last_improvement) + 1
