"""Method-specific behaviour of the weighting strategies, on cases with known answers."""

import numpy as np
import pytest
import torch
from torchjd import aggregation

from sklearn_mtl import MultiTaskEstimator, TargetDict
from sklearn_mtl.weighting import (
    AlignedMTLWeighting,
    CAGradWeighting,
    ConFIGWeighting,
    DBMTLWeighting,
    DualProjWeighting,
    DWAWeighting,
    FairGradWeighting,
    FAMOWeighting,
    GradNormWeighting,
    GradVacWeighting,
    IMTLWeighting,
    MGDAWeighting,
    NashMTLWeighting,
    PCGradWeighting,
    RLWWeighting,
    UncertaintyWeighting,
    UPGradWeighting,
    task_gradients,
)
from sklearn_mtl.weighting._solvers import NNLSProjector, alpha_fair_weights, min_norm_weights

from ._asserts import LinearTasks, shared_update


def test_task_gradients_match_one_backward_per_task():
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 4)
    x = torch.randn(10, 3)
    out = layer(x)
    losses = torch.stack([out[:, 0].pow(2).mean(), out[:, 1:].abs().mean(), out.sum() * 0])
    grads = task_gradients(losses, list(layer.parameters()))
    for t in range(3):
        expected = torch.autograd.grad(losses[t], list(layer.parameters()), retain_graph=True)
        np.testing.assert_allclose(
            grads[t].numpy(), torch.cat([g.flatten() for g in expected]).numpy(), atol=1e-6
        )


def test_pcgrad_projects_conflicting_gradients():
    # g_0 . g_1 = -1: g_0 loses its component along g_1 and vice versa.
    g = np.array([[1.0, 0.0], [-1.0, 1.0]])
    update, weights = shared_update(PCGradWeighting(), g)
    projected_0 = g[0] - (g[0] @ g[1]) / (g[1] @ g[1]) * g[1]  # (0.5, 0.5)
    projected_1 = g[1] - (g[1] @ g[0]) / (g[0] @ g[0]) * g[0]  # (0, 1)
    np.testing.assert_allclose(update, projected_0 + projected_1, atol=1e-6)
    np.testing.assert_allclose(weights, [2.0, 1.5], atol=1e-6)
    # The projected sum no longer conflicts with either task.
    assert (g @ update >= -1e-6).all()


def test_pcgrad_leaves_agreeing_gradients_alone():
    g = np.array([[1.0, 0.0], [1.0, 1.0]])
    update, weights = shared_update(PCGradWeighting(), g)
    np.testing.assert_allclose(update, g.sum(axis=0), atol=1e-6)
    np.testing.assert_allclose(weights, [1.0, 1.0])


@pytest.mark.parametrize(
    "vectors, alpha",
    [
        ([[1.0, 0.0], [0.0, 1.0]], [0.5, 0.5]),
        ([[1.0, 0.0], [0.0, 2.0]], [0.8, 0.2]),  # min-norm point (0.8, 0.4)
        ([[1.0, 1.0], [3.0, 3.0]], [1.0, 0.0]),  # collinear: the shorter one
        ([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.5, 0.5, 0.0]),
    ],
)
def test_min_norm_point(vectors, alpha):
    g = np.array(vectors)
    np.testing.assert_allclose(min_norm_weights(g @ g.T), alpha, atol=1e-9)


def test_mgda_upper_bound_works_on_the_representation():
    # theta -> Z = 2 theta (the "representation"); losses are linear in Z.
    g = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    theta = torch.zeros(2, requires_grad=True)
    representation = 2 * theta
    network = LinearTasks(g)
    network.theta = theta
    strategy = MGDAWeighting().initialize(["a", "b"], torch.ones(2), torch.device("cpu"))
    losses = g @ representation
    weights = strategy.backward(
        losses,
        present=torch.ones(2, dtype=torch.bool),
        network=network,
        representation=representation,
    )
    np.testing.assert_allclose(weights.numpy(), [1.6, 0.4], atol=1e-5)
    # The trunk receives the weights in force times dZ/dtheta = 2.
    np.testing.assert_allclose(theta.grad.numpy(), 2 * (1.6 * g[0] + 0.4 * g[1]).numpy(), atol=1e-5)


