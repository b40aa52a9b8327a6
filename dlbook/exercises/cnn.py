"""Exercise checks of chapter "Convolutional networks" (`chapters/cnn.ipynb`).

Each check compares an answer with the dlbook reference code; see `dlbook.exercises._core`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import OK, check_close

__all__ = [
    "check_conv_output_shape",
    "check_lenet_param_count",
    "check_maxpool_backward",
    "check_mean_test_loss",
]


def check_conv_output_shape(shape_fn: Callable, *, seed: int = 0) -> None:
    """Compare shape_fn(x_shape, w_shape, stride, padding) -> (N, F, OH, OW) with the shape of
    `dnp.conv2d_forward`'s output on random cases (strides and paddings that do not divide)."""
    rng = np.random.default_rng(seed)
    cases = [((64, 1, 28, 28), (6, 1, 5, 5), 1, 2), ((64, 6, 14, 14), (16, 6, 5, 5), 1, 0)]
    while len(cases) < 20:
        n, c, f = (int(v) for v in rng.integers(1, 4, size=3))
        h, w = (int(v) for v in rng.integers(3, 12, size=2))
        kh, kw = (int(v) for v in rng.integers(1, 6, size=2))
        stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if kh <= h + 2 * padding and kw <= w + 2 * padding:
            cases.append(((n, c, h, w), (f, c, kh, kw), stride, padding))
    for x_shape, w_shape, stride, padding in cases:
        out, _ = dnp.conv2d_forward(
            np.zeros(x_shape),
            np.zeros(w_shape),
            np.zeros(w_shape[0]),
            stride=stride,
            padding=padding,
        )
        got = shape_fn(x_shape, w_shape, stride, padding)
        try:
            got = tuple(int(d) for d in got)
        except TypeError:
            raise AssertionError(f"return a tuple (N, F, OH, OW); got {got!r}") from None
        if got != out.shape:
            raise AssertionError(
                f"x {x_shape}, w {w_shape}, stride={stride}, padding={padding}: expected "
                f"{out.shape}, got {got} (OH = floor((H + 2P - KH) / S) + 1)"
            )
    print(f"{OK} your output shapes agree with conv2d_forward on {len(cases)} cases")


def check_maxpool_backward(backward: Callable, *, seed: int = 0) -> None:
    """Compare backward(dout, x, k) -> dx, the gradient of k x k max-pooling with stride k, with
    `dnp.maxpool2d_backward`."""
    rng = np.random.default_rng(seed)
    for shape, k in [((1, 1, 4, 4), 2), ((2, 3, 6, 6), 2), ((2, 2, 7, 5), 2), ((1, 2, 9, 9), 3)]:
        x = rng.normal(size=shape)  # continuous values: no ties within a window
        out, cache = dnp.maxpool2d_forward(x, k, stride=k)
        dout = rng.normal(size=out.shape)
        got = backward(dout.copy(), x.copy(), k)
        check_close(
            f"dx for x of shape {shape}, kernel {k}", got, dnp.maxpool2d_backward(dout, cache)
        )
    print(f"{OK} your max-pool backward routes each gradient to its window's maximum")


def check_lenet_param_count(count: Callable) -> None:
    """Compare count(in_channels, num_classes, image_size) with the number of parameters of
    `dnp.lenet_init` (the LeNet of `dlbook.torch.LeNet`)."""
    rng = np.random.default_rng(0)
    for c, k, size in [(1, 10, 28), (3, 10, 32), (1, 2, 28), (3, 100, 32), (2, 7, 20)]:
        want = sum(
            p.size for p in dnp.lenet_init(rng=rng, in_channels=c, num_classes=k, image_size=size)
        )
        got = count(c, k, size)
        if got != want:
            raise AssertionError(
                f"in_channels={c}, num_classes={k}, image_size={size}: expected {want:,} "
                f"parameters, got {got!r} (count every weight and bias; the flattened features "
                "are 16 x S x S)"
            )
    print(f"{OK} your parameter counts agree with the LeNet of dlbook on 5 configurations")


def check_mean_test_loss(mean_loss: Callable, *, seed: int = 0) -> None:
    """Compare mean_loss(batch_losses, batch_sizes), the mean loss per example from per-batch
    mean losses, with the weighted average (the last batch is usually smaller)."""
    rng = np.random.default_rng(seed)
    for n, b in [(1000, 64), (10, 3), (256, 256), (2000, 300)]:
        sizes = np.full(-(-n // b), b)
        sizes[-1] = n - b * (len(sizes) - 1)
        per_example = rng.exponential(size=n)
        edges = np.cumsum(sizes)[:-1]
        losses = np.array([chunk.mean() for chunk in np.split(per_example, edges)])
        check_close(
            f"mean test loss over {n} examples in batches of {b}",
            mean_loss(losses.copy(), sizes.copy()),
            per_example.mean(),
        )
    print(f"{OK} your test loss is the mean over examples, whatever the batch sizes")
