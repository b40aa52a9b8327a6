"""Widgets of chapter "From neurons to the perceptron" (`chapters/perceptron.ipynb`).

Never imports torch.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import dlbook.numpy as dnp
from dlbook.checks import as_float_array, check_int
from dlbook.numpy.perceptron import as_pm1_labels
from dlbook.widgets._core import Explorer, explorer, panel_grid

__all__ = ["perceptron_stepper"]


def _update_points(trajectory: np.ndarray, lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Recover the example behind each update from the weight trajectory.

    An update adds lr * y * (x, 1) to (w, b), so y = delta_b / lr and x = delta_w / (lr * y).
    """
    delta = np.diff(trajectory, axis=0)
    ys = np.sign(delta[:, -1])
    xs = delta[:, :-1] / (lr * ys[:, None])
    return xs, ys


def _draw_perceptron_step(
    ax: plt.Axes, X: np.ndarray, y: np.ndarray, trajectory: np.ndarray, k: int, lr: float
) -> plt.Axes:
    lo, hi = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
    # the colours and markers of plot.scatter_classes: -1 blue circles, +1 orange squares
    for label, marker, color in ((-1, "o", "tab:blue"), (1, "s", "tab:orange")):
        pts = X[y == label]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            marker=marker,
            s=24,
            c=color,
            edgecolors="k",
            linewidths=0.5,
            label=f"y = {label:+d}",
        )
    ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xlabel="$x_1$", ylabel="$x_2$")
    ax.set_aspect("equal")
    grid = np.linspace(lo[0], hi[0], 2)

    def line(wb: np.ndarray, **kwargs: object) -> None:
        w1, w2, b = wb
        if w2 != 0:
            ax.plot(grid, -(w1 * grid + b) / w2, **kwargs)
        elif w1 != 0:
            ax.axvline(-b / w1, **kwargs)

    if k > 0:
        line(trajectory[k - 1], color="gray", ls="--", lw=1, label="before")
        xs, ys = _update_points(trajectory, lr)
        ax.scatter(
            *xs[k - 1], s=160, facecolors="none", edgecolors="k", lw=1.5, label="misclassified"
        )
    line(trajectory[k], color="k", lw=2, label="boundary")
    w = trajectory[k]
    ax.set_title(
        f"after {k} update{'s' if k != 1 else ''}: w = ({w[0]:.2f}, {w[1]:.2f}), b = {w[2]:.2f}",
        fontsize=9,
    )
    return ax


def perceptron_stepper(
    X: np.ndarray, y: np.ndarray, *, lr: float = 1.0, epochs: int = 20, panels: int = 6
) -> Explorer:
    """Step through the perceptron's updates on 2-D data X (N, 2), y (N,) in ±1.

    The widget's slider (and play button) moves through the updates of `dnp.perceptron_train`:
    each frame shows the boundary before (dashed) and after (solid) one update and circles the
    misclassified example that caused it. The static figure shows `panels` evenly spaced frames.
    """
    X = as_float_array("X", X, shape=("N", 2))
    panels = check_int("panels", panels)
    fit = dnp.perceptron_train(X, y, lr=lr, epochs=epochs)
    y = as_pm1_labels("y", as_float_array("y", y, shape=(len(X),)))
    n_updates = len(fit.trajectory) - 1
    frames = np.unique(np.linspace(0, n_updates, min(panels, n_updates + 1)).round().astype(int))
    fig, axes = panel_grid(len(frames), cols=3, size=(3.6, 3.4))
    for ax, k in zip(axes, frames, strict=True):
        _draw_perceptron_step(ax, X, y, fit.trajectory, int(k), lr)
    axes[0].legend(fontsize=7, loc="lower left")
    status = "converged" if fit.converged else "did not converge"
    fig.suptitle(
        f"Perceptron updates ({n_updates} in all, {status} after {len(fit.mistakes)} passes)"
    )
    fig.tight_layout()

    import ipywidgets as widgets

    slider = widgets.IntSlider(value=0, min=0, max=n_updates, description="update")
    play = widgets.Play(value=0, min=0, max=n_updates, interval=400, description="play")
    widgets.jslink((play, "value"), (slider, "value"))

    def draw(ax: plt.Axes) -> None:
        _draw_perceptron_step(ax, X, y, fit.trajectory, slider.value, lr)
        ax.legend(fontsize=8, loc="lower left")

    return explorer(
        fig,
        [[play, slider]],
        draw,
        figsize=(5, 4.5),
        watch=[slider],
        note=f"{n_updates} perceptron updates to step through",
    )