def test_cagrad_interpolates_between_average_and_mgda():
    g = np.array([[1.0, 0.0], [-0.5, 2.0]])
    average, weights = shared_update(CAGradWeighting(c=0.0), g)
    np.testing.assert_allclose(average, g.sum(axis=0), atol=1e-6)  # weight 1 each
    np.testing.assert_allclose(weights, [1.0, 1.0])
    far, _ = shared_update(CAGradWeighting(c=100.0), g)
    min_norm = min_norm_weights(g @ g.T) @ g
    cosine = far @ min_norm / np.linalg.norm(far) / np.linalg.norm(min_norm)
    assert cosine > 0.999
    # In between, the worst task improves more than under plain averaging.
    middle, _ = shared_update(CAGradWeighting(c=0.5), g)
    worst = lambda d: (g @ d / np.linalg.norm(d)).min()  # noqa: E731
    assert worst(middle) > worst(average)


def test_imtl_equalises_projections_on_unit_gradients():
    g = np.array([[1.0, 0.0], [0.0, 3.0]])
    update, weights = shared_update(IMTLWeighting(loss_scaling=False), g)
    np.testing.assert_allclose(weights, [1.5, 0.5], atol=1e-5)  # alpha = (3/4, 1/4)
    np.testing.assert_allclose(update, 1.5 * g[0] + 0.5 * g[1], atol=1e-5)
    rng = np.random.RandomState(0)
    for _ in range(5):
        g = rng.normal(size=(3, 6)) + 1.0
        weights = IMTLWeighting(loss_scaling=False).weigh(g @ g.T, np.ones(3), np.arange(3))
        units = g / np.linalg.norm(g, axis=1, keepdims=True)
        projections = units @ (weights @ g)
        np.testing.assert_allclose(projections, projections.mean(), rtol=1e-8)
        np.testing.assert_allclose(weights.sum(), 3.0)
        assert projections.mean() > 0  # descends every task, even with a negative weight


def test_imtl_loss_scales_drive_scaled_losses_to_one():
    strategy = IMTLWeighting().initialize(["a", "b"], torch.ones(2), torch.device("cpu"))
    g = np.eye(2)
    strategy.weigh(g, np.array([2.0, 0.5]), np.arange(2))
    # d/ds (e^s L - s) = e^s L - 1 at s = 0.
    np.testing.assert_allclose(strategy.log_scale_.grad.numpy(), [1.0, -0.5])


def test_nash_solves_the_bargaining_condition():
    rng = np.random.RandomState(0)
    g = rng.normal(size=(4, 10))
    gram = g @ g.T
    nash = NashMTLWeighting(ridge=0.0, max_iter=500, max_norm=None)
    nash.initialize(list("abcd"), torch.ones(4), "cpu")
    alpha = nash.weigh(gram, np.ones(4), np.arange(4))
    np.testing.assert_allclose(gram @ alpha, 1 / alpha, rtol=1e-6)
    # Orthogonal gradients: alpha_t is proportional to 1 / |g_t|.
    g = np.diag([1.0, 2.0, 4.0])
    update, weights = shared_update(NashMTLWeighting(ridge=0.0), g)
    np.testing.assert_allclose(weights[0] / weights, [1.0, 2.0, 4.0], rtol=1e-3)
    # ...so the update makes the same angle with every task's gradient.
    cosines = g @ update / np.linalg.norm(g, axis=1)
    np.testing.assert_allclose(cosines, cosines.mean(), rtol=1e-3)


