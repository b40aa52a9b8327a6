"""Plotting helpers for the book's figures.

Every helper draws into the Axes it is given (or into a new figure when `ax` is None) and
returns that Axes. None of them calls `plt.show()` or changes matplotlib's global settings, and
none imports torch: tensors on the CPU are read through NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.ticker import MaxNLocator

from dlbook.checks import as_float_array, check_int, check_same_length
from dlbook.numpy.optim import SURFACES

__all__ = [
    "draw_optimizer_paths",
    "confusion_matrix",
    "decision_boundary",
    "image_grid",
    "learning_curves",
    "linear_boundary",
    "scatter_classes",
    "timeline",
]

_MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")


def _numpy(x: object) -> object:
    """Detach and copy a torch tensor to the CPU without importing torch."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    return x


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    elif not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes or None; got {type(ax).__name__}")
    return ax


def _points(X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_array("X", _numpy(X), shape=("N", 2))
    y = as_float_array("y", _numpy(y), shape=("N",))
    check_same_length(X=X, y=y)
    return X, y


def decision_boundary(
    predict_fn: Callable[[np.ndarray], object],
    X: object,
    y: object,
    *,
    ax: Axes | None = None,
    grid: int = 200,
    padding: float = 0.5,
    title: str | None = None,
    cmap: str = "coolwarm",
) -> Axes:
    """Shade the regions predict_fn assigns to each class and scatter the points on top.

    X is (N, 2) and y (N,). `predict_fn` maps an (M, 2) float array to M labels or scores (M,)
    (an (M, 1) result is accepted too). Integer-valued outputs are drawn as one colour per class,
    matching the points' colours; other outputs as filled contours of the score. The grid has
    `grid` x `grid` points and extends `padding` beyond the data on every side.
    """
    X, y = _points(X, y)
    grid = check_int("grid", grid, minimum=2)
    if not np.isfinite(padding) or padding < 0:
        raise ValueError(f"padding must be a finite number >= 0; got {padding!r}")
    ax = _axes(ax)
    lo, hi = X.min(axis=0) - padding, X.max(axis=0) + padding
    hi = np.where(hi > lo, hi, lo + 1.0)  # a single point still gets a visible box
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], grid), np.linspace(lo[1], hi[1], grid))
    pts = np.column_stack([xx.ravel(), yy.ravel()])
    z = np.asarray(_numpy(predict_fn(pts)), dtype=float)
    if z.size != pts.shape[0] or (z.ndim == 2 and z.shape[1] != 1) or z.ndim > 2:
        raise ValueError(
            f"predict_fn must return ({pts.shape[0]},) labels or scores for an "
            f"({pts.shape[0]}, 2) input; got shape {z.shape}"
        )
    z = z.reshape(xx.shape)
    if np.all(z == np.round(z)) and np.all(y == np.round(y)):
        # labels: one colour per class, shared by the regions and the points
        classes = np.unique(np.concatenate([y, z.ravel()]))
        colours = mpl.colormaps[cmap].resampled(len(classes)) if isinstance(cmap, str) else cmap
        levels = np.arange(len(classes) + 1) - 0.5
        ax.contourf(xx, yy, np.searchsorted(classes, z), levels=levels, cmap=colours, alpha=0.3)
        ax.scatter(
            X[:, 0],
            X[:, 1],
            c=np.searchsorted(classes, y),
            cmap=colours,
            vmin=-0.5,
            vmax=len(classes) - 0.5,
            edgecolors="k",
            linewidths=0.5,
            s=25,
        )
    else:
        ax.contourf(xx, yy, z, levels=20, cmap=cmap, alpha=0.5)
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, edgecolors="k", linewidths=0.5, s=25)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    if title is not None:
        ax.set_title(title)
    return ax


def linear_boundary(
    w: object,
    b: float,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    normal: bool = False,
    **line_kwargs: object,
) -> Axes:
    """Draw the line w·x + b = 0 for w (2,) across the current limits of `ax`.

    The limits are left unchanged, so set them (or draw the data) first. `normal=True` adds an
    arrow along w from the middle of the line: w points to the side where w·x + b > 0.
    `line_kwargs` go to `ax.plot`. A zero w has no boundary and raises ValueError.
    """
    w = as_float_array("w", _numpy(w), shape=(2,))
    b = float(as_float_array("b", _numpy(b), shape=()))
    norm = math.hypot(w[0], w[1])
    if norm == 0:
        raise ValueError("w must be non-zero; w·x + b = 0 is not a line when w = 0")
    ax = _axes(ax)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    lo, hi = np.array([min(x0, x1), min(y0, y1)]), np.array([max(x0, x1), max(y0, y1)])
    # points p0 + t d, with p0 the point of the line closest to the origin and d ⟂ w
    p0, d = -b * w / norm**2, np.array([-w[1], w[0]]) / norm
    t_lo, t_hi = -np.inf, np.inf
    for i in range(2):
        if d[i] != 0:
            ta, tb = sorted(((lo[i] - p0[i]) / d[i], (hi[i] - p0[i]) / d[i]))
            t_lo, t_hi = max(t_lo, ta), min(t_hi, tb)
        elif not lo[i] <= p0[i] <= hi[i]:
            t_lo, t_hi = 1.0, -1.0  # parallel to this axis and outside the view
    if t_lo > t_hi:
        # the line misses the view; draw it just outside so that a legend entry still exists
        half = float(np.hypot(*(hi - lo)))
        c = np.clip(p0, lo, hi)
        t_mid = float(np.dot(c - p0, d))
        t_lo, t_hi = t_mid - half, t_mid + half
    ends = p0 + np.outer([t_lo, t_hi], d)
    (line,) = ax.plot(
        ends[:, 0], ends[:, 1], label=label, scalex=False, scaley=False, **line_kwargs
    )
    if normal:
        mid = ends.mean(axis=0)
        tip = mid + 0.15 * float(np.min(hi - lo)) * w / norm
        ax.annotate(
            "",
            xy=tuple(tip),
            xytext=tuple(mid),
            arrowprops={"arrowstyle": "->", "color": line.get_color(), "lw": 1.5},
        )
    return ax


