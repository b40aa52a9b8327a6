"""Deep reinforcement learning in PyTorch: REINFORCE with a learned baseline, PPO and DQN.

Book: chapter "Reinforcement learning" (`chapters/rl.ipynb`). Each training loop is built from
step functions: `rollout` or `run_episodes` collect experience, `reinforce_update`,
`ppo_update` or `dqn_update` learn from it, and an `EpochMeter` sums the losses on the device
and is read once per iteration. Environments follow gymnasium's `reset`/`step` API; gymnasium
is imported only when an environment is made from its id.

The networks are small, and every step waits for the environment, so training runs on the CPU
by default (`device="cpu"`); a GPU would spend its time waiting for Python.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlbook.progress import progress_bar
from dlbook.torch.models.rl import ActorCritic, QNet
from dlbook.torch.train import EpochMeter

__all__ = [
    "EnvBatch",
    "Episodes",
    "RLHistory",
    "ReplayBuffer",
    "Rollout",
    "dqn_update",
    "evaluate_policy",
    "gae_advantages",
    "per_episode_gradients",
    "ppo_update",
    "reinforce_update",
    "returns_to_go",
    "rollout",
    "run_episodes",
    "train_dqn",
    "train_ppo",
    "train_reinforce",
]

EnvSpec = str | Callable[[], Any]


def _make_vec(env: EnvSpec, n: int) -> Any:
    """A gymnasium VectorEnv of n copies: the native vectorized version where the environment
    has one (CartPole does), else n copies stepped one after the other."""
    import gymnasium as gym

    if isinstance(env, str):
        return gym.make_vec(env, num_envs=n)
    if callable(env):
        return gym.vector.SyncVectorEnv([env] * n)
    raise ValueError(f"env must be a gymnasium id or a function that makes an env; got {env!r}")


class EnvBatch:
    """N copies of an environment, stepped in lockstep so that one forward pass acts for all.

    `env` is a gymnasium id such as "CartPole-v1" or a function returning a gymnasium
    environment with a vector observation and discrete actions. The copies are reset with
    `seed`. As in gymnasium's vector environments, a copy whose episode ended is reset by the
    *next* `step`, which ignores its action and returns a placeholder transition: `step`
    flags the real transitions in `valid`. `obs` (N, obs_dim) always holds the observations to
    act on; the returns of finished episodes are appended to `finished_returns`.
    """

    def __init__(self, env: EnvSpec, n: int = 1, *, seed: int | None = 0) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1; got {n!r}")
        self.vec = _make_vec(env, n)
        mode = self.vec.metadata.get("autoreset_mode")
        if mode is not None and getattr(mode, "name", mode) not in ("NEXT_STEP", "NextStep"):
            raise ValueError(f"expected a vector env that resets on the next step; got {mode}")
        self.n = n
        self.n_actions = int(self.vec.single_action_space.n)
        self.finished_returns: list[float] = []
        self.reset(seed)
        self.obs_dim = self.obs.shape[1]

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Start a new episode in every copy (seeded with `seed` unless None); return obs."""
        obs, _ = self.vec.reset(seed=seed)
        self.obs = self._check(np.asarray(obs, dtype=np.float32).reshape(self.n, -1), "reset")
        self.episode_return = np.zeros(self.n)
        self.resetting = np.zeros(self.n, dtype=bool)  # copies that reset on the next step
        return self.obs

    @staticmethod
    def _check(x: np.ndarray, call: str) -> np.ndarray:
        if not np.all(np.isfinite(x)):
            bad = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(
                f"env.{call} returned a non-finite value ({x[tuple(bad)]}) for environment "
                f"{bad[0]}; expected finite rewards and observations"
            )
        return x

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, ...]:
        """Step every copy; return (rewards, terminated, truncated, valid), each (N,).

        After the call, `obs` holds the observations the step reached. For a copy that has
        just terminated or been truncated, that is the final observation of its episode."""
        obs, rewards, terminated, truncated, _ = self.vec.step(np.asarray(actions))
        rewards = self._check(np.asarray(rewards, dtype=np.float32).reshape(self.n), "step")
        self.obs = self._check(np.asarray(obs, dtype=np.float32).reshape(self.n, -1), "step")
        valid = ~self.resetting
        done = (np.asarray(terminated) | np.asarray(truncated)) & valid
        self.episode_return += np.where(valid, rewards, 0.0)
        for i in np.flatnonzero(done):
            self.finished_returns.append(float(self.episode_return[i]))
            self.episode_return[i] = 0.0
        self.resetting = done
        return rewards, terminated & valid, truncated & valid, valid

    def close(self) -> None:
        self.vec.close()