def test_gradient_methods_skip_an_absent_task():
    g = np.array([[1.0, 0.0], [0.0, 0.0], [-1.0, 1.0]])
    for strategy in [
        PCGradWeighting(),
        MGDAWeighting(),
        CAGradWeighting(),
        IMTLWeighting(),
        NashMTLWeighting(),
        GradNormWeighting(),
    ]:
        update, weights = shared_update(strategy, g, present=[True, False, True])
        assert np.isfinite(update).all() and np.isfinite(weights).all()
        assert weights[1] == 0 and (weights >= 0).all()


def test_gradnorm_equalises_gradient_norms():
    # Network frozen: only the weights learn; with alpha=0 GradNorm drives
    # w_t |g_t| to a common value.
    network = LinearTasks([[1.0, 0.0], [0.0, 5.0]])
    strategy = GradNormWeighting(alpha=0.0)
    strategy.initialize(["a", "b"], torch.ones(2), torch.device("cpu"))
    optimizer = torch.optim.Adam(strategy.parameters(), lr=0.02)
    for _ in range(400):
        optimizer.zero_grad()
        weights = strategy.backward(
            network.losses(), present=torch.ones(2, dtype=torch.bool), network=network
        )
        optimizer.step()
    norms = weights.numpy() * [1.0, 5.0]
    np.testing.assert_allclose(norms[0], norms[1], rtol=0.05)
    np.testing.assert_allclose(weights.sum(), 2.0, rtol=1e-5)


def test_gradnorm_alpha_favours_the_slower_task():
    network = LinearTasks([[1.0, 0.0], [0.0, 1.0]])
    strategy = GradNormWeighting(alpha=1.0)
    strategy.initialize(["a", "b"], torch.ones(2), torch.device("cpu"))
    optimizer = torch.optim.Adam(strategy.parameters(), lr=0.02)
    present = torch.ones(2, dtype=torch.bool)
    strategy.backward(network.losses(), present=present, network=network)  # L(0) = (1, 1)
    for _ in range(200):
        optimizer.zero_grad()
        # Task a's loss halved since the start, task b's did not move.
        # (same gradients, so only the training rates differ).
        losses = network.losses() - torch.tensor([0.5, 0.0])
        weights = strategy.backward(losses, present=present, network=network)
        optimizer.step()
    assert weights[1] > 1.2 * weights[0]


def test_uncertainty_weights_track_noise_levels():
    # Two regressions of the same signal with known noise sigma = 0.3 and 0.9:
    # the optimum weight is 1 / (2 sigma^2), so the ratio is about 9.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 4))
    signal = X @ np.array([1.0, -0.5, 0.5, 0.0])
    Y = TargetDict(
        quiet=signal + 0.3 * rng.normal(size=2000), noisy=signal + 0.9 * rng.normal(size=2000)
    )
    est = MultiTaskEstimator(
        weighting="uncertainty",
        hidden_layer_sizes=(32,),
        max_epochs=25,
        batch_size=64,
        lr=0.01,
        standardize_targets=False,
        random_state=0,
    ).fit(X, Y)
    weights = est.task_weights_
    assert weights["noisy"] < weights["quiet"]
    assert 5 < weights["quiet"] / weights["noisy"] < 13
    for task in ("quiet", "noisy"):
        loss = est.history_[-1, f"train_loss_{task}"]  # about sigma^2
        np.testing.assert_allclose(weights[task], 1 / (2 * loss), rtol=0.25)


