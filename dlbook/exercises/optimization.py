"""Exercise checks of chapter "Optimization" (`chapters/optimization.ipynb`).

Each check compares an answer with the dlbook reference code; see `dlbook.exercises._core`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import OK, check_close, unpack

__all__ = [
    "check_adam_step",
    "check_cosine_lr",
    "check_momentum_step",
    "check_soft_threshold",
]


def _grad_sequence(rng: np.random.Generator, shape: tuple[int, ...], n: int) -> list[np.ndarray]:
    """n gradients whose scale changes from step to step."""
    return [rng.uniform(0.1, 3.0) * rng.normal(size=shape) for _ in range(n)]


def check_momentum_step(step: Callable, *, seed: int = 0) -> None:
    """Compare step(p, g, velocity, lr, momentum) -> (new_p, new_velocity), velocity None at the
    first step, with 15 steps of `dnp.SGD(momentum=...)` on random gradients."""
    rng = np.random.default_rng(seed)
    for lr, momentum in [(0.1, 0.9), (0.5, 0.5), (0.01, 0.99)]:
        p0 = rng.normal(size=(3, 2))
        ref = [p0.copy()]
        opt = dnp.SGD(ref, lr=lr, momentum=momentum)
        p, velocity = p0.copy(), None
        for k, g in enumerate(_grad_sequence(rng, p0.shape, 15)):
            opt.step([g])
            out = step(
                p.copy(), g.copy(), None if velocity is None else velocity.copy(), lr, momentum
            )
            out = unpack("step", out, ("new_p", "new_velocity"))
            p, velocity = (np.asarray(a, dtype=np.float64) for a in out)
            check_close(f"p after step {k + 1} (lr={lr}, momentum={momentum})", p, ref[0])
            check_close(f"velocity after step {k + 1}", velocity, opt.velocity[0])
    print(f"{OK} your momentum step matches dnp.SGD (and torch.optim.SGD) for 3 x 15 steps")


def check_adam_step(step: Callable, *, seed: int = 0) -> None:
    """Compare step(p, g, m, v, t, lr, beta1, beta2, eps) -> (new_p, new_m, new_v) with
    `dnp.Adam` over 10 steps, for several betas and eps."""
    rng = np.random.default_rng(seed)
    cases = [(0.01, 0.9, 0.999, 1e-8), (0.1, 0.5, 0.9, 1e-3), (0.05, 0.0, 0.99, 0.1)]
    for lr, beta1, beta2, eps in cases:
        p0 = rng.normal(size=4)
        ref = [p0.copy()]
        opt = dnp.Adam(ref, lr=lr, betas=(beta1, beta2), eps=eps)
        p, m, v = p0.copy(), np.zeros(4), np.zeros(4)
        for t, g in enumerate(_grad_sequence(rng, p0.shape, 10), start=1):
            opt.step([g])
            out = step(p.copy(), g.copy(), m.copy(), v.copy(), t, lr, beta1, beta2, eps)
            out = unpack("step", out, ("new_p", "new_m", "new_v"))
            p, m, v = (np.asarray(a, dtype=np.float64) for a in out)
            case = f"step t={t} (lr={lr}, beta1={beta1}, beta2={beta2}, eps={eps})"
            check_close(f"m after {case}", m, opt.m[0])
            check_close(f"v after {case}", v, opt.v[0])
            check_close(f"p after {case}: check the bias corrections and eps", p, ref[0])
    print(f"{OK} your Adam step matches dnp.Adam (and torch.optim.Adam) for 3 x 10 steps")


def check_soft_threshold(soft_threshold: Callable, *, seed: int = 0) -> None:
    """Compare soft_threshold(x, t) with `dnp.soft_threshold`, exact zeros included."""
    rng = np.random.default_rng(seed)
    for t in (0.0, 0.5, 1.0, 3.0):
        x = rng.normal(size=(5, 6)) * 2
        x[0, :3] = [t, -t, 0.0]  # on the threshold and at zero
        want = dnp.soft_threshold(x, t)
        got = np.asarray(soft_threshold(x.copy(), t), dtype=np.float64)
        check_close(f"soft_threshold(x, t={t})", got, want)
        if got.shape == want.shape and np.any((got != 0) & (want == 0)):
            raise AssertionError(f"t={t}: entries with |x| <= t must be exactly 0")
    print(f"{OK} your soft-thresholding matches dnp.soft_threshold for 4 thresholds")


def check_cosine_lr(cosine_lr: Callable) -> None:
    """Compare cosine_lr(step, base_lr, T_max, eta_min) with `dnp.cosine_annealing_lr`."""
    for base_lr, T_max, eta_min in [(0.1, 10, 0.0), (1.0, 50, 0.01), (0.3, 7, 0.1)]:
        steps = np.arange(2 * T_max + 1)
        got = [cosine_lr(int(s), base_lr, T_max, eta_min) for s in steps]
        want = dnp.cosine_annealing_lr(steps, base_lr, T_max, eta_min)
        check_close(f"lr for base_lr={base_lr}, T_max={T_max}, eta_min={eta_min}", got, want)
    print(f"{OK} your schedule matches dnp.cosine_annealing_lr (and torch's CosineAnnealingLR)")