def _logits(out: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    return out[0] if isinstance(out, tuple) else out


def _sample(logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)


# ---------------------------------------------------------------------------------------------
# Collecting experience


class Rollout(NamedTuple):
    """T steps of N environments: obs (T, N, D), actions (T, N), rewards (T, N), terminated,
    truncated and valid (T, N) bool, log_probs and values (T, N) of the policy that acted, and
    last_obs (N, D), the observations after the last step. Step t led to obs[t + 1] (or
    last_obs); an invalid step is the reset of a copy whose episode had ended."""

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    terminated: torch.Tensor
    truncated: torch.Tensor
    valid: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    last_obs: torch.Tensor


def rollout(
    model: ActorCritic, envs: EnvBatch, steps: int, *, generator: torch.Generator | None = None
) -> Rollout:
    """Act for `steps` steps in every copy in `envs` with actions sampled from `model`
    (obs -> (logits, values)): one forward pass per step for all N copies."""
    device = next(model.parameters()).device
    obs, actions, logps, values, rewards, term, trunc, valid = ([] for _ in range(8))
    with torch.no_grad():
        for _ in range(steps):
            o = torch.tensor(envs.obs, device=device)  # a copy: envs.step replaces envs.obs
            logits, v = model(o)
            a = _sample(logits, generator)
            r, te, tr, ok = envs.step(a.cpu().numpy())
            obs.append(o)
            actions.append(a)
            logps.append(logits.log_softmax(-1).gather(-1, a[:, None]).squeeze(-1))
            values.append(v)
            rewards.append(r)
            term.append(te)
            trunc.append(tr)
            valid.append(ok)

    def stack(xs: list) -> torch.Tensor:
        return torch.as_tensor(np.stack(xs), device=device)

    return Rollout(
        torch.stack(obs),
        torch.stack(actions),
        stack(rewards),
        stack(term),
        stack(trunc),
        stack(valid),
        torch.stack(logps),
        torch.stack(values),
        torch.tensor(envs.obs, device=device),
    )


class Episodes(NamedTuple):
    """Complete episodes, one entry per episode: obs (T_i, D), actions (T_i,), rewards (T_i,)."""

    obs: list[np.ndarray]
    actions: list[np.ndarray]
    rewards: list[np.ndarray]

    def returns(self) -> np.ndarray:
        """The undiscounted return of each episode (E,)."""
        return np.array([r.sum() for r in self.rewards])


def run_episodes(
    policy: nn.Module,
    envs: EnvBatch,
    *,
    greedy: bool = False,
    seed: int | None = None,
    generator: torch.Generator | None = None,
) -> Episodes:
    """Run one complete episode in each copy in `envs`, in lockstep, and return them.

    `policy(obs)` returns action logits or action values (or a tuple whose first element is
    one of them). Actions are sampled from softmax(logits), or with `greedy=True` the argmax.
    Every copy is reset first (with `seed`, or unseeded when `seed` is None).
    """
    device = next(policy.parameters()).device
    envs.reset(seed)
    length = np.zeros(envs.n, dtype=np.int64)
    running = np.ones(envs.n, dtype=bool)
    obs, actions, rewards = [], [], []
    with torch.no_grad():
        while running.any():
            obs.append(envs.obs.copy())
            logits = _logits(policy(torch.as_tensor(envs.obs, device=device)))
            a = logits.argmax(-1) if greedy else _sample(logits, generator)
            a = a.cpu().numpy()
            r, term, trunc, _ = envs.step(a)
            actions.append(a)
            rewards.append(r)
            length += running
            running &= ~(term | trunc)
    envs.reset()  # leave every copy at the start of a new episode
    obs_, act_, rew_ = np.stack(obs), np.stack(actions), np.stack(rewards)
    return Episodes(
        [obs_[:n, i] for i, n in enumerate(length)],
        [act_[:n, i] for i, n in enumerate(length)],
        [rew_[:n, i] for i, n in enumerate(length)],
    )


def evaluate_policy(
    policy: nn.Module, env: EnvSpec = "CartPole-v1", *, episodes: int = 100, seed: int = 10_000
) -> np.ndarray:
    """The returns (episodes,) of the greedy policy argmax_a policy(obs) in `episodes`
    episodes run side by side, reset with `seed` (apart from the training seeds)."""
    envs = EnvBatch(env, episodes, seed=seed)
    try:
        return run_episodes(policy, envs, greedy=True, seed=seed).returns()
    finally:
        envs.close()


# ---------------------------------------------------------------------------------------------
# Returns and advantages


def returns_to_go(rewards: np.ndarray | torch.Tensor, gamma: float) -> torch.Tensor:
    """G_t = r_t + gamma G_{t+1} for one episode's rewards (T,), with G_T = 0; a float tensor."""
    rewards = np.asarray(rewards, dtype=np.float64)
    out = np.empty_like(rewards)
    g = 0.0
    for t in range(len(rewards) - 1, -1, -1):
        g = rewards[t] + gamma * g  # eq-rl-return
        out[t] = g
    return torch.as_tensor(out, dtype=torch.float32)


def gae_advantages(
    batch: Rollout, model: ActorCritic, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimates (T, N) and value targets (T, N) for a `Rollout`.

    delta_t = r_t + gamma V(s_{t+1}) - V(s_t), A_t = delta_t + gamma lam A_{t+1}, with no
    bootstrap past a terminal state and no sum across the end of an episode. A time limit is
    not a terminal state: a truncated step still bootstraps from the value of the observation
    it reached. Invalid steps (resets) get A = 0.
    """
    with torch.no_grad():
        _, last_value = model(batch.last_obs)
        next_values = torch.cat([batch.values[1:], last_value[None]])
        not_term = (~batch.terminated).float()
        cont = (~(batch.terminated | batch.truncated)).float()
        valid = batch.valid.float()
        adv = torch.zeros_like(batch.rewards)
        next_adv = torch.zeros_like(last_value)
        for t in range(adv.shape[0] - 1, -1, -1):
            delta = batch.rewards[t] + gamma * next_values[t] * not_term[t] - batch.values[t]
            next_adv = (delta + gamma * lam * cont[t] * next_adv) * valid[t]  # eq-rl-gae
            adv[t] = next_adv
    return adv, adv + batch.values


# ---------------------------------------------------------------------------------------------
# Updates


def _log_prob(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    return logits.log_softmax(-1).gather(-1, actions[:, None]).squeeze(-1)


def reinforce_update(
    model: ActorCritic,
    optimizer: torch.optim.Optimizer,
    episodes: Episodes,
    *,
    gamma: float,
    baseline: bool = True,
    meter: EpochMeter | None = None,
) -> None:
    """One REINFORCE step on a batch of complete episodes.

    The policy loss is -mean_t log pi(a_t|s_t) (G_t - b(s_t)), whose gradient is the
    policy-gradient estimate; the baseline b = V(s) (the critic) is trained on the same batch
    to regress G_t. With `baseline=False`, b = 0 and the critic is still fitted. The advantages
    are divided by their standard deviation (a per-batch step size; no bias).
    """
    device = next(model.parameters()).device
    obs = torch.as_tensor(np.concatenate(episodes.obs), device=device)
    actions = torch.as_tensor(np.concatenate(episodes.actions), device=device)
    returns = torch.cat([returns_to_go(r, gamma) for r in episodes.rewards]).to(device)
    logits, values = model(obs)
    adv = returns - values.detach() if baseline else returns
    adv = adv / (adv.std() + 1e-8)
    policy_loss = -(_log_prob(logits, actions) * adv).mean()  # eq-rl-reinforce
    value_loss = F.mse_loss(values, returns)
    optimizer.zero_grad(set_to_none=True)
    (policy_loss + value_loss).backward()
    optimizer.step()
    if meter is not None:
        n = len(actions)
        meter.add("policy_loss", policy_loss, n)
        meter.add("value_loss", value_loss, n)


def per_episode_gradients(
    model: ActorCritic, episodes: Episodes, *, gamma: float, baseline: bool
) -> torch.Tensor:
    """The REINFORCE gradient estimate of the policy's parameters from each episode alone:
    (E, P), row e = sum_t grad log pi(a_t|s_t) (G_t - b(s_t)) for episode e, with b = V (the
    critic) or b = 0. Their mean is the batch estimate; their spread is its variance."""
    params = list(model.actor.parameters())
    rows = []
    device = next(model.parameters()).device
    for o, a, r in zip(episodes.obs, episodes.actions, episodes.rewards, strict=True):
        obs, actions = torch.as_tensor(o, device=device), torch.as_tensor(a, device=device)
        returns = returns_to_go(r, gamma).to(device)
        logits, values = model(obs)
        weight = returns - values.detach() if baseline else returns
        objective = (_log_prob(logits, actions) * weight).sum()
        grads = torch.autograd.grad(objective, params)
        rows.append(torch.cat([g.reshape(-1) for g in grads]))
    return torch.stack(rows)


def ppo_update(
    model: ActorCritic,
    optimizer: torch.optim.Optimizer,
    batch: Rollout,
    *,
    gamma: float = 0.98,
    lam: float = 0.8,
    clip: float = 0.2,
    epochs: int = 20,
    minibatch_size: int = 256,
    value_coef: float = 0.5,
    entropy_coef: float = 0.0,
    max_grad_norm: float = 0.5,
    generator: torch.Generator | None = None,
    meter: EpochMeter | None = None,
) -> None:
    """`epochs` passes of clipped-surrogate PPO over a `Rollout`, in shuffled minibatches.

    The loss is -mean min(rho A, clip(rho, 1 - clip, 1 + clip) A) with rho = pi / pi_old and A
    the GAE advantages (normalized per minibatch), plus value_coef times the squared error of
    V against the GAE value targets, minus entropy_coef times the entropy.
    """
    adv, targets = gae_advantages(batch, model, gamma, lam)
    keep = batch.valid.reshape(-1)  # drop the placeholder steps of automatic resets
    obs = batch.obs.reshape(keep.numel(), -1)[keep]
    actions, old_logp = batch.actions.reshape(-1)[keep], batch.log_probs.reshape(-1)[keep]
    adv, targets = adv.reshape(-1)[keep], targets.reshape(-1)[keep]
    n = len(adv)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=generator).to(obs.device)
        for start in range(0, n, minibatch_size):
            mb = perm[start : start + minibatch_size]
            logits, values = model(obs[mb])
            logp = _log_prob(logits, actions[mb])
            ratio = (logp - old_logp[mb]).exp()
            a = adv[mb]
            a = (a - a.mean()) / (a.std() + 1e-8)
            surrogate = torch.min(ratio * a, ratio.clamp(1 - clip, 1 + clip) * a)  # eq-rl-ppo
            policy_loss = -surrogate.mean()
            value_loss = F.mse_loss(values, targets[mb])
            entropy = torch.distributions.Categorical(logits=logits).entropy().mean()
            loss = policy_loss + value_coef * value_loss - entropy_coef * entropy
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
            optimizer.step()
            if meter is not None:
                b = len(mb)
                meter.add("policy_loss", policy_loss, b)
                meter.add("value_loss", value_loss, b)
                meter.add("entropy", entropy, b)
                meter.add("clip_fraction", ((ratio - 1).abs() > clip).float().mean(), b)


class ReplayBuffer:
    """A circular buffer of transitions (s, a, r, s', terminated) for DQN, in NumPy arrays."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be an int >= 1; got {capacity!r}")
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def __len__(self) -> int:
        return self.size

    def add(self, obs, action, reward, next_obs, terminated) -> None:  # noqa: ANN001
        """Store one transition, overwriting the oldest when full."""
        i = self.pos
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, terminated
        self.pos, self.size = (i + 1) % self.capacity, min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
        """A uniform random minibatch (obs, actions, rewards, next_obs, terminated) as tensors."""
        if self.size == 0:
            raise ValueError("the replay buffer is empty")
        idx = rng.integers(self.size, size=batch_size)
        return tuple(
            torch.as_tensor(x[idx])
            for x in (self.obs, self.actions, self.rewards, self.next_obs, self.terminated)
        )


def dqn_update(
    q_net: nn.Module,
    target_net: nn.Module,
    optimizer: torch.optim.Optimizer,
    batch: tuple[torch.Tensor, ...],
    *,
    gamma: float = 0.99,
    max_grad_norm: float = 10.0,
    meter: EpochMeter | None = None,
) -> None:
    """One DQN step: Huber loss between Q(s, a) and r + gamma max_a' Q_target(s', a')
    (no bootstrap past a terminal state), on a minibatch from the replay buffer."""
    obs, actions, rewards, next_obs, terminated = batch
    q = q_net(obs).gather(-1, actions[:, None]).squeeze(-1)
    with torch.no_grad():
        target = rewards + gamma * (1 - terminated) * target_net(next_obs).max(-1).values
    loss = F.smooth_l1_loss(q, target)  # eq-rl-dqn
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(q_net.parameters(), max_grad_norm)
    optimizer.step()
    if meter is not None:
        meter.add("td_loss", loss, len(actions))
        meter.add("q_mean", q.mean(), len(actions))


# ---------------------------------------------------------------------------------------------
# Training loops


@dataclass
class RLHistory:
    """One entry per training iteration: environment steps so far, the mean return of the
    episodes that finished in it (NaN if none), the wall-clock seconds so far, and the means
    of the metrics summed on the device. `episode_returns` lists every finished episode."""

    steps: list[int] = field(default_factory=list)
    mean_return: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    episode_returns: list[float] = field(default_factory=list)

    def record(self, steps: int, returns: Sequence[float], seconds: float, metrics: dict) -> None:
        self.steps.append(steps)
        self.mean_return.append(float(np.mean(returns)) if len(returns) else math.nan)
        self.seconds.append(seconds)
        for k, v in metrics.items():
            self.metrics.setdefault(k, []).append(v)
        self.episode_returns.extend(float(r) for r in returns)

    def show(self, bar: Any) -> None:
        """Put the mean return of the last 100 training episodes on the progress bar."""
        bar.set_postfix(ret=f"{self.recent_mean(100):.1f}", refresh=False)

    def recent_mean(self, n: int = 100) -> float:
        """The mean return of the last `n` finished training episodes (NaN before any)."""
        tail = self.episode_returns[-n:]
        return float(np.mean(tail)) if tail else math.nan


def _seeded(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    """Build a model from torch's RNG seeded with `seed`, leaving the global RNG as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


@contextmanager
def _training(envs: EnvBatch, total: int, desc: str, unit: str, progress: bool | None):
    """The progress bar of a training loop; closes it and the environments however it ends."""
    bar = progress_bar(total, desc=desc, unit=unit, progress=progress)
    try:
        yield bar
    finally:
        bar.close()
        envs.close()


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    return value


def train_reinforce(
    env: EnvSpec = "CartPole-v1",
    *,
    iterations: int = 100,
    episodes_per_batch: int = 8,
    gamma: float = 0.99,
    lr: float = 0.01,
    hidden: int = 64,
    baseline: bool = True,
    target: float | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool | None = None,
) -> tuple[ActorCritic, RLHistory]:
    """REINFORCE with a learned baseline: each iteration runs `episodes_per_batch` complete
    episodes in lockstep (`run_episodes`) and takes one `reinforce_update`. Stops early once
    the last 100 training episodes average at least `target` (if given)."""
    iterations = _check_count("iterations", iterations)
    envs = EnvBatch(env, _check_count("episodes_per_batch", episodes_per_batch), seed=seed * 1000)
    model = _seeded(seed, lambda: ActorCritic(envs.obs_dim, envs.n_actions, hidden)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    history, steps, start = RLHistory(), 0, time.perf_counter()
    with _training(envs, iterations, "REINFORCE", "batch", progress) as bar:
        for _ in range(iterations):
            meter = EpochMeter(device)
            episodes = run_episodes(model, envs, generator=generator)
            reinforce_update(
                model, optimizer, episodes, gamma=gamma, baseline=baseline, meter=meter
            )
            steps += sum(len(a) for a in episodes.actions)
            history.record(steps, episodes.returns(), time.perf_counter() - start, meter.read())
            history.show(bar)
            bar.update(1)
            if target is not None and history.recent_mean(100) >= target:
                break
    return model, history


def train_ppo(
    env: EnvSpec = "CartPole-v1",
    *,
    total_steps: int = 100_000,
    n_envs: int = 8,
    n_steps: int = 32,
    epochs: int = 20,
    minibatch_size: int = 256,
    gamma: float = 0.98,
    lam: float = 0.8,
    lr: float = 1e-3,
    clip: float = 0.2,
    entropy_coef: float = 0.0,
    hidden: int = 64,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool | None = None,
) -> tuple[ActorCritic, RLHistory]:
    """PPO with the clipped surrogate. The defaults are RL Baselines3 Zoo's tuned settings for
    CartPole-v1: 8 environments x 32 steps per rollout, 20 epochs of one 256-step minibatch,
    gamma 0.98, GAE lambda 0.8, and the learning rate and clip range decayed linearly to 0."""
    total_steps = _check_count("total_steps", total_steps)
    envs = EnvBatch(env, _check_count("n_envs", n_envs), seed=seed * 1000)
    model = _seeded(seed, lambda: ActorCritic(envs.obs_dim, envs.n_actions, hidden)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-5)
    generator = torch.Generator().manual_seed(seed)
    per_iter = n_envs * _check_count("n_steps", n_steps)
    iterations = max(1, total_steps // per_iter)
    history, start = RLHistory(), time.perf_counter()
    with _training(envs, iterations * per_iter, "PPO", "step", progress) as bar:
        for it in range(iterations):
            remaining = 1.0 - it / iterations  # linear decay to 0
            for group in optimizer.param_groups:
                group["lr"] = lr * remaining
            meter = EpochMeter(device)
            seen = len(envs.finished_returns)
            batch = rollout(model, envs, n_steps, generator=generator)
            ppo_update(
                model,
                optimizer,
                batch,
                gamma=gamma,
                lam=lam,
                clip=clip * remaining,
                epochs=epochs,
                minibatch_size=minibatch_size,
                entropy_coef=entropy_coef,
                generator=generator,
                meter=meter,
            )
            new = envs.finished_returns[seen:]
            history.record((it + 1) * per_iter, new, time.perf_counter() - start, meter.read())
            history.show(bar)
            bar.update(per_iter)
    return model, history


def train_dqn(
    env: EnvSpec = "CartPole-v1",
    *,
    total_steps: int = 50_000,
    buffer_size: int = 100_000,
    learning_starts: int = 1000,
    batch_size: int = 64,
    lr: float = 2.3e-3,
    gamma: float = 0.99,
    train_freq: int = 256,
    gradient_steps: int = 128,
    target_update: int = 10,
    exploration_fraction: float = 0.16,
    final_epsilon: float = 0.04,
    hidden: int = 256,
    seed: int = 0,
    device: torch.device | str = "cpu",
    progress: bool | None = None,
) -> tuple[QNet, RLHistory]:
    """DQN with experience replay and a target network, on one environment.

    Epsilon decays linearly from 1 to `final_epsilon` over the first `exploration_fraction`
    of the steps. Every `train_freq` steps (after `learning_starts`) it takes `gradient_steps`
    `dqn_update`s on minibatches from the buffer, and every `target_update` environment steps
    it copies the online network into the target network. The defaults are RL Baselines3 Zoo's tuned
    settings for CartPole-v1; one iteration of the history is one round of updates.
    """
    total_steps = _check_count("total_steps", total_steps)
    envs = EnvBatch(env, 1, seed=seed * 1000)
    q_net = _seeded(seed, lambda: QNet(envs.obs_dim, envs.n_actions, hidden)).to(device)
    target_net = copy.deepcopy(q_net)
    optimizer = torch.optim.Adam(q_net.parameters(), lr=lr)
    buffer = ReplayBuffer(_check_count("buffer_size", buffer_size), envs.obs_dim)
    rng = np.random.default_rng(seed)
    history, start, seen = RLHistory(), time.perf_counter(), 0
    meter = EpochMeter(device)
    with _training(envs, total_steps, "DQN", "step", progress) as bar:
        for step in range(1, total_steps + 1):
            frac = min(1.0, step / max(1.0, exploration_fraction * total_steps))
            epsilon = 1.0 + frac * (final_epsilon - 1.0)
            obs = envs.obs[0].copy()
            if rng.random() < epsilon:
                action = int(rng.integers(envs.n_actions))
            else:
                with torch.no_grad():
                    action = int(q_net(torch.as_tensor(obs[None], device=device)).argmax())
            reward, term, _, valid = envs.step(np.array([action]))
            if valid[0]:  # not the placeholder step of an automatic reset
                # a time limit is not a terminal state: only `terminated` stops bootstrapping
                buffer.add(obs, action, reward[0], envs.obs[0], term[0])
            if step > learning_starts and step % train_freq == 0:
                for _ in range(gradient_steps):
                    batch = tuple(t.to(device) for t in buffer.sample(batch_size, rng))
                    dqn_update(q_net, target_net, optimizer, batch, gamma=gamma, meter=meter)
                new = envs.finished_returns[seen:]
                seen = len(envs.finished_returns)
                history.record(step, new, time.perf_counter() - start, meter.read())
                meter.reset()
                history.show(bar)
            if step % target_update == 0:
                target_net.load_state_dict(q_net.state_dict())
            bar.update(1)
    return q_net, history