def test_dwa_weights_follow_the_loss_ratio_and_temperature():
    def weights_after(temperature):
        s = DWAWeighting(temperature=temperature)
        s.initialize(["fast", "slow"], torch.ones(2), torch.device("cpu"))
        np.testing.assert_array_equal(s.weights_.numpy(), [1.0, 1.0])
        s.on_epoch_end(torch.tensor([1.0, 1.0]))
        np.testing.assert_array_equal(s.weights_.numpy(), [1.0, 1.0])  # two epochs needed
        s.on_epoch_end(torch.tensor([0.5, 1.0]))
        return s.weights_.numpy()

    ratios = np.array([0.5, 1.0])
    for temperature in (0.1, 2.0):
        expected = 2 * np.exp(ratios / temperature) / np.exp(ratios / temperature).sum()
        np.testing.assert_allclose(weights_after(temperature), expected, rtol=1e-5)
    assert weights_after(0.05)[1] > 1.99  # cold: all weight to the stalled task
    np.testing.assert_allclose(weights_after(1000.0), [1.0, 1.0], atol=1e-3)  # hot: uniform


def test_dwa_survives_a_task_without_labels_in_an_epoch():
    s = DWAWeighting().initialize(["a", "b"], torch.ones(2), torch.device("cpu"))
    s.on_epoch_end(torch.tensor([1.0, 0.0]))
    s.on_epoch_end(torch.tensor([0.5, 0.0]))
    assert torch.isfinite(s.weights_).all()


def test_famo_moves_weight_to_the_task_that_did_not_improve():
    s = FAMOWeighting(lr=0.1).initialize(["a", "b"], torch.ones(2), torch.device("cpu"))
    present = torch.ones(2, dtype=torch.bool)
    for _ in range(5):
        _, weights = s.combine(torch.tensor([1.0, 1.0]), present)
        s.on_step_end(lambda: torch.tensor([0.5, 1.0]))  # a improved, b did not
    _, weights = s.combine(torch.tensor([1.0, 1.0]), present)
    assert weights[1] > 1.2 * weights[0]
    np.testing.assert_allclose(weights.sum(), 2.0, rtol=1e-5)


def test_famo_updates_its_logits_during_fit(mixed_data, fast):
    X, Y = mixed_data
    est = MultiTaskEstimator(weighting="famo", **fast).fit(X, Y)
    assert est.weighting_.n_updates_ == est.history_[-1, "train_batch_count"] * fast["max_epochs"]
    assert torch.count_nonzero(est.weighting_.logits_) > 0


def test_rlw_draws_random_weights_around_one():
    s = RLWWeighting().initialize(["a", "b", "c"], torch.ones(3), torch.device("cpu"))
    torch.manual_seed(0)
    draws = torch.stack(
        [s.combine(torch.ones(3), torch.ones(3, dtype=torch.bool))[1] for _ in range(2000)]
    ).numpy()
    np.testing.assert_allclose(draws.sum(axis=1), 3.0, rtol=1e-5)
    np.testing.assert_allclose(draws.mean(axis=0), 1.0, atol=0.05)
    assert draws.std(axis=0).min() > 0.2


def test_task_weights_multiply_the_strategy_weights():
    s = UncertaintyWeighting().initialize(["a", "b"], torch.tensor([1.0, 0.25]), "cpu")
    _, weights = s.combine(torch.ones(2), torch.ones(2, dtype=torch.bool))
    np.testing.assert_allclose(weights.numpy(), [1.0, 0.25])
    g = np.eye(2)
    network = LinearTasks(g)
    s = IMTLWeighting(loss_scaling=False).initialize(["a", "b"], torch.tensor([1.0, 0.0]), "cpu")
    weights = s.backward(network.losses(), present=torch.ones(2, dtype=torch.bool), network=network)
    np.testing.assert_allclose(weights.numpy(), [1.0, 0.0])  # weight 0: left out


@pytest.mark.parametrize(
    "strategy, message",
    [
        (DWAWeighting(temperature=0), "'temperature' parameter of DWAWeighting must be a float"),
        (GradNormWeighting(alpha=-1.0), r"'alpha' parameter of GradNormWeighting .* Got -1.0"),
        (MGDAWeighting(normalization="max"), "'normalization' parameter of MGDAWeighting must be"),
        (RLWWeighting(distribution="beta"), r"'distribution' .* Got 'beta' instead"),
    ],
)
def test_bad_hyper_parameters_fail_before_training(strategy, message, mixed_data, fast):
    X, Y = mixed_data
    with pytest.raises(ValueError, match=message):
        MultiTaskEstimator(weighting=strategy, **fast).fit(X, Y)


