"""Mixtures of 2-D Gaussians: the toy targets on which GANs are checked for mode collapse.

Book: chapter "Autoencoders and GANs" (`chapters/generative.ipynb`, {ref}`sec-gen-modes`).
The ring of 8 and the 5x5 grid are the benchmarks of VEEGAN (Srivastava et al., 2017) and
PacGAN (Lin et al., 2018); `dlbook.metrics.mode_coverage` scores samples against them.
Never imports torch.
"""

from __future__ import annotations

import numpy as np

from dlbook.checks import check_int, check_positive, check_rng

__all__ = ["gaussian_grid", "gaussian_mixture", "gaussian_ring"]


def gaussian_mixture(
    n: int, means: np.ndarray, std: float, *, rng: np.random.Generator
) -> np.ndarray:
    """n samples (n, D) from the equal-weight mixture of isotropic Gaussians N(means[k], std^2 I).

    means is (K, D). Each sample picks its component uniformly at random, then adds noise.
    """
    n = check_int("n", n)
    std = check_positive("std", std)
    rng = check_rng(rng)
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2 or len(means) == 0:
        raise ValueError(f"means must be a 2-D array (K, D) with K >= 1; got shape {means.shape}")
    k = rng.integers(len(means), size=n)
    return means[k] + std * rng.standard_normal((n, means.shape[1]))


def gaussian_ring(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.02, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(samples (n, 2), means (modes, 2)): `modes` Gaussians evenly spaced on a circle.

    The means sit at angles 2 pi k / modes for k = 0..modes-1 (not np.linspace(0, 2 pi, modes),
    whose last angle equals its first and leaves modes - 1 distinct means).
    """
    modes = check_int("modes", modes)
    radius = check_positive("radius", radius)
    angles = 2 * np.pi * np.arange(modes) / modes
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return gaussian_mixture(n, means, std, rng=rng), means


def gaussian_grid(
    n: int, side: int = 5, spacing: float = 2.0, std: float = 0.05, *, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(samples (n, 2), means (side**2, 2)): Gaussians on a side x side grid centred at 0.

    With the defaults the means are {-4, -2, 0, 2, 4}^2, 25 modes `spacing` apart.
    """
    side = check_int("side", side)
    spacing = check_positive("spacing", spacing)
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    gx, gy = np.meshgrid(ticks, ticks, indexing="ij")
    means = np.stack([gx.ravel(), gy.ravel()], axis=1)
    return gaussian_mixture(n, means, std, rng=rng), means
