"""Finite Markov decision processes and tabular reinforcement learning, in NumPy.

A finite MDP is given by P (S, A, S), the transition probabilities P[s, a, s'], and R (S, A),
the expected reward of taking action a in state s. A policy is an (S, A) array of action
probabilities. Book: chapter "Reinforcement learning" ({ref}`ch-rl`).

`GridWorld` builds such an MDP from a text map and is also an environment with gymnasium's
`reset`/`step` API, so the tabular learners `q_learning` and `sarsa` run on it or on any
gymnasium environment with discrete states and actions. Never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from dlbook.checks import check_fraction, check_int, check_positive, check_rng, shapes

__all__ = [
    "GridWorld",
    "TabularRun",
    "bellman_optimality_backup",
    "check_mdp",
    "cliff_walking",
    "epsilon_greedy",
    "greedy_policy",
    "policy_evaluation",
    "policy_iteration",
    "q_learning",
    "sarsa",
    "value_iteration",
    "value_tolerance",
]

_ATOL = 1e-6  # how far a row of probabilities may be from summing to 1


def _check_probabilities(name: str, p: np.ndarray) -> np.ndarray:
    """Entries >= 0 and each row along the last axis summing to 1, or ValueError naming `name`."""
    if (p < 0).any():
        raise ValueError(f"{name} must hold probabilities >= 0; its smallest entry is {p.min()}")
    sums = p.sum(axis=-1)
    bad = np.abs(sums - 1) > _ATOL
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must have rows that sum to 1 over its last axis; "
            f"{name}[{', '.join(map(str, where))}, :] sums to {sums[where]}"
        )
    return p


def check_mdp(
    P: np.ndarray, R: np.ndarray, gamma: float, policy: np.ndarray | None = None
) -> float:
    """Check that P (S, A, S) holds probabilities with rows summing to 1 (and `policy` (S, A),
    if given), and return the discount gamma, which must lie in [0, 1). The shapes are checked
    by the caller's @shapes decorator. Raises ValueError naming the argument."""
    _check_probabilities("P", P)
    if policy is not None:
        _check_probabilities("policy", policy)
    return check_fraction("gamma", gamma)


def value_tolerance(tol: float, V: np.ndarray) -> float:
    """The stopping tolerance for values V: `tol` (checked to be > 0), raised to a few units of
    V's rounding error (a float32 V cannot get within 1e-10 of anything of size 1)."""
    floor = 8 * float(np.finfo(V.dtype).eps) * (1.0 + float(np.abs(V).max()))
    return max(check_positive("tol", tol), floor)


@shapes(P="S A S", R="S A", policy="S A")
def policy_evaluation(
    P: np.ndarray, R: np.ndarray, policy: np.ndarray, gamma: float, *, tol: float = 1e-10
) -> np.ndarray:
    """V_pi (S,) of `policy` (S, A) by iterating the Bellman expectation backup.

    Sweeps V <- R_pi + gamma P_pi V from V = 0 until no value changes by more than `tol`
    (then |V - V_pi| <= gamma tol / (1 - gamma)). Book: {ref}`sec-rl-bellman`.
    """
    gamma = check_mdp(P, R, gamma, policy)
    R_pi = (policy * R).sum(axis=1)  # R_pi(s) = sum_a pi(a|s) R(s, a)
    P_pi = np.einsum("sa,sat->st", policy, P)  # P_pi(s, s') = sum_a pi(a|s) P(s'|s, a)
    V = np.zeros_like(R_pi)
    while True:
        V_new = R_pi + gamma * P_pi @ V  # eq-rl-bellman-expectation
        if np.abs(V_new - V).max() <= value_tolerance(tol, V_new):
            return V_new
        V = V_new


@shapes(P="S A S", R="S A", V="S")
def bellman_optimality_backup(
    P: np.ndarray, R: np.ndarray, V: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray]:
    """One sweep of the Bellman optimality operator: (max_a Q(s, a), argmax_a Q(s, a)), both (S,),
    with Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s'). Book: {ref}`sec-rl-bellman`.
    """
    gamma = check_mdp(P, R, gamma)
    Q = R + gamma * P @ V  # eq-rl-bellman-optimality
    return Q.max(axis=1), Q.argmax(axis=1)