# Regression cases of issue 15, each the case the issue gives.


def test_mgda_never_increases_a_task_loss_when_gradients_nearly_oppose():
    # Frank-Wolfe from the uniform point returned a direction with g_1 . d < 0 here.
    g = np.array([[1.0, 0.0, 0.0], [-1.0, 1e-3, 0.0], [0.0, 0.0, 1e-2]])
    update, weights = shared_update(MGDAWeighting(), g)
    # The exact min-norm point has all three in its support: equal progress |d|^2 each.
    np.testing.assert_allclose(g @ update, 3 * 2.4937649e-7, rtol=1e-6)
    rng = np.random.RandomState(0)
    for _ in range(100):
        g = rng.normal(size=(4, 10))
        g[1] = -g[0] * rng.uniform(0.5, 2.0) + 1e-3 * rng.normal(size=10)
        update, _ = shared_update(MGDAWeighting(), g)
        assert (g @ update > 0).all()


def test_min_norm_weights_meet_the_optimality_conditions():
    # KKT of min a^T G a on the simplex: (G a)_t >= a^T G a, with equality on the support.
    rng = np.random.RandomState(1)
    for _ in range(50):
        g = rng.normal(size=(5, 7)) * 10.0 ** rng.uniform(-2, 2, size=(5, 1))
        gram = g @ g.T
        alpha = min_norm_weights(gram)
        assert (alpha >= 0).all() and np.isclose(alpha.sum(), 1.0)
        value, progress = alpha @ gram @ alpha, gram @ alpha
        assert (progress >= value * (1 - 1e-8)).all()
        np.testing.assert_allclose(progress[alpha > 1e-9], value, rtol=1e-6)


def test_nash_update_does_not_grow_with_the_gradients_scale():
    # Dividing the Gram matrix by its norm made the update 0.0024, 2.4, 2400 long.
    g = np.random.RandomState(0).normal(size=(3, 8))
    for max_norm, length in [(None, np.sqrt(3)), (1.0, 1.0)]:
        lengths = [
            np.linalg.norm(shared_update(NashMTLWeighting(max_norm=max_norm), scale * g)[0])
            for scale in (1e-3, 1.0, 1e3)
        ]
        np.testing.assert_allclose(lengths, length, rtol=1e-4)


@pytest.mark.parametrize("strategy", [PCGradWeighting(), CAGradWeighting()])
def test_task_weights_do_not_bring_back_the_conflict(strategy):
    # Weights applied after the projection gave g_1 . d = -0.5 (PCGrad), -0.4 (CAGrad).
    g = np.array([[1.0, 0.0], [-1.0, 1.0]])
    update, weights = shared_update(strategy, g, task_weights=[1.0, 0.5])
    assert (g @ update > 0.1).all()


def test_famo_leaves_out_a_task_with_weight_zero():
    s = FAMOWeighting().initialize(list("abc"), torch.tensor([1.0, 1.0, 0.0]), "cpu")
    present = torch.ones(3, dtype=torch.bool)
    _, weights = s.combine(torch.tensor([1.0, 1.0, 0.01]), present)
    np.testing.assert_allclose(weights.numpy(), [1.5, 1.5, 0.0])  # was 0.03 each
    for _ in range(5):
        s.combine(torch.tensor([1.0, 1.0, 0.01]), present)
        s.on_step_end(lambda: torch.tensor([0.5, 0.9, 0.001]))
    assert s.logits_[2] == 0 and s.logits_[:2].abs().sum() > 0


