"""Interactive explorers for the chapters, built with ipywidgets.

Each explorer is returned as an `Explorer`. In JupyterLab or Colab it displays as a live widget.
Its display data also carries a static PNG of the default setting, which the HTML book shows
(the book's `_config.yml` drops the widget view for HTML builders, so no page needs the
widget manager from a CDN). Never imports torch; ipywidgets is imported only when an explorer
is built.
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Iterator

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

import dlbook.numpy as dnp
from dlbook._validate import as_float_array
from dlbook.numpy.perceptron import _pm1

__all__ = [
    "Explorer",
    "activation_gallery",
    "draw_optimizer_paths",
    "fit_polynomial",
    "learning_rate_explorer",
    "optimizer_explorer",
    "optimizer_path",
    "perceptron_stepper",
    "polynomial_errors",
    "polynomial_explorer",
    "polynomial_features",
    "threshold_explorer",
    "KERNELS",
    "apply_kernel",
    "kernel_playground",
]


class Explorer:
    """A widget plus a static figure of its default state.

    `widget` is an ipywidgets widget; `figure` a matplotlib Figure drawn at the default setting;
    `note` the text shown where neither can be displayed.
    """

    def __init__(self, widget: object, figure: Figure, note: str) -> None:
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
        self.widget = widget
        self.png = base64.b64encode(buf.getvalue()).decode("ascii")
        self.note = note

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["image/png"] = self.png
        bundle["text/plain"] = self.note
        return bundle


@contextlib.contextmanager
def _live_figure(out: object, *args: object, **kwargs: object) -> Iterator[tuple]:
    """Draw a fresh figure into the ipywidgets Output `out`: yields (fig, axes) from
    plt.subplots(*args, **kwargs), then lays it out, shows it in `out` and closes it."""
    from IPython.display import display

    with out:
        out.clear_output(wait=True)
        fig, axes = plt.subplots(*args, **kwargs)
        yield fig, axes
        fig.tight_layout()
        display(fig)
        plt.close(fig)


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
    fit = dnp.perceptron_train(X, y, lr=lr, epochs=epochs)
    y = _pm1("y", y, len(X))
    n_updates = len(fit.trajectory) - 1
    frames = np.unique(np.linspace(0, n_updates, min(panels, n_updates + 1)).round().astype(int))
    cols = min(3, len(frames))
    rows = int(np.ceil(len(frames) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.4 * rows), squeeze=False)
    for ax, k in zip(axes.flat, frames, strict=False):
        _draw_perceptron_step(ax, X, y, fit.trajectory, int(k), lr)
    for ax in axes.flat[len(frames) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, loc="lower left")
    status = "converged" if fit.converged else "did not converge"
    fig.suptitle(
        f"Perceptron updates ({n_updates} in all, {status} after {len(fit.mistakes)} passes)"
    )
    fig.tight_layout()

    import ipywidgets as widgets

    slider = widgets.IntSlider(value=0, min=0, max=n_updates, description="update")
    play = widgets.Play(value=0, min=0, max=n_updates, interval=400, description="play")
    widgets.jslink((play, "value"), (slider, "value"))
    out = widgets.Output()

    def draw(change: object = None) -> None:
        with _live_figure(out, figsize=(5, 4.5)) as (frame, ax):
            _draw_perceptron_step(ax, X, y, fit.trajectory, slider.value, lr)
            ax.legend(fontsize=8, loc="lower left")

    slider.observe(draw, names="value")
    draw()
    box = widgets.VBox([widgets.HBox([play, slider]), out])
    note = (
        f"[Interactive: {n_updates} perceptron updates. Run this notebook in JupyterLab or "
        "Colab to step through them.]"
    )
    return Explorer(box, fig, note)


# ---------------------------------------------------------------------------------------------
# Chapter "Multilayer perceptrons and backpropagation": the activation gallery


def _activation_curves(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and f'(x) of the activation `name`, from its forward and backward in dnp.

    f' is the backward pass applied to dout = 1, i.e. the diagonal of the Jacobian.
    """
    from dlbook.numpy.mlp import _activation

    forward, backward = _activation(name)
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
    from dlbook.numpy.mlp import ACTIVATIONS, _activation

    _activation(name)
    if isinstance(x_max, bool) or not isinstance(x_max, int | float) or not 0 < x_max < np.inf:
        raise ValueError(f"x_max must be a finite number > 0; got {x_max!r}")
    x = np.linspace(-x_max, x_max, 401)
    cols = 3
    rows = -(-len(ACTIVATIONS) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.0 * rows), squeeze=False)
    for ax, act in zip(axes.flat, ACTIVATIONS, strict=False):
        _draw_activation(ax, act, x)
    for ax in axes.flat[len(ACTIVATIONS) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("Activation functions f (solid) and their derivatives f' (dashed)")
    fig.tight_layout()

    import ipywidgets as widgets

    choice = widgets.Dropdown(options=list(ACTIVATIONS), value=name, description="activation")
    out = widgets.Output()

    def draw(change: object = None) -> None:
        with _live_figure(out, figsize=(5.5, 3.8)) as (frame, ax):
            _draw_activation(ax, choice.value, x)
            ax.legend(fontsize=8, loc="upper left")

    choice.observe(draw, names="value")
    draw()
    note = (
        f"[Interactive: pick one of {len(ACTIVATIONS)} activations to see f and f'. Run this "
        "notebook in JupyterLab or Colab to use it.]"
    )
    return Explorer(widgets.VBox([choice, out]), fig, note)


# ---------------------------------------------------------------------------------------------
# Chapter "Linear models and gradient descent": the learning-rate explorer


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
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps must be a positive int; got {steps!r}")
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
    out = widgets.Output()

    def draw(change: object = None) -> None:
        with _live_figure(out, 1, 2, figsize=(9, 3.8)) as (frame, (left, right)):
            losses = _draw_lr_path(left, X, y, limit, best, best_loss, factor.value, n_steps.value)
            _draw_lr_losses(right, {factor.value: losses}, best_loss)

    factor.observe(draw, names="value")
    n_steps.observe(draw, names="value")
    draw()
    note = (
        f"[Interactive: gradient descent with a learning-rate slider; the stability limit is "
        f"2/lambda_max = {limit:.3g}. Run this notebook in JupyterLab or Colab to use it.]"
    )
    return Explorer(widgets.VBox([widgets.HBox([factor, n_steps]), out]), fig, note)


# ---------------------------------------------------------------------------------------------
# Chapter "Optimization": optimizer trajectories on 2-D test surfaces

_OPTIM_STEPS = 1000  # steps per path in the explorer

# name -> (class, fixed arguments, the argument that beta sets, or None when beta is unused)
_OPTIM_CHOICES: dict[str, tuple[type, dict, str | None]] = {
    "SGD": (dnp.SGD, {}, None),
    "Momentum": (dnp.SGD, {}, "momentum"),
    "Nesterov": (dnp.SGD, {"nesterov": True}, "momentum"),
    "Adagrad": (dnp.Adagrad, {}, None),
    "RMSprop": (dnp.RMSprop, {}, "alpha"),
    "Adadelta": (dnp.Adadelta, {}, "rho"),
    "Adam": (dnp.Adam, {}, "betas"),
}


def optimizer_path(
    surface: str, optimizer: str, lr: float, beta: float = 0.9, steps: int = 500
) -> np.ndarray:
    """The points (n, 2) that `optimizer` visits on `dnp.SURFACES[surface]` from its start.

    `optimizer` is one of "SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adadelta",
    "Adam"; `beta` is the momentum (Momentum, Nesterov), alpha (RMSprop), rho (Adadelta) or
    beta1 (Adam, with beta2 = 0.999), and is unused by SGD and Adagrad. The path stops early if
    it diverges (see `dnp.trajectory`).
    """
    from dlbook.numpy.optim import SURFACES

    if surface not in SURFACES:
        raise ValueError(f"surface must be one of {list(SURFACES)}; got {surface!r}")
    if optimizer not in _OPTIM_CHOICES:
        raise ValueError(f"optimizer must be one of {list(_OPTIM_CHOICES)}; got {optimizer!r}")
    cls, hyper, knob = _OPTIM_CHOICES[optimizer]
    hyper = dict(hyper, lr=lr)
    if knob == "betas":
        hyper["betas"] = (beta, 0.999)
    elif knob is not None:
        hyper[knob] = beta
    s = SURFACES[surface]
    return dnp.trajectory(s.grad, s.start, cls, steps, **hyper)


def draw_optimizer_paths(
    surface: str, paths: dict[str, np.ndarray], *, ax: plt.Axes | None = None
) -> plt.Axes:
    """Draw `paths` (label -> points (n, 2)) over log-spaced contours of `dnp.SURFACES[surface]`.

    The start is a black dot, the minimum a star; a path that ends outside the window (one that
    diverged, say) gets a cross at its last point inside it. Returns the Axes.
    """
    from matplotlib.colors import LogNorm

    from dlbook.numpy.optim import SURFACES

    s = SURFACES[surface]
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4.5))
    xs, ys = np.linspace(*s.xlim, 300), np.linspace(*s.ylim, 300)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    f = s.f(grid) + 1e-3  # + 1e-3: the minimum is 0, and log contours need f > 0
    levels = np.logspace(np.log10(f.min()), np.log10(f.max()), 25)
    ax.contourf(xs, ys, f, levels=levels, norm=LogNorm(), cmap="viridis", alpha=0.35)
    ax.contour(xs, ys, f, levels=levels, norm=LogNorm(), colors="0.6", linewidths=0.4)
    for label, path in paths.items():
        inside = np.all((path >= [s.xlim[0], s.ylim[0]]) & (path <= [s.xlim[1], s.ylim[1]]), 1)
        (line,) = ax.plot(path[:, 0], path[:, 1], lw=1.4, label=label)
        if not inside[-1]:  # ends outside the window: mark the last point inside it
            last = path[inside][-1] if inside.any() else path[0]
            ax.plot(*last, "x", color=line.get_color(), ms=9, mew=2)
    ax.plot(*s.start, "ko", ms=6)
    ax.plot(*s.minimum, "*", color="gold", mec="k", ms=15, label="minimum")
    ax.set(xlim=s.xlim, ylim=s.ylim, xlabel="$x$", ylabel="$y$", title=s.name)
    return ax


