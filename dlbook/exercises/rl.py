"""Checks for the exercises of the chapter "Reinforcement learning".

Each check compares the learner's function with the `dlbook.numpy.rl` reference (or with the
exact expectation) on random finite MDPs, raises AssertionError with a hint when it differs,
and prints one line when it agrees. Never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import OK, check_close

__all__ = [
    "check_bellman_backup",
    "check_expected_policy_gradient",
    "check_policy_evaluation",
]


def _mdps(seed: int, n: int = 8) -> list[tuple[np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(seed)
    cases = []
    for k in range(n):
        S, A = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        P = rng.dirichlet(np.full(S, 0.5), size=(S, A))
        R = rng.normal(size=(S, A))
        gamma = [0.0, 0.5, 0.9, 0.99][k % 4]
        cases.append((P, R, gamma))
    return cases


def check_bellman_backup(backup: Callable, *, seed: int = 0) -> None:
    """Compare backup(P, R, V, gamma) -> (new V (S,), greedy actions (S,)) with
    `dnp.bellman_optimality_backup` on random MDPs and value vectors."""
    rng = np.random.default_rng(seed + 1)
    for P, R, gamma in _mdps(seed):
        V = rng.normal(size=R.shape[0])
        want_V, want_greedy = dnp.bellman_optimality_backup(P, R, V, gamma)
        out = backup(P, R, V, gamma)
        if not isinstance(out, tuple) or len(out) != 2:
            raise AssertionError("backup must return a pair (new values, greedy actions)")
        got_V, got_greedy = out
        where = f"(S={R.shape[0]}, A={R.shape[1]}, gamma={gamma})"
        check_close(f"new values {where}", got_V, want_V, rtol=1e-8, atol=1e-10)
        got_greedy = np.asarray(got_greedy)
        if got_greedy.shape != want_greedy.shape or not np.array_equal(got_greedy, want_greedy):
            raise AssertionError(
                f"greedy actions {where}: got {got_greedy.tolist()}, expected "
                f"{want_greedy.tolist()} (argmax over actions of R + gamma P V)"
            )
    print(f"{OK} your Bellman optimality backup matches dnp.bellman_optimality_backup")


def check_policy_evaluation(evaluate: Callable, *, seed: int = 0) -> None:
    """Compare evaluate(P, R, policy, gamma) -> V (S,) with `dnp.policy_evaluation` on random
    MDPs, with random stochastic policies and deterministic ones."""
    rng = np.random.default_rng(seed + 2)
    for k, (P, R, gamma) in enumerate(_mdps(seed)):
        S, A = R.shape
        policy = rng.dirichlet(np.ones(A), size=S) if k % 2 else np.eye(A)[rng.integers(A, size=S)]
        want = dnp.policy_evaluation(P, R, policy, gamma)
        got = evaluate(P, R, policy, gamma)
        check_close(f"V_pi (S={S}, A={A}, gamma={gamma})", got, want, rtol=1e-6, atol=1e-8)
    print(f"{OK} your policy evaluation matches dnp.policy_evaluation")


def _expected_gradient(theta: np.ndarray, rewards: np.ndarray, baseline: float) -> np.ndarray:
    """sum_a pi(a) (r_a - b) grad_theta log pi(a), with grad log pi(a) = e_a - pi."""
    pi = np.exp(theta - theta.max())
    pi /= pi.sum()
    return ((rewards - baseline) * pi) @ (np.eye(len(pi)) - pi)


def check_expected_policy_gradient(expected_gradient: Callable, *, seed: int = 0) -> None:
    """Compare expected_gradient(theta, rewards, baseline) -> (K,) with the exact expectation
    over actions of (r_a - b) grad log softmax(theta)_a, for several baselines b; then report
    that the result does not depend on b."""
    rng = np.random.default_rng(seed + 3)
    for _ in range(6):
        k = int(rng.integers(2, 6))
        theta, rewards = rng.normal(size=k), rng.normal(size=k)
        for b in (0.0, float(rng.normal() * 3), float(rewards.mean())):
            got = expected_gradient(theta.copy(), rewards.copy(), b)
            check_close(
                f"expected gradient (K={k}, baseline={b:.3g})",
                got,
                _expected_gradient(theta, rewards, b),
                rtol=1e-8,
                atol=1e-12,
            )
    theta, rewards = rng.normal(size=4), rng.normal(size=4)
    spread = max(
        np.abs(expected_gradient(theta, rewards, b) - expected_gradient(theta, rewards, 0.0)).max()
        for b in (-10.0, 1.0, 10.0)
    )
    print(
        f"{OK} your expected policy gradient is exact; changing the baseline from 0 to +-10 "
        f"changes it by at most {spread:.1e}: a baseline does not bias the gradient"
    )
