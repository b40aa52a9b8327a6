"""Widgets of chapter "Efficient, trustworthy and distributed deep learning" (`efficient`).

`attack_explorer` steps through adversarial examples as the budget eps grows. It takes arrays
computed by the chapter (with `dlbook.torch.fgsm` or `pgd`), so it never imports torch.
"""

from __future__ import annotations

import numpy as np

from dlbook.checks import as_float_array, as_index_array
from dlbook.widgets._core import Explorer, explorer, panel_grid

__all__ = ["attack_explorer"]


def _draw_example(ax: object, image: np.ndarray, pred: int, label: int, title: str) -> None:
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
    ok = pred == label
    ax.set_title(
        f"{title}\npredicted {pred} {'(right)' if ok else '(WRONG)'}",
        fontsize=9,
        color="black" if ok else "tab:red",
    )
    ax.set(xticks=[], yticks=[])


def attack_explorer(
    epsilons: object,
    images: object,
    predictions: object,
    labels: object,
    accuracy: object | None = None,
) -> Explorer:
    """Pick a budget eps and a digit; see the adversarial image, its prediction and the noise.

    epsilons     (E,) budgets, eps[0] usually 0 (the clean image);
    images       (E, N, H, W) the attacked images in [0, 1] for each budget;
    predictions  (E, N) the model's predicted classes on them; labels (N,) the true classes;
    accuracy     optional (E,) accuracy at each budget, plotted beside the images.
    The static figure shows the first digit at every budget.
    """
    eps = as_float_array("epsilons", epsilons, shape=("E",))
    imgs = as_float_array("images", images, shape=(len(eps), "N", "H", "W"))
    preds = as_index_array("predictions", predictions, high=10**9)
    labels = as_index_array("labels", labels, high=10**9)
    if preds.shape != imgs.shape[:2] or labels.shape != imgs.shape[1:2]:
        raise ValueError(
            f"predictions must have shape {imgs.shape[:2]} and labels {imgs.shape[1:2]}; "
            f"got {preds.shape} and {labels.shape}"
        )
    acc = None if accuracy is None else as_float_array("accuracy", accuracy, shape=(len(eps),))

    fig, axes = panel_grid(len(eps), cols=len(eps), size=(1.9, 2.5), layout="constrained")
    for k, ax in enumerate(axes):
        _draw_example(ax, imgs[k, 0], int(preds[k, 0]), int(labels[0]), f"eps = {eps[k]:.2f}")
    fig.suptitle(f"The same digit (label {int(labels[0])}) under a growing L-inf budget")

    import ipywidgets as widgets

    budget = widgets.IntSlider(
        value=min(2, len(eps) - 1), min=0, max=len(eps) - 1, description="eps index"
    )
    digit = widgets.IntSlider(value=0, min=0, max=imgs.shape[1] - 1, description="digit")

    def draw(axes: np.ndarray) -> str:
        k, i = budget.value, digit.value
        _draw_example(axes[0], imgs[0, i], int(preds[0, i]), int(labels[i]), "original")
        _draw_example(
            axes[1], imgs[k, i], int(preds[k, i]), int(labels[i]), f"attacked, eps = {eps[k]:.2f}"
        )
        diff = imgs[k, i] - imgs[0, i]
        axes[2].imshow(diff, cmap="RdBu_r", vmin=-max(eps.max(), 1e-9), vmax=max(eps.max(), 1e-9))
        axes[2].set(xticks=[], yticks=[], title="perturbation (red +, blue -)")
        if acc is not None:
            axes[3].plot(eps, acc, "o-")
            axes[3].axvline(eps[k], color="gray", ls="--")
            axes[3].set(xlabel="eps", ylabel="accuracy", title="accuracy vs budget", ylim=(0, 1))
        else:
            axes[3].set_visible(False)
        return f"max |x_adv - x| = {np.abs(diff).max():.3f} (budget {eps[k]:.3f})"

    return explorer(
        fig,
        [[budget, digit]],
        draw,
        subplots=(1, 4),
        figsize=(12, 3.2),
        note=f"move through {len(eps)} budgets and {imgs.shape[1]} digits to see each attacked "
        "image, its prediction and the perturbation",
    )
