"""dlbook.numpy.optim: step-for-step parity with torch.optim and torch.optim.lr_scheduler in
float64, input checks that leave the parameters untouched, ISTA and the test surfaces."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook.numpy import optim
from dlbook.numpy.gradcheck import numerical_gradient

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 1, 3)]
STEPS = 50


def grid(**options):
    """Every combination of the option values, as dicts."""
    names = list(options)
    return [
        dict(zip(names, values, strict=True)) for values in itertools.product(*options.values())
    ]


def run_both(name, hyper, seed=0, steps=STEPS):
    """Run dnp.<name> and torch.optim.<name> on the same random parameters and gradients.

    The gradients change scale from step to step (so amsgrad's maximum and the centered
    variance matter) and depend on the parameters (so weight decay feeds back).
    """
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in SHAPES]
    ours = [p.copy() for p in params]
    theirs = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    opt = getattr(dnp, name)(ours, **hyper)
    topt = getattr(torch.optim, name)(theirs, **hyper)
    for _ in range(steps):
        scale = rng.uniform(0.05, 3.0)
        noise = [scale * rng.normal(size=s) for s in SHAPES]
        grads = [n + 0.5 * p for n, p in zip(noise, ours, strict=True)]
        opt.step(grads)
        for t, n in zip(theirs, noise, strict=True):
            t.grad = torch.tensor(n, dtype=torch.float64) + 0.5 * t.detach()
        topt.step()
    return ours, [t.detach().numpy() for t in theirs]


def assert_same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


SGD_CASES = grid(
    lr=[0.05], momentum=[0.0, 0.9], dampening=[0.0, 0.3], weight_decay=[0.0, 0.01],
    nesterov=[False, True],
)  # fmt: skip
SGD_VALID = [c for c in SGD_CASES if not c["nesterov"] or (c["momentum"] and not c["dampening"])]
SGD_INVALID = [c for c in SGD_CASES if c not in SGD_VALID]

CASES = {
    "SGD": SGD_VALID,
    "Adagrad": grid(
        lr=[0.1], lr_decay=[0, 0.05], weight_decay=[0, 0.1], initial_accumulator_value=[0, 0.5],
        eps=[1e-10, 1e-3],
    ),
    "RMSprop": grid(
        lr=[0.01], alpha=[0.99, 0.5], weight_decay=[0, 0.1], momentum=[0, 0.9],
        centered=[False, True],
    ),
    "Adadelta": grid(lr=[1.0, 0.5], rho=[0.9, 0.5], weight_decay=[0, 0.1], eps=[1e-6, 1e-3]),
    "Adam": grid(
        lr=[0.01], betas=[(0.9, 0.999), (0.5, 0.9)], weight_decay=[0, 0.1], amsgrad=[False, True],
    ),
    "AdamW": grid(
        lr=[0.01], betas=[(0.9, 0.999), (0.0, 0.5)], weight_decay=[0, 0.01, 0.1],
        amsgrad=[False, True],
    ),
}  # fmt: skip
PARITY = [
    pytest.param(name, hyper, id=f"{name}-{i}")
    for name, cases in CASES.items()
    for i, hyper in enumerate(cases)
]


@pytest.mark.parametrize(("name", "hyper"), PARITY)
def test_matches_torch_for_every_option(name, hyper):
    assert_same(*run_both(name, hyper))


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_with_the_defaults(name):
    hyper = {"lr": 0.05} if name == "SGD" else {}
    assert_same(*run_both(name, hyper, seed=1))


def test_parity_test_can_fail(monkeypatch):
    """A rule that differs from torch's only slightly (Adam's eps inside the square root) fails."""

    def eps_inside(self, i, p, g):
        m, v = self.m[i], self.v[i]
        m += (1 - self.beta1) * (g - m)
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        m_hat, v_hat = m / (1 - self.beta1**self.t), v / (1 - self.beta2**self.t)
        p -= self.lr * m_hat / np.sqrt(v_hat + self.eps)

    monkeypatch.setattr(dnp.Adam, "_adam_step", eps_inside)
    with pytest.raises(AssertionError):
        assert_same(*run_both("Adam", {"lr": 0.01}))


@pytest.mark.parametrize("hyper", SGD_INVALID, ids=str)
def test_nesterov_needs_momentum_and_no_dampening(hyper):
    with pytest.raises(ValueError, match="nesterov"):
        dnp.SGD([np.zeros(2)], **hyper)
    with pytest.raises(ValueError):
        torch.optim.SGD([torch.zeros(2, requires_grad=True)], **hyper)


def test_lr_can_follow_a_schedule_like_torch():
    rng = np.random.default_rng(2)
    p = [rng.normal(size=4)]
    t = [torch.tensor(p[0], requires_grad=True)]
    opt, topt = dnp.SGD(p, lr=0.1, momentum=0.9), torch.optim.SGD(t, lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=20)
    for k in range(20):
        opt.lr = dnp.cosine_annealing_lr(k, 0.1, T_max=20)
        g = rng.normal(size=4)
        opt.step([g])
        t[0].grad = torch.tensor(g)
        topt.step()
        sched.step()
    np.testing.assert_allclose(p[0], t[0].detach().numpy(), rtol=1e-10)


def test_float32_params_are_updated_in_place():
    p = np.ones(3, dtype=np.float32)
    dnp.Adam([p], lr=0.1).step([np.ones(3)])
    assert p.dtype == np.float32
    np.testing.assert_allclose(p, 0.9, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Bad input: ValueError naming the problem, and nothing changes


def make(name, params, **hyper):
    return getattr(dnp, name)(params, **({"lr": 0.1} if name == "SGD" else {}) | hyper)


ALL = list(CASES)


@pytest.mark.parametrize("name", ALL)
def test_negative_lr_raises(name):
    with pytest.raises(ValueError, match="lr must be"):
        make(name, [np.zeros(2)], lr=-0.1)
    opt = make(name, [np.zeros(2)])
    with pytest.raises(ValueError, match="lr must be"):
        opt.lr = -1.0


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.9), (0.9, 1.5), (0.9,)])
def test_betas_outside_unit_interval_raise(name, betas):
    with pytest.raises(ValueError, match="betas"):
        make(name, [np.zeros(2)], betas=betas)


@pytest.mark.parametrize("name", ["Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"])
@pytest.mark.parametrize("eps", [0.0, -1e-8, float("nan")])
def test_eps_must_be_positive(name, eps):
    with pytest.raises(ValueError, match="eps must be"):
        make(name, [np.zeros(2)], eps=eps)


@pytest.mark.parametrize(
    ("hyper", "match"),
    [
        ({"momentum": -0.5}, "momentum"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"dampening": 2.0}, "dampening"),
        ({"nesterov": 1}, "nesterov must be True or False"),
    ],
)
def test_sgd_rejects_bad_hyperparameters(hyper, match):
    with pytest.raises(ValueError, match=match):
        dnp.SGD([np.zeros(2)], lr=0.1, **hyper)


@pytest.mark.parametrize(
    ("name", "hyper", "match"),
    [
        ("RMSprop", {"alpha": 1.5}, "alpha"),
        ("RMSprop", {"centered": "yes"}, "centered"),
        ("Adadelta", {"rho": -0.1}, "rho"),
        ("Adagrad", {"lr_decay": -1}, "lr_decay"),
        ("Adagrad", {"initial_accumulator_value": -1}, "initial_accumulator_value"),
        ("Adam", {"amsgrad": None}, "amsgrad"),
    ],
)
def test_other_bad_hyperparameters(name, hyper, match):
    with pytest.raises(ValueError, match=match):
        make(name, [np.zeros(2)], **hyper)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ([], "non-empty list"),
        (np.zeros(3), "non-empty list"),
        ([[1.0, 2.0]], "must be a floating-point NumPy array"),
        ([np.zeros(2, dtype=np.int64)], "must be a floating-point NumPy array"),
        ([np.array([1.0, np.nan])], "params\\[0\\] contains NaN"),
    ],
)
def test_bad_params_raise(params, match):
    with pytest.raises(ValueError, match=match):
        dnp.Adam(params)


BAD_GRADS = [
    ("too few", lambda g: g[:-1], "expected 3, got 2"),
    ("too many", lambda g: [*g, np.zeros(2)], "expected 3, got 4"),
    ("wrong shape", lambda g: [g[0], g[1].reshape(5, 1), g[2]], r"grads\[1\] must have the shape"),
    ("transposed", lambda g: [g[0].T, g[1], g[2]], r"grads\[0\] must have the shape"),
    ("NaN", lambda g: [g[0], g[1], np.where(g[2] > 0, np.nan, g[2])], r"grads\[2\] contains NaN"),
    ("inf", lambda g: [np.full_like(g[0], np.inf), g[1], g[2]], r"grads\[0\] contains inf"),
    ("an array", lambda g: g[0], "grads must be a list"),
]


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(("case", "corrupt", "match"), BAD_GRADS, ids=[c[0] for c in BAD_GRADS])
def test_bad_grads_raise_before_any_parameter_changes(name, case, corrupt, match):
    rng = np.random.default_rng(3)
    params = [rng.normal(size=s) for s in SHAPES]
    opt = make(name, params, **({"momentum": 0.9} if name in ("SGD", "RMSprop") else {}))
    opt.step([rng.normal(size=s) for s in SHAPES])  # some state to corrupt, too
    before = [p.copy() for p in params]
    state = {k: [np.copy(a) for a in v] for k, v in vars(opt).items() if isinstance(v, list)}
    grads = [rng.normal(size=s) for s in SHAPES]
    with pytest.raises(ValueError, match=match):
        opt.step(corrupt(grads))
    for p, b in zip(params, before, strict=True):
        np.testing.assert_array_equal(p, b)  # the first parameters too: nothing was updated
    assert opt.t == 1
    for k, v in state.items():
        for a, b in zip(getattr(opt, k), v, strict=True):
            np.testing.assert_array_equal(a, b)


def test_state_is_per_parameter_and_grads_are_not_modified():
    g = [np.ones(2), 2 * np.ones(3)]
    copies = [x.copy() for x in g]
    params = [np.zeros(2), np.zeros(3)]
    opt = dnp.SGD(params, lr=1.0, momentum=0.5, weight_decay=0.1)
    opt.step(g)
    opt.step(g)
    for a, b in zip(g, copies, strict=True):
        np.testing.assert_array_equal(a, b)
    assert opt.velocity[0].shape == (2,) and opt.velocity[1].shape == (3,)


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules


def torch_lrs(make_scheduler, n, lr=0.1, optimizer=None):
    p = torch.zeros(1, requires_grad=True)
    opt = optimizer([p]) if optimizer else torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(n):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return np.array(lrs)


LRS = torch.optim.lr_scheduler


@pytest.mark.parametrize(("step_size", "gamma"), [(1, 0.5), (7, 0.1), (10, 0.9)])
def test_step_lr_matches_torch(step_size, gamma):
    want = torch_lrs(lambda o: LRS.StepLR(o, step_size, gamma), 60)
    np.testing.assert_allclose(dnp.step_lr(np.arange(61), 0.1, step_size, gamma), want, rtol=1e-10)


@pytest.mark.parametrize(("T_max", "eta_min"), [(10, 0.0), (25, 0.001), (7, 0.05)])
def test_cosine_annealing_lr_matches_torch(T_max, eta_min):
    n = 3 * T_max  # past T_max torch's schedule rises again; so does ours
    want = torch_lrs(lambda o: LRS.CosineAnnealingLR(o, T_max, eta_min), n)
    got = dnp.cosine_annealing_lr(np.arange(n + 1), 0.1, T_max, eta_min)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize(
    ("start", "end", "iters"), [(1 / 3, 1.0, 5), (0.01, 1.0, 20), (1.0, 0.1, 8), (0.5, 0.5, 3)]
)
def test_linear_warmup_matches_torch_linear_lr(start, end, iters):
    want = torch_lrs(lambda o: LRS.LinearLR(o, start, end, iters), 30)
    got = dnp.linear_warmup(np.arange(31), 0.1, start, end, iters)
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize(
    "hyper",
    grid(
        total_steps=[100, 37], pct_start=[0.3, 0.5], anneal_strategy=["cos", "linear"],
        three_phase=[False, True],
    ),
    ids=str,
)  # fmt: skip
def test_one_cycle_lr_matches_torch(hyper):
    n = hyper["total_steps"] - 1
    want = torch_lrs(lambda o: LRS.OneCycleLR(o, max_lr=0.5, cycle_momentum=False, **hyper), n)
    got = dnp.one_cycle_lr(np.arange(n + 1), 0.5, **hyper)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_schedules_accept_an_int_step_and_reject_bad_steps():
    assert dnp.step_lr(10, 1.0, 5, 0.5) == 0.25
    assert isinstance(dnp.cosine_annealing_lr(3, 0.1, 10), float)
    for bad in (-1, 1.5, np.array([0, -2])):
        with pytest.raises(ValueError, match="step must be"):
            dnp.cosine_annealing_lr(bad, 0.1, 10)
    with pytest.raises(ValueError, match="total_steps"):
        dnp.one_cycle_lr(101, 0.1, 100)
    with pytest.raises(ValueError, match="T_max"):
        dnp.cosine_annealing_lr(1, 0.1, 0)
    with pytest.raises(ValueError, match="start_factor"):
        dnp.linear_warmup(1, 0.1, start_factor=0.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        dnp.one_cycle_lr(1, 0.1, 100, anneal_strategy="exp")


# ---------------------------------------------------------------------------------------------
# Soft-thresholding and ISTA


def test_soft_threshold_matches_torch_softshrink(rng):
    x = rng.normal(size=(20, 7)) * 2
    for t in (0.0, 0.3, 1.0, 5.0):
        want = torch.nn.functional.softshrink(torch.tensor(x), t).numpy()
        np.testing.assert_allclose(dnp.soft_threshold(x, t), want, rtol=1e-15)
    assert np.all(dnp.soft_threshold(x, 0.5)[np.abs(x) <= 0.5] == 0.0)


def test_soft_threshold_rejects_bad_input():
    with pytest.raises(ValueError, match="t must be"):
        dnp.soft_threshold(np.ones(3), -0.1)
    with pytest.raises(ValueError, match="x contains NaN"):
        dnp.soft_threshold(np.array([1.0, np.nan]), 0.1)


def test_proximal_step_is_the_prox_of_the_l1_penalty(rng):
    """The prox minimizes lr * lam * |u|_1 + |u - v|^2 / 2 with v = w - lr * grad."""
    w, g = rng.normal(size=6), rng.normal(size=6)
    lr, lam = 0.3, 0.8
    u = dnp.proximal_l1_step(w, g, lr, lam)
    v = w - lr * g

    def objective(z):
        return lr * lam * np.abs(z).sum() + 0.5 * np.sum((z - v) ** 2, axis=-1)

    trials = u + 0.05 * rng.normal(size=(2000, 6))
    assert np.all(objective(trials) >= objective(u))
    with pytest.raises(ValueError, match=r"grad must have shape \(6,\)"):
        dnp.proximal_l1_step(w, g[:5], lr, lam)


def lasso_problem(rng, n=40, d=30, k=4):
    A = rng.normal(size=(n, d))
    w_true = np.zeros(d)
    w_true[:k] = rng.normal(size=k) * 3
    return A, A @ w_true + 0.1 * rng.normal(size=n)


def test_ista_satisfies_the_lasso_optimality_conditions(rng):
    """At the lasso minimum, c = A^T (b - A w) equals lam * sign(w_j) where w_j != 0 and
    |c_j| <= lam where w_j == 0."""
    A, b = lasso_problem(rng)
    lam = 5.0
    fit = dnp.ista(A, b, lam, steps=3000)
    c = A.T @ (b - A @ fit.w)
    nz = fit.w != 0
    assert 0 < nz.sum() < len(nz)  # exact zeros, and not all of them
    np.testing.assert_allclose(c[nz], lam * np.sign(fit.w[nz]), atol=1e-6)
    assert np.all(np.abs(c[~nz]) <= lam + 1e-6)
    assert np.all(np.diff(fit.objective) <= 1e-9)  # monotone with lr = 1 / L


def test_ista_matches_sklearn_lasso(rng):
    linear_model = pytest.importorskip("sklearn.linear_model")
    A, b = lasso_problem(rng)
    lam = 5.0
    fit = dnp.ista(A, b, lam, steps=5000)
    # sklearn minimizes |b - A w|^2 / (2 N) + alpha |w|_1, so alpha = lam / N
    ref = linear_model.Lasso(alpha=lam / len(b), fit_intercept=False, tol=1e-12, max_iter=100_000)
    ref.fit(A, b)
    np.testing.assert_allclose(fit.w, ref.coef_, atol=1e-6)
    assert np.array_equal(fit.w == 0, ref.coef_ == 0)


def test_ista_rejects_bad_shapes():
    with pytest.raises(ValueError, match="b must"):
        dnp.ista(np.ones((4, 3)), np.ones(5), 0.1)
    with pytest.raises(ValueError, match="lam must be"):
        dnp.ista(np.ones((4, 3)), np.ones(4), -1.0)


# ---------------------------------------------------------------------------------------------
# Test surfaces and trajectories


@pytest.mark.parametrize("name", list(optim.SURFACES))
def test_surface_gradients_match_numerical(name, rng):
    surface = optim.SURFACES[name]
    for _ in range(5):
        x = rng.uniform(-1.5, 1.5, size=2)
        expected = numerical_gradient(lambda v: np.atleast_1d(surface.f(v)), x, np.ones(1))
        np.testing.assert_allclose(surface.grad(x), expected, rtol=1e-6, atol=1e-6)
    assert surface.f(np.array(surface.minimum)) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(surface.grad(np.array(surface.minimum)), 0.0, atol=1e-12)


def test_surfaces_are_vectorized():
    pts = np.stack(np.meshgrid(np.linspace(-1, 1, 4), np.linspace(0, 2, 3)), axis=-1)
    for surface in optim.SURFACES.values():
        assert surface.f(pts).shape == (3, 4) and surface.grad(pts).shape == (3, 4, 2)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        dnp.rosenbrock(np.ones(3))


def test_trajectory_rows_are_the_optimizer_steps():
    path = dnp.trajectory(dnp.quadratic_grad, [1.0, 1.0], dnp.SGD, steps=3, lr=0.01)
    x = np.array([1.0, 1.0])
    expected = [x.copy()]
    for _ in range(3):
        x = x - 0.01 * dnp.quadratic_grad(x)
        expected.append(x)
    np.testing.assert_allclose(path, expected, rtol=1e-15)


def test_trajectory_stops_when_it_diverges():
    path = dnp.trajectory(dnp.rosenbrock_grad, [-1.5, 2.0], dnp.SGD, steps=200, lr=0.01)
    assert 1 < len(path) < 201
    assert np.all(np.isfinite(path))


def test_check_hyperparameters_returns_values_in_order_and_knows_torch_names():
    lr, betas, nesterov = dnp.check_hyperparameters(lr=0.1, betas=(0.9, 0.99), nesterov=False)
    assert (lr, betas, nesterov) == (0.1, (0.9, 0.99), False)
    with pytest.raises(TypeError, match="does not know"):
        dnp.check_hyperparameters(learning_rate=0.1)
    with pytest.raises(ValueError, match="pct_start \\* total_steps must exceed 1"):
        dnp.one_cycle_lr(0, 0.1, total_steps=3, pct_start=0.3)


def test_optimizer_state_keeps_the_parameter_dtype():
    p = np.ones(3, dtype=np.float32)
    opt = dnp.Adam([p], lr=0.1)
    opt.step([np.ones(3, dtype=np.float32)])
    assert p.dtype == opt.m[0].dtype == opt.v[0].dtype == np.float32


# ---------------------------------------------------------------------------------------------
# Gradient clipping


def clip_torch(grads, max_norm=None, clip_value=None):
    """torch.nn.utils' clipping, in float64, on tensors holding `grads` as their .grad."""
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g, dtype=torch.float64)
    if max_norm is not None:
        total = torch.nn.utils.clip_grad_norm_(params, max_norm).item()
    else:
        torch.nn.utils.clip_grad_value_(params, clip_value)
        total = None
    return [p.grad.numpy() for p in params], total


