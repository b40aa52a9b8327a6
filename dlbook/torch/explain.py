"""Attribution maps: which input pixels does a class score depend on?

Vanilla gradient saliency (Simonyan et al., 2014), integrated gradients (Sundararajan et al.,
2017), Grad-CAM (Selvaraju et al., 2017), and the model-randomization sanity check of Adebayo
et al. (2018). Book: chapter "Efficient, trustworthy and distributed deep learning"
({ref}`sec-efficient-explain`).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from dlbook.checks import check_int

__all__ = [
    "grad_cam",
    "gradient_saliency",
    "integrated_gradients",
    "randomize_layers",
    "rank_correlation",
]


def _targets(model: nn.Module, x: torch.Tensor, target: object) -> torch.Tensor:
    """Class index per example: the given int or (N,) tensor, else the model's prediction."""
    if target is None:
        with torch.no_grad():
            return model(x).argmax(dim=1)
    t = torch.as_tensor(target, device=x.device)
    if t.ndim == 0:
        t = t.expand(len(x))
    if t.shape != (len(x),):
        raise ValueError(f"target must be an int or have shape ({len(x)},); got {tuple(t.shape)}")
    return t.long()


def _class_score(model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """f_c(x) for each example: the logit of its target class, (N,)."""
    return model(x).gather(1, target[:, None]).squeeze(1)


def _eval_mode(model: nn.Module) -> bool:
    was_training = model.training
    model.eval()
    return was_training


def gradient_saliency(
    model: nn.Module, x: torch.Tensor, target: object = None, *, absolute: bool = True
) -> torch.Tensor:
    """Vanilla gradient saliency: d f_c(x) / d x, of the shape of x (N, ...).

    f_c is the logit of class c = `target` (an int, or one per example; default: the predicted
    class). With `absolute=True` the magnitude |d f_c / d x| (Simonyan et al. 2014 then take the
    maximum over colour channels). Runs in eval mode. Book: {ref}`sec-efficient-explain`.
    """
    was_training = _eval_mode(model)
    try:
        target = _targets(model, x, target)
        x = x.detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(_class_score(model, x, target).sum(), x)
    finally:
        model.train(was_training)
    return grad.abs() if absolute else grad


def integrated_gradients(
    model: nn.Module,
    x: torch.Tensor,
    target: object = None,
    *,
    baseline: torch.Tensor | None = None,
    steps: int = 64,
) -> torch.Tensor:
    """Integrated gradients (Sundararajan et al. 2017) of the class score f_c, shape of x (N, ...).

    IG_i(x) = (x_i - x'_i) * integral over a in [0, 1] of d f_c(x' + a (x - x')) / d x_i,

    with the integral taken by the midpoint rule: the mean gradient at a = (k + 1/2) / steps,
    k = 0 .. steps - 1 (a Riemann sum, as in the paper, that never evaluates the gradient at the
    baseline itself, where a ReLU network is often not differentiable). `baseline` x' defaults
    to zeros (a black image). Completeness: the attributions of an example sum to
    f_c(x) - f_c(x'), up to the error of the quadrature.
    `target` as in `gradient_saliency`. Book: {ref}`sec-efficient-explain`.
    """
    steps = check_int("steps", steps)
    baseline = torch.zeros_like(x) if baseline is None else baseline.to(x)
    if baseline.shape != x.shape and baseline.shape != x.shape[1:]:
        raise ValueError(
            f"baseline must have the shape of x {tuple(x.shape)} or of one example; "
            f"got {tuple(baseline.shape)}"
        )
    baseline = baseline.expand_as(x)
    was_training = _eval_mode(model)
    try:
        target = _targets(model, x, target)
        alphas = (torch.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
        total = torch.zeros_like(x)
        for a in alphas:
            point = (baseline + a * (x - baseline)).detach().requires_grad_(True)
            with torch.enable_grad():
                score = _class_score(model, point, target).sum()
            (grad,) = torch.autograd.grad(score, point)
            total += grad / steps
    finally:
        model.train(was_training)
    return (x - baseline) * total


def grad_cam(
    model: nn.Module,
    x: torch.Tensor,
    layer: nn.Module,
    target: object = None,
    *,
    upsample: bool = True,
) -> torch.Tensor:
    """Grad-CAM (Selvaraju et al. 2017) of class c at the conv `layer`, (N, H, W).

    With A^k (N, K, h, w) the output of `layer` and f_c the class logit:
      alpha_k = mean over positions of d f_c / d A^k        (one weight per channel)
      map     = relu(sum_k alpha_k A^k)                      (N, h, w)
    With `upsample=True` the map is resized bilinearly to the input's H x W; otherwise it keeps
    the layer's h x w. `target` as in `gradient_saliency`. Book: {ref}`sec-efficient-explain`.
    """
    if not any(m is layer for m in model.modules()):
        raise ValueError("layer must be a submodule of model")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W); got {tuple(x.shape)}")
    saved: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda module, inputs, output: saved.append(output))
    was_training = _eval_mode(model)
    try:
        target = _targets(model, x, target)
        saved.clear()
        with torch.enable_grad():
            score = _class_score(model, x, target)
        if len(saved) != 1 or saved[0].ndim != 4:
            raise ValueError("layer must run once per forward pass and output (N, K, h, w) maps")
        activations = saved[0]
        (grads,) = torch.autograd.grad(score.sum(), activations)
    finally:
        handle.remove()
        model.train(was_training)
    alpha = grads.mean(dim=(2, 3), keepdim=True)  # (N, K, 1, 1)
    cam = torch.relu((alpha * activations).sum(dim=1)).detach()  # (N, h, w)
    if upsample:
        cam = nn.functional.interpolate(
            cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False
        )[:, 0]
    return cam


