"""Slices of a network's loss landscape: the loss along a line or over a plane in weight space.

A slice evaluates L(theta + a d1 + b d2) around the weights theta of a model, for directions d1,
d2 shaped like its parameters. Goodfellow, Vinyals and Saxe (2015) drew the line from the
initial to the trained weights; Li et al. (2018) drew random directions rescaled filter by
filter to the norms of the weights, so that slices of networks whose weights have different
scales can be compared. Book: chapter "Optimization" ({ref}`sec-optim-landscape`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from dlbook.checks import as_float_array, check_bool

__all__ = [
    "direction_between",
    "filter_normalized_direction",
    "loss_along",
    "loss_hessian",
    "loss_plane",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def filter_normalized_direction(
    model: nn.Module, *, generator: torch.Generator | None = None, ignore_biases: bool = True
) -> list[torch.Tensor]:
    """A random direction in weight space, one tensor per parameter, filter-normalized.

    Each entry is drawn from N(0, 1), and then every filter of a weight (a slice along dim 0: a
    row (in,) of a `Linear` weight (out, in), an output channel of a convolution) is rescaled to
    the norm of the same filter of the weight, d_ij <- d_ij / |d_ij| * |theta_ij| (Li et al.,
    2018). Parameters with one dimension (biases, normalization scales) get a zero direction
    with `ignore_biases=True`, and a copy of themselves otherwise, the two choices of Li et
    al.'s code. Book: {ref}`sec-optim-landscape`.
    """
    ignore_biases = check_bool("ignore_biases", ignore_biases)
    direction = []
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() <= 1:
                direction.append(torch.zeros_like(p) if ignore_biases else p.detach().clone())
                continue
            d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
            dims = tuple(range(1, p.dim()))
            norm = torch.linalg.vector_norm
            scale = norm(p, dim=dims, keepdim=True) / (norm(d, dim=dims, keepdim=True) + 1e-10)
            direction.append(d * scale)
    return direction


def direction_between(start: nn.Module, end: nn.Module) -> list[torch.Tensor]:
    """The direction end - start, one tensor per parameter, for two models of one architecture.

    With the model at `start`, a = 0 of `loss_along` is start and a = 1 is end: the linear
    interpolation of Goodfellow, Vinyals and Saxe (2015). Book: {ref}`sec-optim-landscape`.
    """
    a, b = list(start.parameters()), list(end.parameters())
    if [p.shape for p in a] != [p.shape for p in b]:
        raise ValueError("start and end must have parameters of the same shapes, in one order")
    return [(q - p).detach().clone() for p, q in zip(a, b, strict=True)]


def _check_direction(name: str, direction: object, params: Sequence[torch.Tensor]) -> None:
    if not isinstance(direction, list | tuple) or len(direction) != len(params):
        raise ValueError(f"{name} must be a list of {len(params)} tensors, one per parameter")
    for i, (d, p) in enumerate(zip(direction, params, strict=True)):
        if not isinstance(d, torch.Tensor) or d.shape != p.shape:
            got = tuple(d.shape) if isinstance(d, torch.Tensor) else type(d).__name__
            raise ValueError(f"{name}[{i}] must be a tensor of shape {tuple(p.shape)}; got {got}")


def _losses(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    directions: Sequence[Sequence[torch.Tensor]],
    coords: np.ndarray,
) -> np.ndarray:
    """loss_fn(model(x), y) at theta + sum_k coords[m, k] * directions[k] for each row m."""
    names, params = zip(*model.named_parameters(), strict=True)
    for k, d in enumerate(directions):
        _check_direction(f"direction{k + 1}" if len(directions) > 1 else "direction", d, params)
    was_training = model.training
    model.eval()  # dropout off, batch norm on its running statistics
    out = []
    try:
        with torch.no_grad():
            for row in coords:
                moved = {
                    n: p + sum(float(c) * d[i] for c, d in zip(row, directions, strict=True))
                    for i, (n, p) in enumerate(zip(names, params, strict=True))
                }
                out.append(loss_fn(functional_call(model, moved, (x,)), y))
    finally:
        model.train(was_training)
    return torch.stack(out).double().cpu().numpy()  # one host sync for the whole slice


def loss_along(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    direction: Sequence[torch.Tensor],
    alphas: object,
) -> np.ndarray:
    """The losses (len(alphas),) of loss_fn(model(x), y) at the weights theta + a * direction.

    theta are the model's weights, which are left unchanged; `direction` holds one tensor per
    parameter, of its shape (`filter_normalized_direction`, `direction_between`); `alphas` is a
    1-D array of the coefficients a. At a = 0 the value is the model's own loss. Runs in eval
    mode. Book: {ref}`sec-optim-landscape`.
    """
    alphas = as_float_array("alphas", alphas, shape=("A",))
    return _losses(model, loss_fn, x, y, [direction], alphas[:, None])


def loss_plane(
    model: nn.Module,
    loss_fn: LossFn,
    x: torch.Tensor,
    y: torch.Tensor,
    direction1: Sequence[torch.Tensor],
    direction2: Sequence[torch.Tensor],
    alphas: object,
    betas: object,
) -> np.ndarray:
    """The losses (len(betas), len(alphas)) at theta + a * direction1 + b * direction2.

    Entry [i, j] is at a = alphas[j], b = betas[i], the layout of
    `plt.contour(alphas, betas, losses)`. Otherwise as `loss_along`.
    Book: {ref}`sec-optim-landscape`.
    """
    alphas = as_float_array("alphas", alphas, shape=("A",))
    betas = as_float_array("betas", betas, shape=("B",))
    grid = np.stack(np.meshgrid(alphas, betas), axis=-1).reshape(-1, 2)  # rows (a, b)
    losses = _losses(model, loss_fn, x, y, [direction1, direction2], grid)
    return losses.reshape(len(betas), len(alphas))


def loss_hessian(
    model: nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """The Hessian (P, P) of loss_fn(model(x), y) in all P parameters of the model.

    The parameters are flattened in the order of `model.parameters()`. Row i is the gradient of
    the i-th entry of the gradient (one double-backward pass per parameter), so the cost grows
    like P times a backward pass: meant for models with at most a few thousand parameters. Runs
    in eval mode; the model is left unchanged. Book: {ref}`sec-optim-saddles`.
    """
    names, params = zip(*model.named_parameters(), strict=True)
    sizes = [p.numel() for p in params]
    theta = torch.cat([p.detach().reshape(-1) for p in params]).requires_grad_()
    was_training = model.training
    model.eval()
    try:
        pieces = theta.split(sizes)
        moved = {n: t.view(p.shape) for n, t, p in zip(names, pieces, params, strict=True)}
        loss = loss_fn(functional_call(model, moved, (x,)), y)
        (grad,) = torch.autograd.grad(loss, theta, create_graph=True)
        rows = [torch.autograd.grad(g, theta, retain_graph=True)[0] for g in grad]
    finally:
        model.train(was_training)
    return torch.stack(rows)