def scatter_classes(
    X: object,
    y: object,
    *,
    ax: Axes | None = None,
    markers: Sequence[str] | None = None,
    labels: Sequence[str] | Mapping[object, str] | None = None,
) -> Axes:
    """Scatter X (N, 2) with one marker and colour per class of y (N,), and add a legend.

    `markers` gives one marker per class (sorted class order); `labels` names the classes, as a
    sequence in sorted class order or as a mapping from class value to name.
    """
    X, y = _points(X, y)
    classes = np.unique(y)
    markers = _MARKERS if markers is None else markers
    if isinstance(markers, str) or len(markers) < len(classes):
        raise ValueError(
            f"markers must give one marker per class ({len(classes)}); got {markers!r}"
        )
    if labels is None:
        names = [f"y = {c:g}" for c in classes]
    elif isinstance(labels, Mapping):
        missing = [c for c in classes if c not in labels]
        if missing:
            raise ValueError(f"labels has no name for the classes {missing}")
        names = [str(labels[c]) for c in classes]
    else:
        if isinstance(labels, str) or len(labels) != len(classes):
            raise ValueError(f"labels must name each of the {len(classes)} classes; got {labels!r}")
        names = [str(s) for s in labels]
    ax = _axes(ax)
    for c, marker, name in zip(classes, markers, names, strict=False):
        pts = X[y == c]
        ax.scatter(pts[:, 0], pts[:, 1], marker=marker, label=name, edgecolors="k", linewidths=0.5)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend()
    return ax


def learning_curves(
    history: object,
    *,
    ax: Axes | None = None,
    keys: Sequence[str] = ("train_loss", "val_loss"),
    title: str | None = None,
) -> Axes:
    """Plot per-epoch curves, epoch 1, 2, ... on the x axis.

    `history` is a dict of lists or anything with `as_dict()` (e.g. `dlbook.torch.History`).
    Keys that are missing or empty are skipped; ValueError if none is left. The y axis reads
    "accuracy" when every plotted key ends in "acc", otherwise "loss".
    """
    if hasattr(history, "as_dict"):
        history = history.as_dict()
    if not isinstance(history, Mapping):
        raise ValueError(
            f"history must be a dict of lists or have as_dict(); got {type(history).__name__}"
        )
    if isinstance(keys, str):
        keys = (keys,)
    series = {}
    for k in keys:
        values = history.get(k)
        if values is None or len(values) == 0:
            continue
        arr = np.asarray([np.nan if v is None else v for v in values], dtype=float)
        if arr.ndim != 1:
            raise ValueError(f"history[{k!r}] must be a list of numbers, one per epoch")
        series[k] = arr
    if not series:
        raise ValueError(f"history has no values for any of the keys {list(keys)}")
    ax = _axes(ax)
    for k, arr in series.items():
        ax.plot(np.arange(1, len(arr) + 1), arr, marker="o" if len(arr) < 30 else None, label=k)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy" if all(k.endswith("acc") for k in series) else "loss")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    if title is not None:
        ax.set_title(title)
    return ax


