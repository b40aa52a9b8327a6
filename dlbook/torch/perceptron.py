"""Rosenblatt's perceptron in PyTorch: an `nn.Linear` trained by SGD on the perceptron criterion.

Book: chapter "From neurons to the perceptron". The NumPy twin is `dlbook.numpy.perceptron`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

__all__ = ["TorchPerceptronFit", "perceptron_train"]


class TorchPerceptronFit(NamedTuple):
    """The trained layer and the number of mistakes in each pass over the data."""

    model: nn.Linear
    mistakes: list[int]
    converged: bool


def perceptron_train(
    X: torch.Tensor, y: torch.Tensor, *, lr: float = 1.0, epochs: int = 100
) -> TorchPerceptronFit:
    """Train `nn.Linear(D, 1)` from zero weights on X (N, D), y (N,) in ±1, one example at a time.

    On a mistake (y * score <= 0) it takes one SGD step on the perceptron criterion
    -y * (w·x + b), whose gradient is (-y x, -y): exactly Rosenblatt's update. Stops after the
    first pass with no mistake. Runs on X's device and in X's dtype.
    """
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D tensor (N, D); got shape {tuple(X.shape)}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},); got {tuple(y.shape)}")
    if not bool(torch.isin(y, torch.tensor([-1.0, 1.0], dtype=y.dtype, device=y.device)).all()):
        raise ValueError("y must hold labels -1/+1")
    if not bool(torch.isfinite(X).all()):
        raise ValueError("X contains NaN or inf; expected finite numbers")
    if not lr > 0:
        raise ValueError(f"lr must be > 0; got {lr!r}")
    model = nn.Linear(X.shape[1], 1, dtype=X.dtype, device=X.device)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    y = y.to(X.dtype)
    mistakes: list[int] = []
    for _ in range(epochs):
        count = 0
        for i in range(X.shape[0]):
            margin = y[i] * model(X[i]).squeeze()
            # The perceptron decides example by example, so it reads each score back.
            if margin.item() <= 0:
                optimizer.zero_grad()
                (-margin).backward()  # d(-y (w·x + b))/dw = -y x, so SGD adds lr * y * x
                optimizer.step()
                count += 1
        mistakes.append(count)
        if count == 0:
            break
    return TorchPerceptronFit(model, mistakes, mistakes[-1] == 0)
