"""Widgets of chapter "Optimization" (`chapters/optimization.ipynb`): optimizer trajectories on
2-D test surfaces.

`optimizer_path` and `draw_optimizer_paths` are model and plotting code that the chapter also
calls directly; they are due to move to `dlbook.numpy.optim` and `dlbook.plot`.
Never imports torch.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from dlbook.numpy.optim import OPTIMIZER_CHOICES, SURFACES, optimizer_path
from dlbook.plot import draw_optimizer_paths
from dlbook.widgets._core import Explorer, explorer

__all__ = ["draw_optimizer_paths", "optimizer_explorer", "optimizer_path"]

_OPTIM_STEPS = 1000  # steps per path in the explorer


def _optim_summary(surface: str, optimizer: str, lr: float, beta: float, path: np.ndarray) -> str:
    knob = OPTIMIZER_CHOICES[optimizer][2]
    knob = "beta unused" if knob is None else f"{knob.replace('betas', 'beta1')} = {beta:.3g}"
    x = path[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        f = float(SURFACES[surface].f(x))
    diverged = " (diverged: stopped early)" if len(path) < _OPTIM_STEPS + 1 else ""
    return (
        f"{optimizer}, lr = {lr:.3g}, {knob}: after {len(path) - 1} steps at "
        f"({x[0]:.4g}, {x[1]:.4g}), f = {f:.3e}{diverged}"
    )


def _draw_optim_state(
    axes: tuple[plt.Axes, plt.Axes], surface: str, optimizer: str, lr: float, beta: float
) -> str:
    path = optimizer_path(surface, optimizer, lr, beta, _OPTIM_STEPS)
    draw_optimizer_paths(surface, {optimizer: path}, ax=axes[0])
    axes[0].legend(fontsize=8, loc="upper right")
    with np.errstate(over="ignore", invalid="ignore"):
        losses = SURFACES[surface].f(path)
    axes[1].semilogy(np.arange(len(path)), losses + 1e-300)
    axes[1].set(xlabel="step", ylabel="f (log scale)", title=f"{optimizer}: loss along the path")
    return _optim_summary(surface, optimizer, lr, beta, path)


def optimizer_explorer(
    surface: str = "rosenbrock", optimizer: str = "Adam", lr: float = 0.05, beta: float = 0.9
) -> Explorer:
    """Choose a surface, an optimizer, its learning rate and beta, and watch 1000 steps.

    The left panel draws the path on the contours of the surface, the right one the loss along
    it; a line of text gives the end point. `beta` means what `optimizer_path` says. The
    static figure shows the default setting.
    """
    optimizer_path(surface, optimizer, lr, beta, 1)  # checks the arguments
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    summary = _draw_optim_state(axes, surface, optimizer, lr, beta)
    fig.suptitle(summary, fontsize=10)
    fig.tight_layout()

    import ipywidgets as widgets

    surface_w = widgets.Dropdown(options=list(SURFACES), value=surface, description="surface")
    opt_w = widgets.Dropdown(
        options=list(OPTIMIZER_CHOICES), value=optimizer, description="optimizer"
    )
    lr_w = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0.5, step=0.05, description="lr")
    beta_w = widgets.FloatSlider(value=beta, min=0.0, max=0.999, step=0.001, description="beta")
    beta_w.readout_format = ".3f"

    def draw(axes: tuple[plt.Axes, plt.Axes]) -> str:
        beta_w.disabled = OPTIMIZER_CHOICES[opt_w.value][2] is None
        return _draw_optim_state(axes, surface_w.value, opt_w.value, lr_w.value, beta_w.value)

    return explorer(
        fig,
        [[surface_w, opt_w], [lr_w, beta_w]],
        draw,
        subplots=(1, 2),
        figsize=(11, 4.2),
        note="choose a surface, an optimizer, its learning rate and beta",
    )