def image_grid(
    images: object,
    labels: Sequence[object] | None = None,
    *,
    ncols: int = 10,
    ax: Axes | None = None,
    cmap: str = "gray_r",
    title: str | None = None,
) -> Axes:
    """Show images (N, H, W) (or (N, 1, H, W)) as one mosaic with `ncols` columns in one Axes.

    `labels` (N,) are written in the top-left corner of each tile. All tiles share one colour
    scale, so brightness is comparable across them.
    """
    images = as_float_array("images", _numpy(images), allow_empty=False)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3:
        raise ValueError(f"images must have shape (N, H, W) or (N, 1, H, W); got {images.shape}")
    n, h, w = images.shape
    ncols = check_int("ncols", ncols, minimum=1)
    if labels is not None:
        labels = list(_numpy(labels))
        if len(labels) != n:
            raise ValueError(f"labels must have one entry per image ({n}); got {len(labels)}")
    cols = min(ncols, n)
    rows = math.ceil(n / cols)
    pad = 1  # one blank pixel between tiles
    mosaic = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), np.nan)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        mosaic[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = img
    ax = _axes(ax)
    ax.imshow(mosaic, cmap=cmap, vmin=images.min(), vmax=images.max(), interpolation="nearest")
    if labels is not None:
        for i, lab in enumerate(labels):
            r, c = divmod(i, cols)
            ax.text(
                c * (w + pad),
                r * (h + pad),
                str(lab),
                color="tab:red",
                fontsize=8,
                ha="left",
                va="top",
            )
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax


def confusion_matrix(
    cm: object,
    *,
    ax: Axes | None = None,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    title: str | None = "Confusion matrix",
) -> Axes:
    """Show a confusion matrix cm (K, K), rows = true class, columns = predicted class.

    Each cell is annotated with its count, or with the fraction of its row when `normalize`
    (row i then reads P(predicted = j | true = i); an empty row stays 0).
    """
    cm = as_float_array("cm", _numpy(cm), shape=("K", "K"))
    k = cm.shape[0]
    if cm.shape[1] != k:
        raise ValueError(f"cm must be square (K, K); got shape {cm.shape}")
    if np.any(cm < 0):
        raise ValueError("cm must hold counts >= 0")
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if len(class_names) != k:
            raise ValueError(
                f"class_names must have {k} entries (one per class); got {len(class_names)}"
            )
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    ax = _axes(ax)
    ax.imshow(cm, cmap="Blues", vmin=0, vmax=1 if normalize else max(cm.max(), 1))
    integer = not normalize and np.all(cm == np.round(cm))
    threshold = (1 if normalize else max(cm.max(), 1)) / 2
    for i in range(k):
        for j in range(k):
            text = f"{cm[i, j]:.0f}" if integer else f"{cm[i, j]:.2f}"
            colour = "white" if cm[i, j] > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=8)
    ticks = np.arange(k)
    ax.set_xticks(ticks, labels=class_names if class_names is not None else [str(t) for t in ticks])
    ax.set_yticks(ticks, labels=class_names if class_names is not None else [str(t) for t in ticks])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title is not None:
        ax.set_title(title)
    return ax


def timeline(
    events: Sequence[tuple[float, str]],
    *,
    ax: Axes | None = None,
    highlight: tuple[float, float] | None = None,
    title: str | None = None,
) -> Axes:
    """Draw `events`, a sequence of (year, label), one row per event, earliest at the top.

    Each event is a dot at its year with its label beside it (right of the dot in the first half
    of the period, left of it in the second), so labels never overlap. `highlight` = (start, end)
    shades a span of years. Returns the Axes.
    """
    if len(events) == 0:
        raise ValueError("events is empty; expected (year, label) pairs")
    try:
        years = np.array([float(year) for year, _ in events])
        labels = [str(label) for _, label in events]
    except (TypeError, ValueError) as err:
        raise ValueError("events must be a sequence of (year, label) pairs") from err
    if not np.all(np.isfinite(years)):
        raise ValueError("events contains a year that is NaN or inf")
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 0.3 * len(events) + 1))
    ax = _axes(ax)
    order = np.argsort(years, kind="stable")
    years, labels = years[order], [labels[i] for i in order]
    rows = -np.arange(len(years), dtype=float)
    lo, hi = years.min(), years.max()
    mid, pad = (lo + hi) / 2, max(1.0, 0.02 * (hi - lo))
    if highlight is not None:
        ax.axvspan(*highlight, color="tab:orange", alpha=0.15, lw=0)
    ax.hlines(rows, lo - pad, years, color="tab:gray", lw=0.6, ls=":")
    ax.plot(years, rows, "o", color="k", markersize=5, zorder=3)
    for year, row, label in zip(years, rows, labels, strict=True):
        right = year <= mid
        ax.annotate(
            f"{year:.0f}  {label}" if right else f"{label}  {year:.0f}",
            xy=(year, row),
            xytext=(6 if right else -6, 0),
            textcoords="offset points",
            ha="left" if right else "right",
            va="center",
            fontsize=9,
        )
    ax.set(xlim=(lo - pad, hi + pad), ylim=(rows[-1] - 0.8, 0.8), xlabel="year", yticks=[])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    if title is not None:
        ax.set_title(title)
    return ax


def draw_optimizer_paths(
    surface: str, paths: dict[str, np.ndarray], *, ax: plt.Axes | None = None
) -> plt.Axes:
    """Draw `paths` (label -> points (n, 2)) over log-spaced contours of `SURFACES[surface]`.

    The start is a black dot, the minimum a star; a path that ends outside the window (one that
    diverged, say) gets a cross at its last point inside it. Returns the Axes.
    """
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