def randomize_layers(model: nn.Module, n_layers: int | None = None, *, seed: int = 0) -> nn.Module:
    """A copy of `model` with the weights of its last `n_layers` parametrised layers re-drawn.

    The layers (modules with a `reset_parameters` method and their own parameters) are counted
    from the output, as in the cascading randomization of Adebayo et al. (2018); `n_layers=None`
    re-draws all of them. Each gets its default initialization from a generator seeded by
    `seed`. If an explanation method is faithful to the model, its maps should change.
    """
    copy_ = copy.deepcopy(model)
    layers = [
        m
        for m in copy_.modules()
        if hasattr(m, "reset_parameters") and any(True for _ in m.parameters(recurse=False))
    ]
    n = len(layers) if n_layers is None else check_int("n_layers", n_layers, minimum=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in layers[max(len(layers) - n, 0) :]:
            layer.reset_parameters()
    return copy_


def _average_ranks(row: torch.Tensor) -> torch.Tensor:
    """Ranks 0 .. n-1 of a 1-D tensor; tied values share the mean of their ranks."""
    values, order = row.sort()
    _, inverse, counts = torch.unique_consecutive(values, return_inverse=True, return_counts=True)
    first = torch.cumsum(counts, 0) - counts  # rank of the first member of each group of ties
    ranks = torch.empty(len(row), dtype=torch.float64, device=row.device)
    ranks[order] = (first + (counts - 1) / 2).to(torch.float64)[inverse]
    return ranks


def rank_correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Spearman rank correlation between maps a and b, per example: (N, ...) -> (N,).

    The Pearson correlation of the ranks of the entries of each example, tied entries (such as
    the zeros of a black background) sharing their mean rank. Adebayo et al. compare saliency
    maps before and after randomization this way. A constant map gives NaN.
    """
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(
            f"a and b must have the same shape (N, ...); got {tuple(a.shape)} and {tuple(b.shape)}"
        )

    def centred_ranks(t: torch.Tensor) -> torch.Tensor:
        r = torch.stack([_average_ranks(row) for row in t.detach().reshape(len(t), -1)])
        return r - r.mean(dim=1, keepdim=True)

    ra, rb = centred_ranks(a), centred_ranks(b)
    return (ra * rb).sum(1) / (ra.norm(dim=1) * rb.norm(dim=1))
