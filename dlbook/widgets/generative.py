"""Explorers for the chapter "Autoencoders and GANs" (`chapters/generative.ipynb`).

Both take arrays computed in the notebook (samples saved during GAN training, images denoised
at several noise levels), so this module never imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from dlbook.checks import as_float_array
from dlbook.metrics import mode_coverage
from dlbook.widgets._core import Explorer, explorer, panel_grid

__all__ = ["denoising_explorer", "gan_snapshot_explorer"]


def _draw_snapshot(
    ax: plt.Axes, step: int, samples: np.ndarray, means: np.ndarray, std: float, lim: float
) -> str:
    modes, hq = mode_coverage(samples, means, std)
    ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.3, color="tab:blue", label="G(z)")
    ax.scatter(means[:, 0], means[:, 1], s=60, marker="x", color="tab:red", label="modes")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xlabel="$x_1$", ylabel="$x_2$")
    text = f"step {step}: {modes}/{len(means)} modes, {hq:.0%} high quality"
    ax.set_title(text, fontsize=9)
    return text


def gan_snapshot_explorer(
    steps: Sequence[int],
    samples: Sequence[np.ndarray],
    means: np.ndarray,
    std: float,
    *,
    shown: int = 4,
) -> Explorer:
    """Step through a GAN's samples saved during training on a mixture of Gaussians.

    steps (S,) are the training steps at which the samples (S arrays (N, 2)) were drawn; means
    (K, 2) and std describe the target mixture. Each frame shows the samples, the modes and
    `dlbook.metrics.mode_coverage` (modes covered, fraction of high-quality samples). The
    static figure shows `shown` snapshots spread evenly over training, the last included.
    """
    steps = [int(s) for s in steps]
    if not steps or len(steps) != len(samples):
        raise ValueError(
            f"steps and samples must be non-empty and of the same length; got {len(steps)} "
            f"and {len(samples)}"
        )
    frames = [as_float_array(f"samples[{i}]", s, shape=("N", 2)) for i, s in enumerate(samples)]
    means = as_float_array("means", means, shape=("K", 2))
    lim = 1.25 * float(np.abs(means).max()) + 5 * std
    pick = np.unique(np.linspace(0, len(steps) - 1, min(shown, len(steps))).round().astype(int))
    fig, axes = panel_grid(len(pick), cols=len(pick), size=(3.2, 3.3))
    for ax, i in zip(axes, pick, strict=True):
        _draw_snapshot(ax, steps[i], frames[i], means, std, lim)
    fig.suptitle("GAN samples during training (x: the modes of the target)")
    fig.tight_layout()

    import ipywidgets as widgets

    slider = widgets.IntSlider(
        value=len(steps) - 1, min=0, max=len(steps) - 1, description="snapshot"
    )

    def draw(ax: plt.Axes) -> str:
        return _draw_snapshot(ax, steps[slider.value], frames[slider.value], means, std, lim)

    return explorer(
        fig,
        [slider],
        draw,
        note=f"step through {len(steps)} snapshots of GAN training; the figure shows {len(pick)}",
        figsize=(4.5, 4.5),
    )


def _draw_denoising(
    axes: Sequence[plt.Axes],
    clean: np.ndarray,
    noisy: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    level: float,
) -> str:
    rows = {"clean": clean, f"noisy (std {level:g})": noisy, **outputs}
    n = len(clean)
    errors = []
    for r, (name, imgs) in enumerate(rows.items()):
        for j in range(n):
            ax = axes[r * n + j]
            ax.imshow(imgs[j], cmap="gray_r", vmin=0, vmax=1)
            ax.set(xticks=[], yticks=[])
            if j == 0:
                ax.set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
        if r > 0:
            errors.append(f"{name}: MSE {np.mean((imgs - clean) ** 2):.4f}")
    return "; ".join(errors)


def denoising_explorer(
    clean: np.ndarray,
    noisy: Mapping[float, np.ndarray],
    outputs: Mapping[str, Mapping[float, np.ndarray]],
    *,
    level: float | None = None,
) -> Explorer:
    """Pick a noise level and compare the noisy digits with what each model makes of them.

    clean (n, H, W) are digits in [0, 1]; noisy maps each noise level (the std of the added
    Gaussian noise) to the corrupted digits (n, H, W); outputs maps a model's name to
    {level: its outputs (n, H, W)}. Each frame shows one row per kind of image and prints each
    row's mean squared error from the clean digits. The static figure shows `level` (default:
    the middle one).
    """
    clean = as_float_array("clean", clean, shape=("n", "H", "W"))
    levels = sorted(noisy)
    if not levels:
        raise ValueError("noisy must map at least one noise level to images")
    for name, by_level in outputs.items():
        if sorted(by_level) != levels:
            raise ValueError(f"outputs[{name!r}] must have the noise levels {levels}")
    if level is None:
        level = levels[len(levels) // 2]
    if level not in noisy:
        raise ValueError(f"level must be one of {levels}; got {level!r}")

    def frame(lv: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        noisy_lv = as_float_array("noisy", noisy[lv], shape=clean.shape)
        outs = {k: as_float_array(k, v[lv], shape=clean.shape) for k, v in outputs.items()}
        return np.clip(noisy_lv, 0, 1), outs

    n, rows = len(clean), 2 + len(outputs)
    size = (1.0, 1.0)
    fig, axes = panel_grid(rows * n, cols=n, size=size)
    summary = _draw_denoising(axes, clean, *frame(level), level)
    fig.suptitle(f"Denoising at noise std {level:g}\n{summary}", fontsize=9)

    import ipywidgets as widgets

    slider = widgets.SelectionSlider(options=levels, value=level, description="noise std")

    def draw(ax_grid: np.ndarray) -> str:
        return _draw_denoising(list(ax_grid.flat), clean, *frame(slider.value), slider.value)

    return explorer(
        fig,
        [slider],
        draw,
        note=f"choose the noise level ({', '.join(f'{v:g}' for v in levels)})",
        figsize=(n * size[0], rows * size[1]),
        subplots=(rows, n),
    )