@shapes(P="S A S", R="S A")
def value_iteration(
    P: np.ndarray,
    R: np.ndarray,
    gamma: float,
    tol: float = 1e-10,
    *,
    return_sweeps: bool = False,
) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, int]:
    """The optimal values V* (S,) and a greedy policy (S,) of ints, by value iteration.

    Applies `bellman_optimality_backup` from V = 0 until no value changes by more than `tol`;
    the Bellman residual |T V - V| of the returned V is then at most gamma tol. With
    `return_sweeps=True` the number of sweeps is returned too. Book: {ref}`sec-rl-dp`.
    """
    gamma = check_mdp(P, R, gamma)
    V, sweeps = np.zeros(R.shape[0], dtype=R.dtype), 0
    while True:
        V_new, greedy = bellman_optimality_backup(P, R, V, gamma)
        sweeps += 1
        if np.abs(V_new - V).max() <= value_tolerance(tol, V_new):
            break
        V = V_new
    return (V_new, greedy, sweeps) if return_sweeps else (V_new, greedy)


@shapes(P="S A S", R="S A")
def policy_iteration(
    P: np.ndarray, R: np.ndarray, gamma: float, *, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """The optimal values V* (S,) and an optimal policy (S,) of ints, by policy iteration.

    Alternates `policy_evaluation` of the current deterministic policy with greedy improvement,
    and stops when the improvement changes no action. An action changes only if it beats the
    current one by more than the evaluation error, so ties cannot make it cycle.
    Book: {ref}`sec-rl-dp`.
    """
    gamma = check_mdp(P, R, gamma)
    n_states, n_actions = R.shape
    actions = np.zeros(n_states, dtype=np.int64)
    rows = np.arange(n_states)
    while True:
        V = policy_evaluation(P, R, np.eye(n_actions, dtype=R.dtype)[actions], gamma, tol=tol)
        Q = R + gamma * P @ V  # eq-rl-bellman-optimality, one-step look-ahead
        best = Q.argmax(axis=1)
        margin = 10 * value_tolerance(tol, V) / (1 - gamma)  # bound on the evaluation error
        improve = Q[rows, best] > Q[rows, actions] + margin
        if not improve.any():
            return V, actions
        actions = np.where(improve, best, actions)


@shapes(Q="S A")
def greedy_policy(Q: np.ndarray) -> np.ndarray:
    """The greedy policy argmax_a Q(s, a) as an (S, A) one-hot array of probabilities."""
    return np.eye(Q.shape[1], dtype=Q.dtype)[Q.argmax(axis=1)]


# ---------------------------------------------------------------------------------------------
# Grid worlds


_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # up, right, down, left (row, column)
_CELLS = set(".#SGXC")


class GridWorld:
    """A grid MDP, and an environment with gymnasium's `reset`/`step` API.

    `layout` is a list of equal-length strings, one per row: ``.`` floor, ``#`` wall, ``S``
    start, ``G`` goal (terminal, reward `goal_reward` on entering), ``X`` pit (terminal, reward
    `pit_reward`), ``C`` cliff (reward `cliff_reward`, and the agent is sent back to the start).
    Every other move earns `step_reward`. Actions are 0 up, 1 right, 2 down, 3 left; a move into
    a wall or off the grid leaves the agent where it was. With probability `slip` the agent
    moves at a right angle to the chosen direction instead (either side with slip / 2).

    States are the non-wall cells in row-major order. `P` (S, A, S) and `R` (S, A) are the
    MDP; terminal states are absorbing with reward 0. `reset` and `step` sample from the same
    model; an episode is truncated after `max_steps` steps. Book: {ref}`sec-rl-mdp`.
    """

    def __init__(
        self,
        layout: Sequence[str],
        *,
        slip: float = 0.0,
        step_reward: float = 0.0,
        goal_reward: float = 1.0,
        pit_reward: float = -1.0,
        cliff_reward: float = -100.0,
        max_steps: int = 1000,
    ) -> None:
        rows = [str(r) for r in layout]
        if not rows or any(len(r) != len(rows[0]) for r in rows) or not rows[0]:
            raise ValueError("layout must be a non-empty list of strings of equal length")
        extra = set("".join(rows)) - _CELLS
        if extra:
            raise ValueError(f"layout may contain only {''.join(sorted(_CELLS))}; got {extra}")
        if sum(r.count("S") for r in rows) != 1:
            raise ValueError("layout must contain exactly one start cell 'S'")
        self.layout = rows
        self.slip = check_fraction("slip", slip, high_open=False)
        self.max_steps = check_int("max_steps", max_steps)
        rewards = {"step": step_reward, "goal": goal_reward, "pit": pit_reward}
        rewards["cliff"] = cliff_reward
        for key, value in rewards.items():
            if not np.isfinite(float(value)):
                raise ValueError(f"{key}_reward must be a finite number; got {value!r}")
        self.shape = (len(rows), len(rows[0]))
        self.cells = [(i, j) for i, r in enumerate(rows) for j, c in enumerate(r) if c != "#"]
        index = {cell: s for s, cell in enumerate(self.cells)}
        kind = [rows[i][j] for i, j in self.cells]
        self.n_states, self.n_actions = len(self.cells), 4
        self.start = kind.index("S")
        self.terminal = np.array([k in "GX" for k in kind])
        # outcomes[s][a]: (probability, next state, reward, terminated) for each direction taken
        self.outcomes: list[list[list[tuple[float, int, float, bool]]]] = []
        for s, (i, j) in enumerate(self.cells):
            per_action = []
            for a in range(4):
                if self.terminal[s]:
                    per_action.append([(1.0, s, 0.0, True)])
                    continue
                sides = (
                    (a, 1.0 - self.slip),
                    ((a + 1) % 4, self.slip / 2),
                    ((a + 3) % 4, self.slip / 2),
                )
                outs = []
                for direction, prob in sides:
                    if prob == 0:
                        continue
                    di, dj = _MOVES[direction]
                    dest = index.get((i + di, j + dj), s)  # walls and edges: stay
                    k = kind[dest]
                    if k == "C":
                        outs.append((prob, self.start, float(cliff_reward), False))
                    elif k == "G":
                        outs.append((prob, dest, float(goal_reward), True))
                    elif k == "X":
                        outs.append((prob, dest, float(pit_reward), True))
                    else:
                        outs.append((prob, dest, float(step_reward), False))
                per_action.append(outs)
            self.outcomes.append(per_action)
        self.P = np.zeros((self.n_states, 4, self.n_states))
        self.R = np.zeros((self.n_states, 4))
        for s in range(self.n_states):
            for a in range(4):
                for prob, dest, reward, _ in self.outcomes[s][a]:
                    self.P[s, a, dest] += prob
                    self.R[s, a] += prob * reward
        self._rng = np.random.default_rng()
        self._state: int | None = None
        self._steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Start an episode in the start cell; `seed` reseeds the environment's generator."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._state, self._steps = self.start, 0
        return self._state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        """Take `action`; return (next state, reward, terminated, truncated, info)."""
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        if isinstance(action, bool) or not 0 <= int(action) < 4 or int(action) != action:
            raise ValueError(f"action must be an int in [0, 4); got {action!r}")
        outs = self.outcomes[self._state][int(action)]
        k = self._rng.choice(len(outs), p=[o[0] for o in outs]) if len(outs) > 1 else 0
        _, self._state, reward, terminated = outs[k]
        self._steps += 1
        return self._state, reward, terminated, self._steps >= self.max_steps, {}

    def to_grid(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Lay a per-state array (S,) out on the grid (rows, columns); walls get `fill`."""
        values = np.asarray(values)
        if values.shape != (self.n_states,):
            raise ValueError(f"values must have shape ({self.n_states},); got {values.shape}")
        grid = np.full(self.shape, fill, dtype=np.result_type(values, type(fill)))
        for s, (i, j) in enumerate(self.cells):
            grid[i, j] = values[s]
        return grid


def cliff_walking(**kwargs: Any) -> GridWorld:
    """Sutton and Barto's cliff walk (Example 6.6): a 4 x 12 grid, -1 per step, -100 and back
    to the start for stepping into the cliff along the bottom edge. Book: {ref}`sec-rl-td`."""
    layout = ["." * 12, "." * 12, "." * 12, "S" + "C" * 10 + "G"]
    options = {"step_reward": -1.0, "goal_reward": -1.0, "cliff_reward": -100.0, **kwargs}
    return GridWorld(layout, **options)


# ---------------------------------------------------------------------------------------------
# Tabular temporal-difference learning


class TabularRun(NamedTuple):
    """What a tabular learner returns: the action values Q (S, A), the undiscounted return of
    each training episode (E,), and the number of steps of each episode (E,)."""

    Q: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray


def epsilon_greedy(q: np.ndarray, epsilon: float, *, rng: np.random.Generator) -> int:
    """An action for the values q (A,): uniform with probability epsilon, else greedy, with
    ties among the best actions broken at random."""
    if rng.random() < epsilon:
        return int(rng.integers(len(q)))
    best = np.flatnonzero(q == q.max())
    return int(best[0] if len(best) == 1 else rng.choice(best))


def _space_size(env: object, attr: str, space: str) -> int:
    if hasattr(env, attr):
        return int(getattr(env, attr))
    n = getattr(getattr(env, space, None), "n", None)
    if n is None:
        raise ValueError(f"env must have a discrete {space} (with .n) or an attribute {attr}")
    return int(n)


def _td_check(env: object, episodes: int, alpha: float, gamma: float, epsilon: float) -> tuple:
    episodes = check_int("episodes", episodes)
    alpha = check_fraction("alpha", alpha, low_open=True, high_open=False)
    gamma = check_fraction("gamma", gamma, high_open=False)  # 1 is fine for episodic tasks
    epsilon = check_fraction("epsilon", epsilon, high_open=False)
    return episodes, alpha, gamma, epsilon


def _env_step(env: Any, action: int, episode: int, t: int) -> tuple[int, float, bool]:
    """env.step with the checks a learner needs: a finite reward and an integer state."""
    state, reward, terminated, truncated, _ = env.step(action)
    if not np.isfinite(reward):
        raise ValueError(
            f"env.step returned the reward {reward} in episode {episode}, step {t}; "
            "expected a finite number"
        )
    return int(state), float(reward), bool(terminated), bool(truncated)


def _td_learn(
    env: Any, episodes: int, alpha: float, gamma: float, epsilon: float, rng: Any, sarsa: bool
) -> TabularRun:
    episodes, alpha, gamma, epsilon = _td_check(env, episodes, alpha, gamma, epsilon)
    rng = check_rng(rng)
    Q = np.zeros(
        (
            _space_size(env, "n_states", "observation_space"),
            _space_size(env, "n_actions", "action_space"),
        )
    )
    returns, lengths = np.zeros(episodes), np.zeros(episodes, dtype=np.int64)
    for episode in range(episodes):
        s, _ = env.reset(seed=int(rng.integers(2**31)) if episode == 0 else None)
        a = epsilon_greedy(Q[s], epsilon, rng=rng)
        t, done = 0, False
        while not done:
            s2, r, terminated, truncated = _env_step(env, a, episode, t)
            a2 = epsilon_greedy(Q[s2], epsilon, rng=rng)
            # SARSA bootstraps from the action it will take, Q-learning from the greedy one
            nxt = Q[s2, a2] if sarsa else Q[s2].max()
            target = r + gamma * nxt * (not terminated)  # eq-rl-sarsa / eq-rl-q-learning
            Q[s, a] += alpha * (target - Q[s, a])
            s, a, t = s2, a2, t + 1
            returns[episode] += r
            done = terminated or truncated
        lengths[episode] = t
    return TabularRun(Q, returns, lengths)


def q_learning(
    env: Any,
    episodes: int,
    *,
    alpha: float = 0.5,
    gamma: float = 1.0,
    epsilon: float = 0.1,
    rng: np.random.Generator,
) -> TabularRun:
    """Watkins's Q-learning with an epsilon-greedy behaviour policy, for `episodes` episodes.

    `env` has discrete states and actions and gymnasium's API: a `GridWorld`, or e.g.
    gymnasium's CliffWalking-v1. Q starts at 0; after each step
    Q(s, a) += alpha (r + gamma max_a' Q(s', a') - Q(s, a)), with no bootstrap past a
    terminal state. Raises ValueError when the environment returns a non-finite reward.
    Book: {ref}`sec-rl-td`.
    """
    return _td_learn(env, episodes, alpha, gamma, epsilon, rng, sarsa=False)


def sarsa(
    env: Any,
    episodes: int,
    *,
    alpha: float = 0.5,
    gamma: float = 1.0,
    epsilon: float = 0.1,
    rng: np.random.Generator,
) -> TabularRun:
    """SARSA, on-policy TD control: as `q_learning`, but the target uses the action a' that the
    epsilon-greedy policy actually takes next, r + gamma Q(s', a'). Book: {ref}`sec-rl-td`."""
    return _td_learn(env, episodes, alpha, gamma, epsilon, rng, sarsa=True)
