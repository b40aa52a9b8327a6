"""Networks for deep reinforcement learning on small observation vectors (e.g. CartPole).

Book: chapter "Reinforcement learning" (`chapters/rl.ipynb`). The training code that uses them
is `dlbook.torch.rl`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from dlbook.torch.models.mlp import MLP

__all__ = ["ActorCritic", "PolicyNet", "QNet", "ValueNet"]


def _size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1; got {value!r}")
    return value


def _orthogonal(mlp: MLP, last_gain: float) -> MLP:
    """Orthogonal weights (gain sqrt 2 in the hidden layers, `last_gain` at the output) and zero
    biases: the initialization of common PPO implementations. A small last gain starts the
    policy close to uniform."""
    linears = [m for m in mlp if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        nn.init.orthogonal_(layer.weight, last_gain if i == len(linears) - 1 else math.sqrt(2))
        nn.init.zeros_(layer.bias)
    return mlp


class PolicyNet(nn.Module):
    """A stochastic policy for discrete actions: obs (N, obs_dim) -> action logits (N, n_actions).

    Two tanh hidden layers of `hidden` units; pi(a|s) = softmax(logits)[a].
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64) -> None:
        super().__init__()
        sizes = [_size("obs_dim", obs_dim), _size("hidden", hidden), hidden]
        self.net = _orthogonal(MLP([*sizes, _size("n_actions", n_actions)], "tanh"), 0.01)

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(obs)

    def distribution(self, obs: Tensor) -> torch.distributions.Categorical:
        """pi(. | obs) as a `Categorical` over the actions."""
        return torch.distributions.Categorical(logits=self(obs))


class ValueNet(nn.Module):
    """A state-value estimate: obs (N, obs_dim) -> V(s) (N,). Two tanh hidden layers."""

    def __init__(self, obs_dim: int, hidden: int = 64) -> None:
        super().__init__()
        sizes = [_size("obs_dim", obs_dim), _size("hidden", hidden), hidden, 1]
        self.net = _orthogonal(MLP(sizes, "tanh"), 1.0)

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(obs).squeeze(-1)


class ActorCritic(nn.Module):
    """A policy and a value network that share nothing but the input.

    `forward(obs)` returns (logits (N, n_actions), values (N,)). Used as REINFORCE's policy with
    a learned baseline and as PPO's actor and critic.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 64) -> None:
        super().__init__()
        self.actor = PolicyNet(obs_dim, n_actions, hidden)
        self.critic = ValueNet(obs_dim, hidden)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        return self.actor(obs), self.critic(obs)


class QNet(nn.Module):
    """Action values for DQN: obs (N, obs_dim) -> Q(s, .) (N, n_actions). ReLU hidden layers."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: int = 256) -> None:
        super().__init__()
        sizes = [_size("obs_dim", obs_dim), _size("hidden", hidden), hidden]
        self.net = MLP([*sizes, _size("n_actions", n_actions)], "relu")

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(obs)
