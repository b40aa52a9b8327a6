"""Widgets of chapter "Linear models and gradient descent" (`chapters/linear_models.ipynb`).

Never imports torch.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

import dlbook.numpy as dnp
from dlbook.checks import as_float_array, check_int
from dlbook.widgets._core import Explorer, explorer

__all__ = ["learning_rate_explorer"]


def _lr_problem(X: object, y: object) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, float]:
    """One-feature linear regression: X (N, 1), y (N,), 2/lambda_max, the optimum and its loss."""
    X = as_float_array("X", X)
    if X.ndim == 1:
        X = X[:, None]
    X = as_float_array("X", X, shape=("N", 1))
    y = as_float_array("y", y, shape=(X.shape[0],))
    limit = dnp.largest_stable_lr(dnp.mse_hessian(X))
    w, b = dnp.linear_regression_closed_form(X, y)
    best = np.append(w, b)
    return X, y, limit, best, dnp.linear_model_loss(X, y, w, b)[0]


def _draw_lr_path(
    ax: plt.Axes,
    X: np.ndarray,
    y: np.ndarray,
    limit: float,
    best: np.ndarray,
    best_loss: float,
    factor: float,
    steps: int,
    color: str = "tab:red",
) -> np.ndarray:
    """Contours of the loss over (w, b) and the path of GD from (0, 0); returns the losses."""
    fit = dnp.gradient_descent(X, y, lr=factor * limit, epochs=steps, keep_path=True)
    half = 1.3 * np.maximum(np.abs(best), 0.5)  # the box holds the start (0, 0) and the optimum
    ws = np.linspace(best[0] - half[0], best[0] + half[0], 120)
    bs = np.linspace(best[1] - half[1], best[1] + half[1], 120)
    W, B = np.meshgrid(ws, bs)
    # mean((w x + b - y)^2) on the whole grid at once
    resid = W[..., None] * X[:, 0] + B[..., None] - y
    gap = np.mean(resid**2, axis=-1) - best_loss
    levels = np.geomspace(max(gap.min(), 1e-3 * gap.max(), 1e-12), gap.max(), 12)
    ax.contour(W, B, gap, levels=levels, cmap="Greys_r", linewidths=0.8)
    ax.plot(*fit.path.T, "o-", color=color, ms=3, lw=1.2, label="GD path")
    ax.plot(*best, "*", color="k", ms=12, label="minimum")
    ax.set(xlim=(ws[0], ws[-1]), ylim=(bs[0], bs[-1]), xlabel="weight $w$", ylabel="bias $b$")
    ax.set_title(f"lr = {factor:.2f} × 2/$\\lambda_{{max}}$ = {factor * limit:.3g}", fontsize=9)
    return fit.loss


def _draw_lr_losses(ax: plt.Axes, curves: dict[float, np.ndarray], best_loss: float) -> None:
    for factor, losses in curves.items():
        ax.semilogy(losses - best_loss + 1e-16, label=f"{factor:.2f} × 2/$\\lambda_{{max}}$")
    ax.set(xlabel="step", ylabel="loss - minimum (log scale)")
    ax.set_title("Distance to the minimum", fontsize=9)
    ax.legend(fontsize=8)


def learning_rate_explorer(
    X: np.ndarray,
    y: np.ndarray,
    *,
    factors: tuple[float, ...] = (0.1, 0.5, 1.05),
    steps: int = 40,
) -> Explorer:
    """Gradient descent on one-feature linear regression, with the learning rate on a slider.

    X is (N, 1) (or (N,)) and y (N,). The learning rate is set as a fraction of the stability
    limit 2 / lambda_max of the loss's Hessian (`dnp.largest_stable_lr`): below 1 the iterates
    converge, above 1 they diverge. Each frame shows the loss contours over (w, b) with the
    path of `steps` steps from (0, 0), and the distance to the minimum at each step. The static
    figure shows one panel per entry of `factors` and their loss curves side by side.
    """
    X, y, limit, best, best_loss = _lr_problem(X, y)
    factors = tuple(float(f) for f in factors)
    if not factors or not all(0 < f < 10 for f in factors):
        raise ValueError(f"factors must be numbers in (0, 10); got {factors!r}")
    steps = check_int("steps", steps)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    cols = len(factors) + 1
    fig, axes = plt.subplots(1, cols, figsize=(3.6 * cols, 3.6))
    curves = {}
    for i, (ax, f) in enumerate(zip(axes, factors, strict=False)):
        curves[f] = _draw_lr_path(ax, X, y, limit, best, best_loss, f, steps, colors[i % 10])
    _draw_lr_losses(axes[-1], curves, best_loss)
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(
        f"Gradient descent for {steps} steps; stable iff lr < 2/$\\lambda_{{max}}$ = {limit:.3g}"
    )
    fig.tight_layout()

    import ipywidgets as widgets

    factor = widgets.FloatSlider(
        value=factors[0],
        min=0.02,
        max=1.2,
        step=0.01,
        description="lr x 2/λmax",
        style={"description_width": "initial"},
        continuous_update=False,
    )
    n_steps = widgets.IntSlider(
        value=steps, min=1, max=200, description="steps", continuous_update=False
    )

    def draw(axes: tuple[plt.Axes, plt.Axes]) -> None:
        left, right = axes
        losses = _draw_lr_path(left, X, y, limit, best, best_loss, factor.value, n_steps.value)
        _draw_lr_losses(right, {factor.value: losses}, best_loss)

    return explorer(
        fig,
        [[factor, n_steps]],
        draw,
        subplots=(1, 2),
        figsize=(9, 3.8),
        note=(
            "gradient descent with a learning-rate slider; the stability limit is "
            f"2/lambda_max = {limit:.3g}"
        ),
    )
