"""dlbook.numpy.rl: dynamic programming on finite MDPs, GridWorld, Q-learning and SARSA."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dlbook.numpy as dnp


def random_mdp(seed: int, n_states: int, n_actions: int, dtype=np.float64):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(n_states, 0.5), size=(n_states, n_actions))
    R = rng.normal(size=(n_states, n_actions))
    return P.astype(dtype), R.astype(dtype)


mdps = st.tuples(st.integers(0, 2**31), st.integers(1, 7), st.integers(1, 4), st.floats(0.0, 0.97))


def bellman_residual(P, R, V, gamma):
    return np.abs((R + gamma * P @ V).max(axis=1) - V).max()


@settings(max_examples=40, deadline=None)
@given(mdps)
def test_policy_evaluation_solves_the_linear_system(case):
    seed, S, A, gamma = case
    P, R = random_mdp(seed, S, A)
    policy = np.random.default_rng(seed + 1).dirichlet(np.ones(A), size=S)
    V = dnp.policy_evaluation(P, R, policy, gamma)
    P_pi = np.einsum("sa,sat->st", policy, P)
    R_pi = (policy * R).sum(axis=1)
    exact = np.linalg.solve(np.eye(S) - gamma * P_pi, R_pi)
    np.testing.assert_allclose(V, exact, rtol=1e-7, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(mdps)
def test_value_and_policy_iteration_agree(case):
    seed, S, A, gamma = case
    P, R = random_mdp(seed, S, A)
    V_vi, greedy_vi = dnp.value_iteration(P, R, gamma)
    V_pi, greedy_pi = dnp.policy_iteration(P, R, gamma)
    np.testing.assert_allclose(V_vi, V_pi, rtol=1e-6, atol=1e-6)
    Q = R + gamma * P @ V_vi
    for greedy in (greedy_vi, greedy_pi):
        assert greedy.dtype.kind == "i" and greedy.shape == (S,)
        # each returned action is optimal (ties may be broken differently)
        assert np.all(Q[np.arange(S), greedy] >= Q.max(axis=1) - 1e-6)
        # and its value is V*
        V_greedy = dnp.policy_evaluation(P, R, np.eye(A)[greedy], gamma)
        np.testing.assert_allclose(V_greedy, V_vi, rtol=1e-6, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(mdps, st.sampled_from([1e-3, 1e-6, 1e-10]))
def test_value_iteration_bellman_residual_is_within_tol(case, tol):
    seed, S, A, gamma = case
    P, R = random_mdp(seed, S, A)
    V, _ = dnp.value_iteration(P, R, gamma, tol)
    assert bellman_residual(P, R, V, gamma) <= tol


def test_value_iteration_sweeps_grow_like_one_over_one_minus_gamma():
    env = dnp.GridWorld(["...G", ".#.X", "S..."], slip=0.2, step_reward=-0.04)
    sweeps = [
        dnp.value_iteration(env.P, env.R, g, 1e-8, return_sweeps=True)[2] for g in (0.5, 0.9, 0.99)
    ]
    assert sweeps[0] < sweeps[1] < sweeps[2]
    V, greedy, n = dnp.value_iteration(env.P, env.R, 0.9, 1e-8, return_sweeps=True)
    V2, greedy2 = dnp.value_iteration(env.P, env.R, 0.9, 1e-8)
    np.testing.assert_array_equal(V, V2)
    np.testing.assert_array_equal(greedy, greedy2)


def test_bellman_backup_is_one_sweep():
    P, R = random_mdp(0, 5, 3)
    V = np.random.default_rng(1).normal(size=5)
    TV, greedy = dnp.bellman_optimality_backup(P, R, V, 0.9)
    Q = R + 0.9 * np.einsum("sat,t->sa", P, V)
    np.testing.assert_allclose(TV, Q.max(axis=1), rtol=1e-12)
    np.testing.assert_array_equal(greedy, Q.argmax(axis=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype):
    P, R = random_mdp(3, 4, 2, dtype)
    policy = np.full((4, 2), 0.5, dtype=dtype)
    assert dnp.policy_evaluation(P, R, policy, 0.9).dtype == dtype
    assert dnp.value_iteration(P, R, 0.9)[0].dtype == dtype
    assert dnp.policy_iteration(P, R, 0.9)[0].dtype == dtype
    assert dnp.greedy_policy(R).dtype == dtype
    V64, _ = dnp.value_iteration(*random_mdp(3, 4, 2), 0.9)
    np.testing.assert_allclose(dnp.value_iteration(P, R, 0.9)[0], V64, rtol=1e-4)


def _bad_cases():
    P, R = random_mdp(0, 3, 2)
    policy = np.full((3, 2), 0.5)
    unnormalized = P.copy()
    unnormalized[1, 0] *= 1.5
    negative = P.copy()
    negative[0, 1] = [1.2, -0.1, -0.1]
    nan = P.copy()
    nan[0, 0, 0] = np.nan
    bad_policy = policy.copy()
    bad_policy[2] = [0.7, 0.7]
    return [
        ((unnormalized, R, policy, 0.9), r"P must have rows that sum to 1.*P\[1, 0, :\]"),
        ((negative, R, policy, 0.9), r"P must hold probabilities >= 0"),
        ((nan, R, policy, 0.9), r"P contains NaN"),
        ((P, R, policy, 1.0), r"gamma must lie in \[0, 1\)"),
        ((P, R, policy, -0.1), r"gamma must lie in \[0, 1\)"),
        ((P, R[:2], policy, 0.9), r"R must have shape \(S, A\) with S = 3"),
        ((P, R[:, :1], policy, 0.9), r"R must have shape \(S, A\) with A = 2"),
        ((P[:, :, :2], R, policy, 0.9), r"P must have shape \(S, A, S\) with S = 3"),
        ((P, R, policy[:, :1], 0.9), r"policy must have shape \(S, A\) with A = 2"),
        ((P, R, policy[:2], 0.9), r"policy must have shape \(S, A\) with S = 3"),
        ((P, R, bad_policy, 0.9), r"policy must have rows that sum to 1"),
        ((P[0], R, policy, 0.9), r"P must be a 3-D array"),
    ]


@pytest.mark.parametrize(("args", "match"), _bad_cases())
def test_policy_evaluation_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        dnp.policy_evaluation(*args)


@pytest.mark.parametrize(("args", "match"), [c for c in _bad_cases() if "policy" not in c[1]])
@pytest.mark.parametrize("solver", [dnp.value_iteration, dnp.policy_iteration])
def test_solvers_reject_bad_input(solver, args, match):
    P, R, _, gamma = args
    with pytest.raises(ValueError, match=match):
        solver(P, R, gamma)


def test_bad_tol_is_rejected():
    P, R = random_mdp(0, 3, 2)
    with pytest.raises(ValueError, match="tol must be a finite number > 0"):
        dnp.value_iteration(P, R, 0.9, tol=0)


# ---------------------------------------------------------------------------------------------
# GridWorld


def test_gridworld_model_is_a_valid_mdp():
    env = dnp.GridWorld(["S.#G", "...X"], slip=0.2, step_reward=-0.1)
    assert env.P.shape == (7, 4, 7) and env.R.shape == (7, 4)
    np.testing.assert_allclose(env.P.sum(axis=2), 1.0)
    assert env.terminal.tolist() == [False, False, True, False, False, False, True]
    g = env.cells.index((0, 3))
    np.testing.assert_array_equal(env.P[g, :, g], 1.0)  # terminal states are absorbing
    np.testing.assert_array_equal(env.R[g], 0.0)
    s = env.start
    # from the start, "right" goes right with 0.8 and slips up (a wall: stay) or down 0.1 each
    right = env.cells.index((0, 1))
    below = env.cells.index((1, 0))
    assert env.P[s, 1, right] == pytest.approx(0.8)
    assert env.P[s, 1, s] == pytest.approx(0.1)
    assert env.P[s, 1, below] == pytest.approx(0.1)
    assert env.R[s, 1] == pytest.approx(-0.1)


def test_gridworld_step_samples_from_P():
    env = dnp.GridWorld(["S..", "...", "..G"], slip=0.4)
    counts = np.zeros(env.n_states)
    env.reset(seed=0)
    for _ in range(4000):
        env.reset()
        s, r, term, trunc, info = env.step(1)
        counts[s] += 1
    np.testing.assert_allclose(counts / counts.sum(), env.P[env.start, 1], atol=0.03)


def test_gridworld_episode_api_and_cliff():
    env = dnp.cliff_walking()
    assert env.n_states == 48
    s, info = env.reset(seed=1)
    assert s == env.start and info == {}
    s, r, term, trunc, _ = env.step(1)  # into the cliff: back to the start
    assert (s, r, term, trunc) == (env.start, -100.0, False, False)
    s, r, *_ = env.step(0)
    assert r == -1.0
    env.step(1)
    for _ in range(10):
        env.step(1)
    s, r, term, _, _ = env.step(2)  # down into the goal
    assert term and env.terminal[s]
    short = dnp.GridWorld(["S..G"], max_steps=2)
    short.reset()
    assert not short.step(3)[3] and short.step(3)[3]  # truncated at max_steps


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"layout": ["S.", "."]}, "equal length"),
        ({"layout": ["S.Z"]}, "may contain only"),
        ({"layout": ["..G"]}, "exactly one start"),
        ({"layout": ["S.G"], "slip": 1.5}, r"slip must lie in \[0, 1\]"),
        ({"layout": ["S.G"], "step_reward": np.nan}, "step_reward must be a finite"),
    ],
)
def test_gridworld_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dnp.GridWorld(**kwargs)


def test_gridworld_rejects_bad_actions():
    env = dnp.GridWorld(["S.G"])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset()
    for action in (4, -1, 1.5):
        with pytest.raises(ValueError, match="action must be an int"):
            env.step(action)


def test_to_grid_places_values():
    env = dnp.GridWorld(["S#", ".G"])
    grid = env.to_grid(np.arange(3.0))
    assert np.isnan(grid[0, 1])
    assert grid[1, 1] == 2.0
    with pytest.raises(ValueError, match="values must have shape"):
        env.to_grid(np.arange(4.0))


# ---------------------------------------------------------------------------------------------
# Q-learning and SARSA


def test_q_learning_finds_the_optimal_policy_on_a_deterministic_grid():
    env = dnp.GridWorld(["...G", ".#.X", "S..."], step_reward=-0.04)
    gamma = 0.9
    V_star, _ = dnp.value_iteration(env.P, env.R, gamma)
    run = dnp.q_learning(
        env, 3000, alpha=0.5, gamma=gamma, epsilon=0.3, rng=np.random.default_rng(0)
    )
    greedy = run.Q.argmax(axis=1)
    V_greedy = dnp.policy_evaluation(env.P, env.R, np.eye(4)[greedy], gamma)
    live = ~env.terminal
    np.testing.assert_allclose(V_greedy[live], V_star[live], atol=1e-6)
    np.testing.assert_allclose(run.Q.max(axis=1)[live], V_star[live], atol=1e-4)


def test_cliff_walking_sarsa_is_safe_and_q_learning_is_optimal():
    env = dnp.cliff_walking()
    runs = {
        algo.__name__: algo(env, 500, alpha=0.5, epsilon=0.1, rng=np.random.default_rng(0))
        for algo in (dnp.q_learning, dnp.sarsa)
    }

    # Q-learning's greedy path runs along the cliff edge (row 2); SARSA's keeps further away
    def greedy_path(Q):
        s, rows = env.start, []
        for _ in range(50):
            s = int(np.argmax(env.P[s, int(Q[s].argmax())]))
            rows.append(env.cells[s][0])
            if env.terminal[s]:
                break
        return rows

    q_rows, s_rows = greedy_path(runs["q_learning"].Q), greedy_path(runs["sarsa"].Q)
    assert len(q_rows) == 13 and min(q_rows[:-1]) == 2  # the optimal 13-step path
    assert min(s_rows[:-1]) < 2
    # ... yet SARSA earns more while it explores (Sutton and Barto, Figure 6.4)
    assert runs["sarsa"].returns[100:].mean() > runs["q_learning"].returns[100:].mean()
    assert runs["sarsa"].returns.shape == (500,) and runs["sarsa"].lengths.min() >= 13


def test_td_learners_are_reproducible_and_validate():
    env = dnp.GridWorld(["S..G"])
    a = dnp.sarsa(env, 20, rng=np.random.default_rng(5))
    b = dnp.sarsa(env, 20, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.Q, b.Q)
    for kwargs, match in [
        ({"alpha": 0.0}, r"alpha must lie in \(0, 1\]"),
        ({"gamma": 1.1}, r"gamma must lie in \[0, 1\]"),
        ({"epsilon": -0.1}, r"epsilon must lie in \[0, 1\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            dnp.q_learning(env, 5, rng=np.random.default_rng(0), **kwargs)
    with pytest.raises(ValueError, match="episodes must be an int"):
        dnp.q_learning(env, 0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        dnp.sarsa(env, 5, rng=0)


class NaNEnv:
    n_states, n_actions = 2, 2

    def reset(self, *, seed=None):
        return 0, {}

    def step(self, action):
        return 1, float("nan"), False, False, {}


def test_a_nan_reward_stops_learning_with_a_clear_error():
    for algo in (dnp.q_learning, dnp.sarsa):
        with pytest.raises(ValueError, match=r"env.step returned the reward nan in episode 0"):
            algo(NaNEnv(), 3, rng=np.random.default_rng(0))


def test_q_learning_runs_on_a_gymnasium_env():
    gym = pytest.importorskip("gymnasium")
    env = gym.make("CliffWalking-v1")
    run = dnp.q_learning(env, 50, rng=np.random.default_rng(0))
    assert run.Q.shape == (48, 4) and run.returns.shape == (50,)


def test_epsilon_greedy_breaks_ties_and_explores():
    rng = np.random.default_rng(0)
    picks = [dnp.epsilon_greedy(np.array([1.0, 1.0, 0.0]), 0.0, rng=rng) for _ in range(200)]
    assert set(picks) == {0, 1}
    picks = [dnp.epsilon_greedy(np.array([1.0, 0.0, 0.0]), 1.0, rng=rng) for _ in range(300)]
    assert set(picks) == {0, 1, 2}
