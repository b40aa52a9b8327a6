"""Widgets of chapter "Convolutional networks" (`chapters/cnn.ipynb`): the kernel playground.

`apply_kernel` and `KERNELS` live in `dlbook.numpy.conv`; they stay importable from here, where
the first edition had them. Never imports torch.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from dlbook.checks import as_float_array
from dlbook.numpy.conv import KERNELS, apply_kernel, as_kernel
from dlbook.widgets._core import Explorer, explorer

__all__ = ["KERNELS", "apply_kernel", "kernel_playground"]

_KERNEL_NOTES = {
    "identity": "copies the image",
    "blur": "averages each 3x3 patch",
    "sharpen": "adds 4x the centre minus its neighbours",
    "sobel_x": "left-to-right change: vertical strokes",
    "sobel_y": "top-to-bottom change: horizontal strokes",
    "laplacian": "neighbours minus 4x the centre: outlines",
}


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
    start = as_kernel(kernel)
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
    box = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
    pick = widgets.IntSlider(value=0, min=0, max=len(stack) - 1, description="digit")
    syncing = False  # True while a preset fills in the nine boxes

    def current() -> np.ndarray:
        return np.array([c.value for c in cells], dtype=np.float64).reshape(3, 3)

    def draw(axes: np.ndarray) -> str:
        k = current()
        match = next((n for n in names if np.array_equal(KERNELS[n], k)), "custom")
        _draw_playground(axes, stack[pick.value], k, match)
        return f"{match}: {_KERNEL_NOTES.get(match, 'your own weights')}"

    result = explorer(
        fig,
        [[preset, box, pick] if len(stack) > 1 else [preset, box]],
        draw,
        subplots=(1, 3),
        figsize=(10, 3.4),
        watch=[pick],
        note=(
            f"choose one of {len(names)} preset 3x3 kernels or type your own weights and see "
            "the convolution of a digit"
        ),
    )

    def load_preset(change: object = None) -> None:
        nonlocal syncing
        if preset.value == "custom":
            return
        syncing = True
        for c, v in zip(cells, KERNELS[preset.value].ravel(), strict=True):
            c.value = float(v)
        syncing = False
        result.redraw()

    def edited(change: object = None) -> None:
        if syncing:
            return
        if preset.value != "custom" and not np.array_equal(current(), KERNELS[preset.value]):
            preset.unobserve(load_preset, names="value")
            preset.value = "custom"
            preset.observe(load_preset, names="value")
        result.redraw()

    preset.observe(load_preset, names="value")
    for c in cells:
        c.observe(edited, names="value")
    return result