@pytest.mark.parametrize("max_norm", [1e-3, 0.5, 3.0, 1e3])
@pytest.mark.parametrize("seed", range(3))
def test_clip_grad_norm_matches_torch(max_norm, seed):
    rng = np.random.default_rng(seed)
    grads = [rng.normal(size=s) * rng.uniform(0.1, 5) for s in SHAPES]
    ours, total = dnp.clip_grad_norm(grads, max_norm)
    theirs, torch_total = clip_torch(grads, max_norm=max_norm)
    assert total == pytest.approx(torch_total, rel=1e-12)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_keeps_the_direction_and_caps_the_norm(rng):
    grads = [rng.normal(size=s) * 10 for s in SHAPES]
    flat = np.concatenate([g.ravel() for g in grads])
    clipped, total = dnp.clip_grad_norm(grads, 1.0)
    flat_clipped = np.concatenate([g.ravel() for g in clipped])
    assert total == pytest.approx(np.linalg.norm(flat))
    assert np.linalg.norm(flat_clipped) == pytest.approx(1.0, rel=1e-5)
    cosine = flat @ flat_clipped / (np.linalg.norm(flat) * np.linalg.norm(flat_clipped))
    assert cosine == pytest.approx(1.0, abs=1e-12)
    # below the threshold nothing changes; the inputs are never modified
    small, _ = dnp.clip_grad_norm(clipped, 2.0)
    for a, b in zip(small, clipped, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert np.abs(grads[0]).max() > 1.0


@pytest.mark.parametrize("clip_value", [0.1, 1.0, 10.0])
def test_clip_grad_value_matches_torch(rng, clip_value):
    grads = [rng.normal(size=s) * 2 for s in SHAPES]
    theirs, _ = clip_torch(grads, clip_value=clip_value)
    for a, b in zip(dnp.clip_grad_value(grads, clip_value), theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_clip_grad_value_can_turn_the_direction():
    g = [np.array([10.0, 0.1])]
    (clipped,) = dnp.clip_grad_value(g, 1.0)
    np.testing.assert_array_equal(clipped, [1.0, 0.1])
    (by_norm,), _ = dnp.clip_grad_norm(g, 1.0)
    assert by_norm[0] / by_norm[1] == pytest.approx(100.0)
    assert clipped[0] / clipped[1] == pytest.approx(10.0)


def test_clipping_keeps_float32():
    grads = [np.ones((2, 3), np.float32) * 5, np.ones(3, np.float32)]
    clipped, _ = dnp.clip_grad_norm(grads, 1.0)
    assert all(g.dtype == np.float32 for g in clipped)
    assert all(g.dtype == np.float32 for g in dnp.clip_grad_value(grads, 1.0))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: dnp.clip_grad_norm([np.ones(2)], 0.0), "max_norm"),
        (lambda: dnp.clip_grad_norm([np.ones(2)], -1.0), "max_norm"),
        (lambda: dnp.clip_grad_norm(np.ones(2), 1.0), "grads"),
        (lambda: dnp.clip_grad_norm([], 1.0), "grads"),
        (lambda: dnp.clip_grad_norm([np.ones(2), np.array([1.0, np.nan])], 1.0), r"grads\[1\]"),
        (lambda: dnp.clip_grad_value([np.ones(2)], 0.0), "clip_value"),
        (lambda: dnp.clip_grad_value([np.array([np.inf])], 1.0), r"grads\[0\]"),
    ],
)
def test_clipping_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
