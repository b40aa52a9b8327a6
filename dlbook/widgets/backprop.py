"""Widgets of chapter "Multilayer perceptrons and backpropagation" (`chapters/backprop.ipynb`).

Never imports torch.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from dlbook.checks import check_positive
from dlbook.numpy.mlp import ACTIVATIONS, activation_pair
from dlbook.widgets._core import Explorer, explorer, panel_grid

__all__ = ["activation_gallery"]


def _activation_curves(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and f'(x) of the activation `name`, from its forward and backward in dnp.

    f' is the backward pass applied to dout = 1, i.e. the diagonal of the Jacobian.
    """
    forward, backward = activation_pair(name)
    out, cache = forward(x)
    return out, backward(np.ones_like(out), cache)


def _draw_activation(ax: plt.Axes, name: str, x: np.ndarray) -> plt.Axes:
    f, df = _activation_curves(name, x)
    ax.axhline(0, color="0.85", lw=0.8)
    ax.axvline(0, color="0.85", lw=0.8)
    ax.plot(x, f, color="tab:blue", lw=2, label="f(x)")
    ax.plot(x, df, color="tab:orange", lw=2, ls="--", label="f'(x)")
    ax.set(xlabel="x", ylabel="f(x) and f'(x)", ylim=(-1.5, 2.5))
    ax.set_title(f"{name} (max f' on the plot: {df.max():.3g})", fontsize=10)
    return ax


def activation_gallery(name: str = "sigmoid", *, x_max: float = 5.0) -> Explorer:
    """Pick an activation and see f (solid) and its derivative f' (dashed) on [-x_max, x_max].

    The curves come from the forward and backward functions of `dlbook.numpy.layers` (leaky
    ReLU with slope 0.01, ELU with alpha 1). The static figure shows all of them side by side;
    the widget's dropdown shows one at a time, starting with `name`.
    """
    activation_pair(name)
    x_max = check_positive("x_max", x_max)
    x = np.linspace(-x_max, x_max, 401)
    fig, axes = panel_grid(len(ACTIVATIONS), cols=3, size=(4.0, 3.0))
    for ax, act in zip(axes, ACTIVATIONS, strict=True):
        _draw_activation(ax, act, x)
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Activation functions f (solid) and their derivatives f' (dashed)")
    fig.tight_layout()

    import ipywidgets as widgets

    choice = widgets.Dropdown(options=list(ACTIVATIONS), value=name, description="activation")

    def draw(ax: plt.Axes) -> None:
        _draw_activation(ax, choice.value, x)
        ax.legend(fontsize=8, loc="upper left")

    return explorer(
        fig,
        [choice],
        draw,
        figsize=(5.5, 3.8),
        note=f"pick one of {len(ACTIVATIONS)} activations to see f and f'",
    )
