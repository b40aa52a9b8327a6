"""Exercise checks of chapter "Efficient, trustworthy and distributed deep learning".

Each check compares an answer with the dlbook reference code (`dlbook.torch.efficiency`,
`dlbook.torch.robust`); see `dlbook.exercises._core`. torch is imported inside the checks,
never at module level.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlbook.exercises._core import OK, check_close

__all__ = ["check_distillation", "check_fgsm_step", "check_magnitude_mask"]


def check_distillation(loss_fn: Callable, *, seed: int = 0) -> None:
    """Compare loss_fn(student_logits, teacher_logits, targets, temperature, alpha) -> scalar
    tensor with `dlbook.torch.distillation_loss`, value and gradient, in float64."""
    import torch

    from dlbook.torch.efficiency import distillation_loss

    g = torch.Generator().manual_seed(seed)
    for n, k, temp, alpha in [
        (4, 3, 1.0, 0.5),
        (6, 10, 4.0, 0.9),
        (3, 5, 20.0, 1.0),
        (5, 4, 2.0, 0.0),
    ]:
        s = torch.randn(n, k, generator=g, dtype=torch.float64) * 2
        t = torch.randn(n, k, generator=g, dtype=torch.float64) * 3
        y = torch.randint(0, k, (n,), generator=g)
        got_s, want_s = s.clone().requires_grad_(True), s.clone().requires_grad_(True)
        got = loss_fn(got_s, t.clone(), y.clone(), temp, alpha)
        if not isinstance(got, torch.Tensor) or got.ndim != 0:
            raise AssertionError(f"return a scalar tensor (the batch mean); got {got!r}")
        want = distillation_loss(want_s, t, y, temp, alpha)
        where = f"N={n}, K={k}, T={temp}, alpha={alpha}"
        hint = " (did you multiply the soft term by T**2 and average over the batch?)"
        try:
            check_close(f"loss for {where}", got.item(), want.item(), rtol=1e-8)
        except AssertionError as err:
            raise AssertionError(f"{err}{hint}") from None
        got.backward()
        want.backward()
        if got_s.grad is None:
            raise AssertionError(f"no gradient reached the student logits for {where}")
        check_close(f"gradient for {where}", got_s.grad.numpy(), want_s.grad.numpy(), rtol=1e-8)
    print(f"{OK} your distillation loss and its gradient match dlbook.torch.distillation_loss")


def check_fgsm_step(fgsm_fn: Callable, *, seed: int = 0) -> None:
    """Compare fgsm_fn(model, x, y, eps) -> x_adv with `dlbook.torch.fgsm` on a small network
    whose inputs lie in [0, 1]."""
    import torch

    from dlbook.torch.robust import fgsm

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(12, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    model.eval()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(16, 12, generator=g)
    x[:, :3] = torch.tensor([0.0, 1.0, 0.995])  # pixels at the edges of [0, 1]
    y = torch.randint(0, 3, (16,), generator=g)
    for eps in (0.0, 0.01, 0.1, 0.5):
        got = fgsm_fn(model, x.clone(), y.clone(), eps)
        want = fgsm(model, x, y, eps)
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            raise AssertionError(f"return a tensor of shape {tuple(want.shape)}; got {got!r}")
        if float((got - x).abs().max()) > eps + 1e-6:
            raise AssertionError(f"eps={eps}: ||x_adv - x||_inf exceeds the budget")
        if got.min() < 0 or got.max() > 1:
            raise AssertionError(f"eps={eps}: x_adv leaves [0, 1]; clamp it to the valid range")
        check_close(f"x_adv for eps={eps}", got.detach().numpy(), want.numpy(), rtol=1e-6)
    print(f"{OK} your FGSM matches dlbook.torch.fgsm, stays within eps and within [0, 1]")


def check_magnitude_mask(mask_fn: Callable, *, seed: int = 0) -> None:
    """Compare mask_fn(w, sparsity) -> boolean keep-mask with the mask of
    `dlbook.torch.prune_magnitude` (L1 unstructured) on one layer's weights."""
    import torch

    from dlbook.torch.efficiency import prune_magnitude

    rng = np.random.default_rng(seed)
    for shape, sparsity in [((4, 5), 0.5), ((8, 3, 3), 0.3), ((10, 10), 0.9), ((7,), 0.0)]:
        w = rng.normal(size=shape)
        got = np.asarray(mask_fn(w.copy(), sparsity))
        layer = torch.nn.Linear(1, 1, bias=False)
        layer.weight = torch.nn.Parameter(torch.as_tensor(w.reshape(1, -1)))
        prune_magnitude(torch.nn.Sequential(layer), sparsity)
        want = layer.weight_mask.numpy().reshape(shape).astype(bool)
        if got.shape != want.shape or got.dtype != bool:
            raise AssertionError(
                f"return a boolean array of shape {shape} (True = keep); "
                f"got {got.dtype} {got.shape}"
            )
        if got.sum() != want.sum():
            raise AssertionError(
                f"sparsity {sparsity} of {w.size} weights: keep {int(want.sum())}, you kept "
                f"{int(got.sum())} (zero round(sparsity * size) weights)"
            )
        if not np.array_equal(got, want):
            raise AssertionError(f"shape {shape}: you kept the wrong weights; keep the LARGEST |w|")
    print(f"{OK} your masks zero exactly the smallest-magnitude weights, as prune_magnitude does")