def test_imtl_gives_an_update_for_linearly_dependent_gradients():
    # The equal-projection system alone admits alpha = (1, 1, -1): a zero update.
    g = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    update, weights = shared_update(IMTLWeighting(loss_scaling=False), g)
    np.testing.assert_allclose(update, [2.25, 2.25])  # pseudo-inverse: alpha = (1, 1, 2) / 4
    assert (g @ update > 0).all()


# The strategies added by issue 15.


def test_upgrad_averages_the_projections_onto_the_dual_cone():
    g = np.array([[1.0, 0.0], [-1.0, 1.0]])
    update, weights = shared_update(UPGradWeighting(), g)
    projected_0, projected_1 = np.array([0.5, 0.5]), np.array([0.0, 1.0])
    np.testing.assert_allclose(update, projected_0 + projected_1, atol=1e-9)
    np.testing.assert_allclose(weights, [2.0, 1.5], atol=1e-9)
    g = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # no conflict: the plain sum
    update, weights = shared_update(UPGradWeighting(), g)
    np.testing.assert_allclose(weights, 1.0, atol=1e-9)


def test_dualproj_projects_the_average_onto_the_dual_cone():
    g = np.array([[1.0, 0.0], [-2.0, 1.0]])  # the average (-0.5, 0.5) conflicts with g_0
    update, weights = shared_update(DualProjWeighting(), g)
    np.testing.assert_allclose(update / 2, [0.0, 0.5], atol=1e-9)  # its projection


def test_nnls_projector_meets_the_optimality_conditions():
    # min v^T G v s.t. v >= u: v >= u, G v >= 0 and (v - u) . G v = 0.
    rng = np.random.RandomState(2)
    for _ in range(50):
        g = rng.normal(size=(4, 6)) * 10.0 ** rng.uniform(-2, 2, size=(4, 1))
        gram = torch.as_tensor(g @ g.T)
        u = torch.as_tensor(rng.uniform(0, 1, size=(3, 4)))
        v = NNLSProjector()(u, gram)
        progress = v @ gram
        scale = (gram.diagonal().sqrt() * v.abs()).sum(dim=1, keepdim=True) * gram.diagonal().sqrt()
        assert (v >= u - 1e-12).all() and (progress >= -1e-9 * scale).all()
        np.testing.assert_allclose(((v - u) * progress).sum(dim=1), 0, atol=1e-8 * scale.max())


def test_aligned_mtl_equalises_the_singular_values():
    s = AlignedMTLWeighting().initialize(["a", "b"], torch.tensor([2.0, 1.0]), "cpu")
    g = np.array([[3.0, 0.0], [0.0, 1.0]])  # aligned to the smaller norm, then weighted
    np.testing.assert_allclose(s.weigh(g @ g.T, np.ones(2), np.arange(2)), [2 / 3, 1.0])
    # With one-hot task weights the weights are the columns of B; the aligned system B J
    # keeps J's smallest singular value as its only one.
    g = np.random.RandomState(3).normal(size=(3, 5))
    columns = [
        AlignedMTLWeighting()
        .initialize(list("abc"), torch.eye(3)[t], "cpu")
        .weigh(g @ g.T, np.ones(3), np.arange(3))
        for t in range(3)
    ]
    aligned = np.column_stack(columns) @ g
    singular = np.linalg.svd(g, compute_uv=False)
    np.testing.assert_allclose(np.linalg.svd(aligned, compute_uv=False), singular.min())


def test_gradvac_matches_torchjd_and_keeps_the_targets_of_absent_tasks():
    ours = GradVacWeighting().initialize(list("abcd"), torch.ones(4), "cpu")
    reference = aggregation.GradVacWeighting()
    rng = np.random.RandomState(4)
    for step in range(10):
        g = rng.normal(size=(4, 6))
        torch.manual_seed(step)
        weights = ours.weigh(g @ g.T, np.ones(4), np.arange(4))
        torch.manual_seed(step)
        np.testing.assert_allclose(weights, reference(torch.as_tensor(g @ g.T)).numpy())
    before = ours.target_similarity_.copy()
    g = rng.normal(size=(3, 6))
    ours.weigh(g @ g.T, np.ones(3), np.array([0, 1, 3]))  # task c absent
    np.testing.assert_array_equal(ours.target_similarity_[2], before[2])
    np.testing.assert_array_equal(ours.target_similarity_[:, 2], before[:, 2])


