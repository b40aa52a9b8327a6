"""Widgets of chapter "Generalization, regularization and evaluation"
(`chapters/regularization.ipynb`): polynomial fits and decision thresholds.

`polynomial_features`, `fit_polynomial` and `polynomial_errors` are model code that the chapter
also calls directly; they are due to move to `dlbook.numpy.linear`.
Never imports torch.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from dlbook import metrics, plot
from dlbook.checks import as_float_array, check_choice, check_int
from dlbook.numpy.linear import fit_polynomial, polynomial_errors, polynomial_features
from dlbook.widgets._core import Explorer, explorer, finite_number

__all__ = [
    "fit_polynomial",
    "polynomial_errors",
    "polynomial_explorer",
    "polynomial_features",
    "threshold_explorer",
]


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
    max_degree = check_int("max_degree", max_degree)
    if isinstance(degree, bool) or not isinstance(degree, int) or not 1 <= degree <= max_degree:
        raise ValueError(f"degree must be an int in [1, {max_degree}]; got {degree!r}")
    l2 = check_choice("l2", l2, _L2_CHOICES)
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

    def draw(axes: tuple[plt.Axes, plt.Axes]) -> str:
        return _draw_polynomial(axes, data, degree_w.value, l2_w.value, max_degree)

    return explorer(
        fig,
        [[degree_w, l2_w]],
        draw,
        subplots=(1, 2),
        figsize=(11, 4),
        note="choose the polynomial degree and the L2 penalty",
    )


def _draw_threshold(
    axes: np.ndarray, y_true: np.ndarray, scores: np.ndarray, threshold: float
) -> str:
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
    metrics.roc_curve(y_true, scores)  # checks the labels, the scores and both classes
    y_true = np.asarray(y_true).astype(np.int64)
    scores = as_float_array("scores", scores, shape=(len(y_true),))
    lo, hi = float(scores.min()), float(scores.max())
    threshold = finite_number("threshold", np.median(scores) if threshold is None else threshold)
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

    def draw(axes: np.ndarray) -> str:
        return _draw_threshold(axes, y_true, scores, slider.value)

    return explorer(
        fig,
        [slider],
        draw,
        subplots=(1, 4),
        figsize=(16, 3.8),
        note=(
            "move the decision threshold and watch the confusion matrix, precision, recall and "
            "the ROC point change"
        ),
    )