def _optim_summary(surface: str, optimizer: str, lr: float, beta: float, path: np.ndarray) -> str:
    from dlbook.numpy.optim import SURFACES

    knob = _OPTIM_CHOICES[optimizer][2]
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
    from dlbook.numpy.optim import SURFACES

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
    from dlbook.numpy.optim import SURFACES

    optimizer_path(surface, optimizer, lr, beta, 1)  # checks the arguments
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    summary = _draw_optim_state(axes, surface, optimizer, lr, beta)
    fig.suptitle(summary, fontsize=10)
    fig.tight_layout()

    import ipywidgets as widgets

    surface_w = widgets.Dropdown(options=list(SURFACES), value=surface, description="surface")
    opt_w = widgets.Dropdown(options=list(_OPTIM_CHOICES), value=optimizer, description="optimizer")
    lr_w = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0.5, step=0.05, description="lr")
    beta_w = widgets.FloatSlider(value=beta, min=0.0, max=0.999, step=0.001, description="beta")
    beta_w.readout_format = ".3f"
    text = widgets.HTML()
    out = widgets.Output()

    def draw(change: object = None) -> None:
        knob = _OPTIM_CHOICES[opt_w.value][2]
        beta_w.disabled = knob is None
        with _live_figure(out, 1, 2, figsize=(11, 4.2)) as (frame, frame_axes):
            text.value = _draw_optim_state(
                frame_axes, surface_w.value, opt_w.value, lr_w.value, beta_w.value
            )

    for w in (surface_w, opt_w, lr_w, beta_w):
        w.observe(draw, names="value")
    draw()
    box = widgets.VBox([widgets.HBox([surface_w, opt_w]), widgets.HBox([lr_w, beta_w]), text, out])
    note = (
        "[Interactive: choose a surface, an optimizer, its learning rate and beta. Run this "
        "notebook in JupyterLab or Colab to use it.]"
    )
    return Explorer(box, fig, note)