def test_config_matches_torchjds_aggregator():
    rng = np.random.RandomState(5)
    for n_tasks, dim in [(2, 5), (4, 6), (4, 3)]:
        s = ConFIGWeighting().initialize(list("abcd")[:n_tasks], torch.ones(n_tasks), "cpu")
        for _ in range(10):
            g = rng.normal(size=(n_tasks, dim)) * 10.0 ** rng.uniform(-2, 2, size=(n_tasks, 1))
            update = s.weigh(g @ g.T, np.ones(n_tasks), np.arange(n_tasks)) @ g
            expected = aggregation.ConFIG()(torch.as_tensor(g)).numpy()
            np.testing.assert_allclose(update, expected, rtol=1e-8, atol=1e-10)


def test_fairgrad_solves_its_equations_where_least_squares_stops_short():
    # Gradient norms spread over 1e-3 to 1e3: SciPy's least squares from the uniform point
    # (the authors' code, torchjd) stops short in some cases; the Newton solve does not.
    rng = np.random.RandomState(7)
    short = 0
    for _ in range(40):
        g = rng.normal(size=(4, 8)) * 10.0 ** rng.uniform(-3, 3, size=(4, 1))
        gram = g @ g.T
        for alpha in (0.5, 1.0, 2.0):
            x = alpha_fair_weights(gram, alpha)
            np.testing.assert_allclose(gram @ x * x ** (1 / alpha), 1.0, rtol=1e-7)
            with np.errstate(all="ignore"):
                y = aggregation.FairGradWeighting(alpha=alpha)(torch.as_tensor(gram)).numpy()
            short += np.abs(gram @ y * y ** (1 / alpha) - 1).max() > 1e-2
    assert short > 0
    # On a well-conditioned problem the two solvers agree; alpha = 1 is Nash-MTL.
    g = np.random.RandomState(6).normal(size=(4, 8))
    for alpha in (0.5, 1.0, 2.0):
        s = FairGradWeighting(alpha=alpha, ridge=0.0).initialize(list("abcd"), torch.ones(4), "cpu")
        x = s.weigh(g @ g.T, np.ones(4), np.arange(4))
        reference = aggregation.FairGradWeighting(alpha=alpha)(torch.as_tensor(g @ g.T)).numpy()
        np.testing.assert_allclose(x, reference, rtol=1e-5)
    nash, _ = shared_update(NashMTLWeighting(ridge=0.0, max_norm=None), g)
    fair, _ = shared_update(FairGradWeighting(ridge=0.0), g)
    np.testing.assert_allclose(fair, nash, rtol=1e-8)


def test_db_mtl_gives_every_task_the_largest_gradient_norm():
    g = np.array([[3.0, 0.0], [0.0, 1.0]])
    update, weights = shared_update(DBMTLWeighting(), g)
    np.testing.assert_allclose(weights, [1.0, 3.0])
    # First step: h_t = (1 - beta) g_t / L_t with L_t = 1; both components 0.1 * 3.
    np.testing.assert_allclose(update, [0.3, 0.3], rtol=1e-6)
    s = DBMTLWeighting().initialize(["a", "b"], torch.tensor([1.0, 2.0]), "cpu")
    losses = torch.tensor([0.5, 4.0], requires_grad=True)
    s.task_parameter_loss(losses, torch.ones(2, dtype=torch.bool)).backward()
    np.testing.assert_allclose(losses.grad.numpy(), [1 / 0.5, 2 / 4.0], rtol=1e-6)  # w_t / L_t
