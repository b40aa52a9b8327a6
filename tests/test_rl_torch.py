"""dlbook.torch.rl and dlbook.torch.models.rl: environments in lockstep, returns, advantages,
the REINFORCE, PPO and DQN updates, and short training runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import dlbook.torch as dtorch

gym = pytest.importorskip("gymnasium")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_models_have_the_right_shapes_and_reject_bad_sizes():
    obs = torch.randn(5, 4)
    logits, values = dtorch.ActorCritic(4, 3, hidden=8)(obs)
    assert logits.shape == (5, 3) and values.shape == (5,)
    assert dtorch.QNet(4, 2, hidden=16)(obs).shape == (5, 2)
    assert dtorch.ValueNet(4)(obs).shape == (5,)
    dist = dtorch.PolicyNet(4, 2).distribution(obs)
    # the small last-layer gain starts the policy close to uniform
    assert torch.allclose(dist.probs, torch.full((5, 2), 0.5), atol=0.05)
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="hidden must be an int >= 1"):
            dtorch.PolicyNet(4, 2, hidden=bad)
    with pytest.raises(ValueError, match="n_actions must be an int >= 1"):
        dtorch.QNet(4, 0)


def test_returns_to_go():
    got = dtorch.returns_to_go(np.array([1.0, 0.0, 2.0]), 0.5)
    torch.testing.assert_close(got, torch.tensor([1.5, 1.0, 2.0]))
    assert dtorch.returns_to_go(np.ones(0), 0.9).shape == (0,)


def _rollout(rewards, values, terminated, truncated, valid=None, last_value=0.0):
    T = len(rewards)
    valid = np.ones(T, bool) if valid is None else np.asarray(valid)

    class Critic(torch.nn.Module):  # V(last_obs) = last_value
        def forward(self, obs):
            return torch.zeros(len(obs), 2), torch.full((len(obs),), last_value)

    col = lambda x, dtype=torch.float32: torch.as_tensor(np.asarray(x), dtype=dtype)[:, None]  # noqa: E731
    batch = dtorch.Rollout(
        obs=torch.zeros(T, 1, 3),
        actions=torch.zeros(T, 1, dtype=torch.long),
        rewards=col(rewards),
        terminated=col(terminated, torch.bool),
        truncated=col(truncated, torch.bool),
        valid=col(valid, torch.bool),
        log_probs=torch.zeros(T, 1),
        values=col(values),
        last_obs=torch.zeros(1, 3),
    )
    return batch, Critic()


def test_gae_with_lambda_one_is_the_return_minus_the_value():
    rewards, values = [1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.0]
    batch, critic = _rollout(rewards, values, [0, 0, 0, 1], [0, 0, 0, 0], last_value=9.0)
    adv, targets = dtorch.gae_advantages(batch, critic, gamma=0.9, lam=1.0)
    G = dtorch.returns_to_go(np.array(rewards), 0.9)  # terminal: last_value is not used
    torch.testing.assert_close(targets[:, 0], G)
    torch.testing.assert_close(adv[:, 0], G - torch.tensor(values))


def test_gae_bootstraps_through_truncation_but_not_termination():
    # step 1 is truncated: its target uses V(obs[2]) = values[2] = 5, where it would have gone on;
    # step 2 is the placeholder reset step (invalid) and must get A = 0
    batch, critic = _rollout(
        [1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 5.0, 0.0], [0, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 1], 2.0
    )
    adv, _ = dtorch.gae_advantages(batch, critic, gamma=0.5, lam=0.0)
    torch.testing.assert_close(adv[:, 0], torch.tensor([1.0, 1.0 + 0.5 * 5.0, 0.0, 2.0]))
    batch, critic = _rollout([1.0, 1.0], [0.0, 0.0], [0, 1], [0, 0], last_value=7.0)
    adv, _ = dtorch.gae_advantages(batch, critic, gamma=0.5, lam=0.0)
    torch.testing.assert_close(adv[:, 0], torch.tensor([1.0, 1.0]))


def test_env_batch_records_the_returns_of_finished_episodes():
    envs = dtorch.EnvBatch("CartPole-v1", 3, seed=0)
    assert envs.obs.shape == (3, 4) and envs.n_actions == 2
    for _ in range(100):
        envs.step(np.zeros(3, dtype=np.int64))  # always push left
    # pushing left always fails within a few dozen steps, and each step pays 1
    assert len(envs.finished_returns) >= 3
    assert all(5 <= r <= 60 for r in envs.finished_returns)
    envs.close()


def test_env_batch_step_after_done_is_invalid():
    envs = dtorch.EnvBatch("CartPole-v1", 1, seed=1)
    for _ in range(100):
        _, term, trunc, valid = envs.step(np.array([1]))
        if term[0] or trunc[0]:
            break
    assert valid[0] and term[0]
    _, term, trunc, valid = envs.step(np.array([1]))
    assert not valid[0] and not term[0] and not trunc[0]
    _, _, _, valid = envs.step(np.array([1]))
    assert valid[0]


class NaNEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), float("nan"), False, False, {}


def test_an_env_returning_nan_stops_with_a_clear_error():
    envs = dtorch.EnvBatch(NaNEnv, 2)
    with pytest.raises(ValueError, match=r"env.step returned a non-finite value \(nan\)"):
        envs.step(np.zeros(2, dtype=np.int64))
    model = dtorch.ActorCritic(2, 2, hidden=4)
    with pytest.raises(ValueError, match="non-finite"):
        dtorch.run_episodes(model, envs)
    with pytest.raises(ValueError, match="non-finite"):
        dtorch.train_reinforce(NaNEnv, iterations=1, episodes_per_batch=2, progress=False)


def test_bad_env_arguments():
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        dtorch.EnvBatch("CartPole-v1", 0)
    with pytest.raises(ValueError, match="env must be a gymnasium id or a function"):
        dtorch.EnvBatch(3, 1)


def test_run_episodes_returns_complete_episodes():
    model = dtorch.ActorCritic(4, 2, hidden=8)
    envs = dtorch.EnvBatch("CartPole-v1", 4, seed=0)
    eps = dtorch.run_episodes(model, envs, seed=3, generator=torch.Generator().manual_seed(0))
    assert len(eps.obs) == 4
    for o, a, r in zip(eps.obs, eps.actions, eps.rewards, strict=True):
        assert o.shape == (len(a), 4) and r.shape == a.shape and np.all(r == 1)
    again = dtorch.run_episodes(model, envs, seed=3, generator=torch.Generator().manual_seed(0))
    np.testing.assert_array_equal(eps.returns(), again.returns())
    greedy = dtorch.evaluate_policy(model, episodes=5)
    assert greedy.shape == (5,) and np.all(greedy >= 1)


def test_per_episode_gradients_average_to_the_batch_gradient():
    torch.manual_seed(0)
    model = dtorch.ActorCritic(4, 2, hidden=8)
    envs = dtorch.EnvBatch("CartPole-v1", 5, seed=0)
    eps = dtorch.run_episodes(model, envs)
    for baseline in (False, True):
        rows = dtorch.per_episode_gradients(model, eps, gamma=0.99, baseline=baseline)
        n_params = sum(p.numel() for p in model.actor.parameters())
        assert rows.shape == (5, n_params)
        total = 0.0
        for o, a, r in zip(eps.obs, eps.actions, eps.rewards, strict=True):
            logits, values = model(torch.as_tensor(o))
            logp = logits.log_softmax(-1).gather(-1, torch.as_tensor(a)[:, None]).squeeze(-1)
            G = dtorch.returns_to_go(r, 0.99)
            total = total + (logp * (G - values.detach() if baseline else G)).sum()
        grads = torch.autograd.grad(total / 5, list(model.actor.parameters()))
        torch.testing.assert_close(rows.mean(0), torch.cat([g.reshape(-1) for g in grads]))


def test_updates_change_the_parameters_and_fill_the_meter():
    torch.manual_seed(0)
    model = dtorch.ActorCritic(4, 2, hidden=8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    envs = dtorch.EnvBatch("CartPole-v1", 4, seed=0)
    before = [p.detach().clone() for p in model.parameters()]
    meter = dtorch.EpochMeter("cpu")
    dtorch.reinforce_update(model, opt, dtorch.run_episodes(model, envs), gamma=0.99, meter=meter)
    assert set(meter.read()) == {"policy_loss", "value_loss"}
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    batch = dtorch.rollout(model, envs, 16)
    assert batch.obs.shape == (16, 4, 4) and batch.valid.dtype == torch.bool
    meter = dtorch.EpochMeter("cpu")
    dtorch.ppo_update(model, opt, batch, epochs=2, minibatch_size=32, meter=meter)
    metrics = meter.read()
    assert set(metrics) == {"policy_loss", "value_loss", "entropy", "clip_fraction"}
    assert 0 <= metrics["clip_fraction"] <= 1 and metrics["entropy"] > 0


def test_dqn_update_fits_a_fixed_target():
    torch.manual_seed(0)
    q, target = dtorch.QNet(2, 2, hidden=16), dtorch.QNet(2, 2, hidden=16)
    target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=1e-2)
    buffer = dtorch.ReplayBuffer(8, 2)
    for i in range(10):  # wraps around: the buffer keeps the last 8
        buffer.add(np.array([i, 1.0]), i % 2, 1.0, np.array([i + 1, 1.0]), True)
    assert len(buffer) == 8 and buffer.obs[:, 0].min() == 2
    batch = buffer.sample(8, np.random.default_rng(0))
    losses = []
    for _ in range(200):
        meter = dtorch.EpochMeter("cpu")
        dtorch.dqn_update(q, target, opt, batch, meter=meter)
        losses.append(meter.read()["td_loss"])
    assert losses[-1] < 0.01 * losses[0]  # terminal transitions: the target is the reward 1
    with pytest.raises(ValueError, match="replay buffer is empty"):
        dtorch.ReplayBuffer(4, 2).sample(2, np.random.default_rng(0))


def test_short_training_runs_are_reproducible():
    runs = [
        dtorch.train_reinforce(iterations=3, episodes_per_batch=4, seed=1, progress=False)
        for _ in range(2)
    ]
    (m1, h1), (m2, h2) = runs
    assert len(h1.steps) == 3 and h1.steps == h2.steps
    assert h1.episode_returns == h2.episode_returns
    assert set(h1.metrics) == {"policy_loss", "value_loss"}
    for a, b in zip(m1.parameters(), m2.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    model, h = dtorch.train_ppo(
        total_steps=256, n_envs=4, n_steps=32, epochs=2, minibatch_size=64, progress=False
    )
    assert h.steps == [128, 256] and "clip_fraction" in h.metrics
    q, h = dtorch.train_dqn(
        total_steps=300, learning_starts=100, train_freq=100, gradient_steps=3, progress=False
    )
    assert h.steps == [200, 300] and len(h.metrics["td_loss"]) == 2
    with pytest.raises(ValueError, match="iterations must be an int >= 1"):
        dtorch.train_reinforce(iterations=0)


def test_training_does_not_touch_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    dtorch.train_reinforce(iterations=1, episodes_per_batch=2, seed=5, progress=False)
    torch.testing.assert_close(torch.rand(3), expected)