# ---------------------------------------------------------------------------------------------
# Chapter "Generalization, regularization and evaluation": polynomial fits and thresholds


def polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    """The monomials x, x^2, ..., x^degree of x (N,) as columns: (N, degree)."""
    x = as_float_array("x", x, shape=("N",))
    if isinstance(degree, bool) or not isinstance(degree, int | np.integer) or degree < 1:
        raise ValueError(f"degree must be an int >= 1; got {degree!r}")
    return x[:, None] ** np.arange(1, int(degree) + 1)


def fit_polynomial(
    x: np.ndarray, y: np.ndarray, degree: int, *, l2: float = 0.0
) -> tuple[np.ndarray, float]:
    """Least squares on `polynomial_features`, with penalty l2 * ||w||^2 on the coefficients.

    x and y are (N,). Returns (w (degree,), b): the fit is b + sum_k w_k x^k. Solved exactly by
    `dnp.linear_regression_closed_form`; with more coefficients than points and l2 = 0 it is
    the interpolating polynomial of smallest norm. Book: {ref}`sec-reg-overfitting`.
    """
    return dnp.linear_regression_closed_form(polynomial_features(x, degree), y, l2=l2)


def polynomial_errors(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    degrees: object,
    *,
    l2: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared errors (train (len(degrees),), validation (len(degrees),)) of
    `fit_polynomial(x_train, y_train, d, l2=l2)` for each degree d in `degrees`."""
    x_val = as_float_array("x_val", x_val, shape=("M",))
    y_val = as_float_array("y_val", y_val, shape=(x_val.shape[0],))
    y_train = as_float_array("y_train", y_train, shape=("N",))
    train, val = [], []
    for d in degrees:
        w, b = fit_polynomial(x_train, y_train, d, l2=l2)
        train.append(np.mean((polynomial_features(x_train, d) @ w + b - y_train) ** 2))
        val.append(np.mean((polynomial_features(x_val, d) @ w + b - y_val) ** 2))
    return np.array(train), np.array(val)


_L2_CHOICES = (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def _draw_polynomial(
    axes: tuple[plt.Axes, plt.Axes],
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    degree: int,
    l2: float,
    max_degree: int,
) -> str:
    x, y, xv, yv = data
    w, b = fit_polynomial(x, y, degree, l2=l2)
    lo, hi = min(x.min(), xv.min()), max(x.max(), xv.max())
    grid = np.linspace(lo, hi, 400)
    fit = polynomial_features(grid, degree) @ w + b
    y_lo, y_hi = min(y.min(), yv.min()), max(y.max(), yv.max())
    pad = 0.3 * (y_hi - y_lo)  # room for the wild swings of a high-degree fit, then clipped
    ax = axes[0]
    ax.scatter(xv, yv, s=8, c="0.7", label="validation")
    ax.scatter(x, y, s=30, c="tab:blue", edgecolors="k", linewidths=0.5, label="training")
    ax.plot(grid, fit, color="tab:red", lw=2, label=f"degree {degree}")
    ax.set(xlabel="$x$", ylabel="$y$", ylim=(y_lo - pad, y_hi + pad))
    ax.set_title(f"degree {degree}, $\\lambda$ = {l2:g}", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    degrees = np.arange(1, max_degree + 1)
    train, val = polynomial_errors(x, y, xv, yv, degrees, l2=l2)
    ax = axes[1]
    floor = 1e-4  # an interpolating fit has training error ~0: drawn at the floor instead
    ax.semilogy(degrees, np.maximum(train, floor), "o-", label="training")
    ax.semilogy(degrees, np.maximum(val, floor), "s-", label="validation")
    ax.axvline(degree, color="tab:red", ls="--", lw=1)
    ax.set(xlabel="polynomial degree", ylabel="mean squared error (log, floor 1e-4)")
    ax.set_ylim(bottom=floor / 2)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_title(f"Errors for every degree at $\\lambda$ = {l2:g}", fontsize=10)
    ax.legend(fontsize=8)
    i = degree - 1
    return (
        f"degree {degree}, lambda = {l2:g}: training MSE = {train[i]:.4g}, "
        f"validation MSE = {val[i]:.4g}"
    )


def polynomial_explorer(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    degree: int = 9,
    l2: float = 0.0,
    max_degree: int | None = None,
) -> Explorer:
    """Fit polynomials of a chosen degree with a chosen L2 penalty, and watch over- and
    underfitting.

    x_train, y_train (N,) are the training points and x_val, y_val (M,) the validation points.
    The left panel draws the fit of `fit_polynomial`, the right one the training and validation
    errors of every degree up to `max_degree` (default min(N - 1, 15)) at the chosen penalty.
    The penalty slider offers 0 and 1e-8 ... 1. The static figure shows the default setting.
    """
    x_train = as_float_array("x_train", x_train, shape=("N",))
    y_train = as_float_array("y_train", y_train, shape=(x_train.shape[0],))
    x_val = as_float_array("x_val", x_val, shape=("M",))
    y_val = as_float_array("y_val", y_val, shape=(x_val.shape[0],))
    if max_degree is None:
        max_degree = max(1, min(len(x_train) - 1, 15))
    if isinstance(max_degree, bool) or not isinstance(max_degree, int) or max_degree < 1:
        raise ValueError(f"max_degree must be an int >= 1; got {max_degree!r}")
    if isinstance(degree, bool) or not isinstance(degree, int) or not 1 <= degree <= max_degree:
        raise ValueError(f"degree must be an int in [1, {max_degree}]; got {degree!r}")
    if l2 not in _L2_CHOICES:
        raise ValueError(f"l2 must be one of {list(_L2_CHOICES)}; got {l2!r}")
    data = (x_train, y_train, x_val, y_val)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    summary = _draw_polynomial(axes, data, degree, l2, max_degree)
    fig.suptitle(summary, fontsize=10)
    fig.tight_layout()

    import ipywidgets as widgets

    degree_w = widgets.IntSlider(value=degree, min=1, max=max_degree, description="degree")
    l2_w = widgets.SelectionSlider(
        options=[(f"{v:g}", v) for v in _L2_CHOICES], value=l2, description="λ (L2)"
    )
    text = widgets.HTML()
    out = widgets.Output()

    def draw(change: object = None) -> None:
        with _live_figure(out, 1, 2, figsize=(11, 4)) as (frame, frame_axes):
            text.value = _draw_polynomial(frame_axes, data, degree_w.value, l2_w.value, max_degree)

    degree_w.observe(draw, names="value")
    l2_w.observe(draw, names="value")
    draw()
    note = (
        "[Interactive: choose the polynomial degree and the L2 penalty. Run this notebook in "
        "JupyterLab or Colab to use it.]"
    )
    return Explorer(widgets.VBox([widgets.HBox([degree_w, l2_w]), text, out]), fig, note)


def _draw_threshold(
    axes: np.ndarray, y_true: np.ndarray, scores: np.ndarray, threshold: float
) -> str:
    from dlbook import metrics, plot

    pred = (scores >= threshold).astype(np.int64)
    cm = metrics.confusion_matrix(y_true, pred, num_classes=2)
    p, r, f1 = metrics.precision_recall_f1(y_true, pred)
    tn, fp = cm[0]
    fpr = fp / max(tn + fp, 1)
    ax = axes[0]
    bins = np.linspace(scores.min(), scores.max(), 30)
    ax.hist(scores[y_true == 0], bins=bins, alpha=0.6, label="negatives (y = 0)")
    ax.hist(scores[y_true == 1], bins=bins, alpha=0.6, label="positives (y = 1)")
    ax.axvline(threshold, color="k", ls="--", lw=1.5, label="threshold")
    ax.set(xlabel="score", ylabel="count", title="Scores by true class")
    ax.legend(fontsize=8)
    ax = axes[1]
    roc_fpr, roc_tpr, _ = metrics.roc_curve(y_true, scores)
    ax.plot(roc_fpr, roc_tpr, lw=2)
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1)
    ax.plot(fpr, r, "o", color="k", ms=8)
    auc = metrics.roc_auc(y_true, scores)
    ax.set(xlabel="false-positive rate", ylabel="true-positive rate (recall)")
    ax.set_title(f"ROC curve (AUC = {auc:.3f})", fontsize=10)
    ax = axes[2]
    prec, rec, _ = metrics.precision_recall_curve(y_true, scores)
    ax.step(rec, prec, where="post", lw=2)
    ax.axhline(y_true.mean(), color="0.6", ls=":", lw=1)
    if pred.any():
        ax.plot(r, p, "o", color="k", ms=8)
    ap = metrics.average_precision(y_true, scores)
    ax.set(xlabel="recall", ylabel="precision", ylim=(0, 1.05))
    ax.set_title(f"Precision-recall (AP = {ap:.3f})", fontsize=10)
    plot.confusion_matrix(cm, ax=axes[3], title="Confusion matrix")
    return (
        f"threshold {threshold:.3g}: precision {p:.3f}, recall {r:.3f}, F1 {f1:.3f}, "
        f"false-positive rate {fpr:.3f}"
    )


def threshold_explorer(
    y_true: np.ndarray, scores: np.ndarray, *, threshold: float | None = None
) -> Explorer:
    """Move the decision threshold of a binary scorer and see every metric move with it.

    y_true (N,) holds 0/1 labels (both classes) and scores (N,) real scores; a sample is
    predicted positive when its score is >= the threshold (default: the median score). The
    panels show the scores of each class, the ROC and precision-recall curves with the current
    operating point, and the confusion matrix, all from `dlbook.metrics`.
    """
    from dlbook import metrics

    metrics.roc_curve(y_true, scores)  # checks the labels, the scores and both classes
    y_true = np.asarray(y_true).astype(np.int64)
    scores = as_float_array("scores", scores, shape=(len(y_true),))
    lo, hi = float(scores.min()), float(scores.max())
    if threshold is None:
        threshold = float(np.median(scores))
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ValueError(f"threshold must be a number; got {threshold!r}")
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite; got {threshold!r}")
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8))
    summary = _draw_threshold(axes, y_true, scores, float(threshold))
    fig.suptitle(summary, fontsize=10)
    fig.tight_layout()

    import ipywidgets as widgets

    step = (hi - lo) / 200 if hi > lo else 0.01
    slider = widgets.FloatSlider(
        value=min(max(threshold, lo), hi),
        min=lo,
        max=hi if hi > lo else lo + 1,
        step=step,
        description="threshold",
        continuous_update=False,
        readout_format=".3g",
    )
    text = widgets.HTML()
    out = widgets.Output()

    def draw(change: object = None) -> None:
        with _live_figure(out, 1, 4, figsize=(16, 3.8)) as (frame, frame_axes):
            text.value = _draw_threshold(frame_axes, y_true, scores, slider.value)

    slider.observe(draw, names="value")
    draw()
    note = (
        "[Interactive: move the decision threshold and watch the confusion matrix, precision, "
        "recall and the ROC point change. Run this notebook in JupyterLab or Colab to use it.]"
    )
    return Explorer(widgets.VBox([slider, text, out]), fig, note)


# ---------------------------------------------------------------------------------------------
# Chapter "Convolutional networks": the kernel playground

KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    "blur": np.full((3, 3), 1.0 / 9.0),
    "sharpen": np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
    "sobel_x": np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    "sobel_y": np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]),
    "laplacian": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
}
_KERNEL_NOTES = {
    "identity": "copies the image",
    "blur": "averages each 3x3 patch",
    "sharpen": "adds 4x the centre minus its neighbours",
    "sobel_x": "left-to-right change: vertical strokes",
    "sobel_y": "top-to-bottom change: horizontal strokes",
    "laplacian": "neighbours minus 4x the centre: outlines",
}


def _kernel_array(kernel: object) -> np.ndarray:
    if isinstance(kernel, str):
        if kernel not in KERNELS:
            raise ValueError(
                f"kernel must be one of {list(KERNELS)} or a 3x3 array; got {kernel!r}"
            )
        return KERNELS[kernel]
    return as_float_array("kernel", kernel, shape=(3, 3))


def apply_kernel(image: np.ndarray, kernel: object) -> np.ndarray:
    """The 3x3 `kernel` (a name in KERNELS or a (3, 3) array) applied to image (H, W).

    Computed by `dnp.conv2d_forward` with padding 1, so the output is (H, W) too: out[i, j] =
    sum_pq kernel[p, q] * image[i + p - 1, j + q - 1] (a cross-correlation, as in torch).
    """
    image = as_float_array("image", image, shape=("H", "W"))
    k = _kernel_array(kernel)
    out, _ = dnp.conv2d_forward(image[None, None], k[None, None], np.zeros(1), padding=1)
    return out[0, 0]


def _draw_kernel(ax: plt.Axes, kernel: np.ndarray, title: str) -> None:
    lim = max(float(np.abs(kernel).max()), 1e-12)
    ax.imshow(kernel, cmap="RdBu_r", vmin=-lim, vmax=lim)
    for (i, j), v in np.ndenumerate(kernel):
        color = "white" if abs(v) > 0.6 * lim else "black"  # readable on the dark cells
        ax.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=9, color=color)
    ax.set(xticks=range(3), yticks=range(3), xlabel="q (column)", ylabel="p (row)")
    ax.set_title(title, fontsize=9)


def _draw_feature_map(ax: plt.Axes, out: np.ndarray, title: str) -> None:
    lim = max(float(np.abs(out).max()), 1e-12)
    ax.imshow(out, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set(xticks=[], yticks=[], xlabel="column j", ylabel="row i")
    ax.set_title(title, fontsize=9)


def _draw_playground(axes: np.ndarray, image: np.ndarray, kernel: np.ndarray, name: str) -> None:
    axes[0].imshow(image, cmap="gray_r")
    axes[0].set(xticks=[], yticks=[], xlabel="column", ylabel="row", title="input digit")
    _draw_kernel(axes[1], kernel, f"kernel: {name}")
    out = apply_kernel(image, kernel)
    _draw_feature_map(
        axes[2], out, f"output (red > 0, blue < 0), range [{out.min():.2f}, {out.max():.2f}]"
    )


def kernel_playground(images: np.ndarray, kernel: object = "sobel_x") -> Explorer:
    """Pick a preset 3x3 kernel, or type its nine weights, and see it applied to a digit.

    `images` is one image (H, W) or a stack (N, H, W) (a slider then picks the digit);
    `kernel` is the starting preset (a name in KERNELS) or a (3, 3) array. Each frame shows
    the digit, the kernel with its weights, and the output of `apply_kernel`. The static
    figure applies every preset to the first digit.
    """
    stack = as_float_array("images", images)
    if stack.ndim == 2:
        stack = stack[None]
    stack = as_float_array("images", stack, shape=("N", "H", "W"))
    start = _kernel_array(kernel)
    start_name = kernel if isinstance(kernel, str) else "custom"

    names = list(KERNELS)
    fig = plt.figure(figsize=(2.3 * (len(names) + 1), 5.6), layout="constrained")
    grid = fig.add_gridspec(2, len(names) + 1)
    ax_in = fig.add_subplot(grid[:, 0])
    ax_in.imshow(stack[0], cmap="gray_r")
    ax_in.set(xticks=[], yticks=[], xlabel="column", ylabel="row", title="input digit")
    for col, name in enumerate(names, start=1):
        _draw_kernel(fig.add_subplot(grid[0, col]), KERNELS[name], name)
        _draw_feature_map(fig.add_subplot(grid[1, col]), apply_kernel(stack[0], name), "output")
    fig.suptitle("Each 3x3 kernel slides over the digit (red: positive output, blue: negative)")

    import ipywidgets as widgets

    preset = widgets.Dropdown(options=[*names, "custom"], value=start_name, description="kernel")
    cells = [
        widgets.FloatText(value=float(start[i, j]), layout=widgets.Layout(width="70px"))
        for i in range(3)
        for j in range(3)
    ]
    pick = widgets.IntSlider(value=0, min=0, max=len(stack) - 1, description="digit")
    text = widgets.HTML()
    out = widgets.Output()
    syncing = False  # True while a preset fills in the nine boxes

    def current() -> np.ndarray:
        return np.array([c.value for c in cells], dtype=np.float64).reshape(3, 3)

    def draw(change: object = None) -> None:
        if syncing:
            return
        k = current()
        match = next((n for n in names if np.array_equal(KERNELS[n], k)), "custom")
        text.value = f"{match}: {_KERNEL_NOTES.get(match, 'your own weights')}"
        with _live_figure(out, 1, 3, figsize=(10, 3.4)) as (frame, axes):
            _draw_playground(axes, stack[pick.value], k, match)

    def load_preset(change: object = None) -> None:
        nonlocal syncing
        if preset.value == "custom":
            return
        syncing = True
        for c, v in zip(cells, KERNELS[preset.value].ravel(), strict=True):
            c.value = float(v)
        syncing = False
        draw()

    def edited(change: object = None) -> None:
        if not syncing and preset.value != "custom":
            k = current()
            if not np.array_equal(k, KERNELS[preset.value]):
                preset.unobserve(load_preset, names="value")
                preset.value = "custom"
                preset.observe(load_preset, names="value")
        draw()

    preset.observe(load_preset, names="value")
    for c in cells:
        c.observe(edited, names="value")
    pick.observe(draw, names="value")
    draw()
    box = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
    controls = [preset, box, pick] if len(stack) > 1 else [preset, box]
    note = (
        f"[Interactive: choose one of {len(names)} preset 3x3 kernels or type your own weights "
        "and see the convolution of a digit. Run this notebook in JupyterLab or Colab to use it.]"
    )
    return Explorer(widgets.VBox([widgets.HBox(controls), text, out]), fig, note)
