"""Adversarial examples under an L-infinity budget: FGSM and PGD.

Book: chapter "Efficient, trustworthy and distributed deep learning"
({ref}`sec-efficient-adversarial`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from dlbook.checks import check_choice, check_int, check_positive

__all__ = ["adversarial_accuracy", "fgsm", "pgd"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _check_budget(eps: object, low: float, high: float) -> float:
    eps = check_positive("eps", eps, allow_zero=True)
    if not low < high:
        raise ValueError(f"the valid input range needs low < high; got ({low!r}, {high!r})")
    return eps


def _input_gradient(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: LossFn
) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():  # also when called under torch.no_grad()
        (grad,) = torch.autograd.grad(loss_fn(model(x), y), x)
    return grad


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    low: float = 0.0,
    high: float = 1.0,
    loss_fn: LossFn = F.cross_entropy,
) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al. 2015): one step of size eps.

    x_adv = clamp(x + eps * sign(d loss(model(x), y) / d x), low, high)

    x (N, ...) lies in the valid input range [low, high] (pixels in [0, 1] by default), y holds
    the true labels. The result satisfies ||x_adv - x||_inf <= eps and stays in [low, high].
    The model's parameters get no gradient and it is left in the mode it was in (use eval mode).
    Book: {ref}`sec-efficient-adversarial`.
    """
    eps = _check_budget(eps, low, high)
    grad = _input_gradient(model, x, y, loss_fn)
    return (x.detach() + eps * grad.sign()).clamp(low, high)


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    low: float = 0.0,
    high: float = 1.0,
    loss_fn: LossFn = F.cross_entropy,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Projected gradient descent on the loss (Madry et al. 2018), in the L-infinity ball.

    Starting from x (plus uniform noise in [-eps, eps] with `random_start`), repeat `steps`
    times: take a signed gradient step of `step_size` (default 2.5 * eps / steps), project back
    onto the ball ||x_adv - x||_inf <= eps and clamp to [low, high]. Returns x_adv (N, ...).
    `generator` seeds the random start. Book: {ref}`sec-efficient-adversarial`.
    """
    eps = _check_budget(eps, low, high)
    steps = check_int("steps", steps)
    step_size = 2.5 * eps / steps if step_size is None else check_positive("step_size", step_size)
    x = x.detach()
    x_adv = x.clone()
    if random_start and eps > 0:
        noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        x_adv = (x + eps * (2 * noise - 1)).clamp(low, high)
    for _ in range(steps):
        grad = _input_gradient(model, x_adv, y, loss_fn)
        x_adv = x_adv + step_size * grad.sign()
        x_adv = torch.minimum(torch.maximum(x_adv, x - eps), x + eps).clamp(low, high)
    return x_adv


def adversarial_accuracy(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    *,
    attack: str = "fgsm",
    batch_size: int = 500,
    **kwargs: object,
) -> float:
    """Accuracy of `model` on adversarial versions of (x, y) made by `attack` ("fgsm" or "pgd").

    The model is put in eval mode (and restored); `kwargs` go to the attack. eps = 0 gives the
    clean accuracy.
    """
    attack_fn = {"fgsm": fgsm, "pgd": pgd}[check_choice("attack", attack, ("fgsm", "pgd"))]
    batch_size = check_int("batch_size", batch_size)
    was_training = model.training
    model.eval()
    correct = 0
    try:
        for i in range(0, len(x), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            x_adv = attack_fn(model, xb, yb, eps, **kwargs)
            with torch.no_grad():
                correct += int((model(x_adv).argmax(1) == yb).sum())
    finally:
        model.train(was_training)
    return correct / len(x)
