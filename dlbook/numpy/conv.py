"""2-D convolution and pooling in NumPy, via im2col, and a small LeNet built from them.

Book: chapter "Convolutional networks" (`chapters/cnn.ipynb`), sections {ref}`sec-cnn-im2col`
and {ref}`sec-cnn-lenet-numpy`.

Images are (N, C, H, W) and kernels (F, C, KH, KW), torch's layouts. The convolution is the
one `torch.nn.functional.conv2d` computes, a cross-correlation (the kernel is not flipped):

    out[n, f, i, j] = b[f] + sum_{c, p, q} w[f, c, p, q] * xpad[n, c, s*i + p, s*j + q]

where xpad is x with `padding` zeros on each side and s is the stride. The output has
OH = (H + 2 * padding - KH) // stride + 1 rows, and OW columns likewise.

im2col copies every receptive field into a row of a matrix, so the convolution becomes one
matrix product; col2im adds the rows back into image positions, which is the backward pass of
that copy. float32 inputs give float32 outputs and gradients; float64 give float64.
Inputs with NaN or inf raise `ValueError`. Never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dlbook.checks import (
    as_float_array,
    check_cache,
    check_int,
    check_rng,
    keyword_only,
    shapes,
)
from dlbook.numpy.layers import (
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
)

__all__ = [
    "KERNELS",
    "Conv2dCache",
    "LeNetCache",
    "MaxPool2dCache",
    "Pool2dCache",
    "apply_kernel",
    "as_kernel",
    "avgpool2d_backward",
    "avgpool2d_forward",
    "col2im",
    "conv2d_backward",
    "conv2d_forward",
    "conv_output_size",
    "fold_patches",
    "im2col",
    "lenet_backward",
    "lenet_forward",
    "lenet_init",
    "maxpool2d_backward",
    "maxpool2d_forward",
    "patch_view",
    "pool_output_shape",
]


# ---------------------------------------------------------------------------------------------
# Output sizes


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length (size + 2 * padding - kernel) // stride + 1 of a convolution or pooling.

    The same formula holds along the height and the width. Book: {ref}`sec-cnn-shapes`.
    """
    size, kernel = check_int("size", size), check_int("kernel", kernel)
    stride = check_int("stride", stride, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    if kernel > size + 2 * padding:
        raise ValueError(
            f"kernel {kernel} is larger than the padded input {size + 2 * padding} "
            f"(size {size}, padding {padding})"
        )
    return (size + 2 * padding - kernel) // stride + 1


def pool_output_shape(
    x_shape: tuple[int, ...], kernel_size: int, stride: int, padding: int
) -> tuple[int, int]:
    """(OH, OW) of a pooling window over x (N, C, H, W); padding at most kernel_size // 2.

    Raises ValueError, as torch does, when the padding exceeds half the window, so that no
    window could lie entirely in the padding.
    """
    if 2 * check_int("padding", padding, minimum=0) > kernel_size:
        raise ValueError(
            f"padding must be at most half the kernel size (as in torch); got padding={padding} "
            f"for kernel_size={kernel_size}"
        )
    h, w = x_shape[2:]
    return (
        conv_output_size(h, kernel_size, stride, padding),
        conv_output_size(w, kernel_size, stride, padding),
    )


# ---------------------------------------------------------------------------------------------
# im2col and col2im


def patch_view(xpad: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """A read-only view (N, C, OH, OW, KH, KW) of every receptive field of xpad; no copy.

    xpad is an already padded (N, C, H, W) array. Book: {ref}`sec-cnn-im2col`.
    """
    return sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def fold_patches(
    patches: np.ndarray, x_shape: tuple[int, ...], stride: int, padding: int
) -> np.ndarray:
    """Add patches (N, C, OH, OW, KH, KW) back into an image (N, C, H, W), summing overlaps.

    One strided slice per kernel offset (p, q): patch element (p, q) of output position (i, j)
    came from padded pixel (s*i + p, s*j + q).
    """
    n, c, h, w = x_shape
    _, _, oh, ow, kh, kw = patches.shape
    out = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=patches.dtype)
    for p in range(kh):
        for q in range(kw):
            out[:, :, p : p + stride * oh : stride, q : q + stride * ow : stride] += patches[
                :, :, :, :, p, q
            ]
    return out[:, :, padding : padding + h, padding : padding + w]


@shapes(x="N C H W", kh="int", kw="int", stride="int", padding="int >= 0")
def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Every receptive field of x (N, C, H, W) as a row: a matrix (N * OH * OW, C * KH * KW).

    Row n * OH * OW + i * OW + j holds the C x KH x KW input patch that output position (i, j)
    of image n sees, flattened in (c, p, q) order, the order of w.reshape(F, -1).
    Book: {ref}`sec-cnn-im2col`.
    """
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # (N, C, OH, OW, KH, KW) -> (N, OH, OW, C, KH, KW): one row per output position
    return patch_view(xpad, kh, kw, stride).transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, -1)


def col2im(
    cols: np.ndarray,
    x_shape: tuple[int, int, int, int],
    kh: int,
    kw: int,
    stride: int = 1,
    padding: int = 0,
) -> np.ndarray:
    """The adjoint of `im2col`: add each row of cols (N * OH * OW, C * KH * KW) back into the
    image positions it was copied from; returns (N, C, H, W) for x_shape = (N, C, H, W).

    A pixel that lies in several receptive fields receives the sum of their entries, which is
    what the chain rule asks for: dL/dx = col2im(dL/dcols). Book: {ref}`sec-cnn-im2col`.
    """
    if len(tuple(x_shape)) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W); got {tuple(x_shape)}")
    n, c, h, w = (check_int("x_shape", d) for d in x_shape)
    kh, kw = check_int("kh", kh), check_int("kw", kw)
    stride, padding = check_int("stride", stride), check_int("padding", padding, minimum=0)
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    cols = as_float_array("cols", cols, shape=(n * oh * ow, c * kh * kw))
    patches = cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    return fold_patches(patches, (n, c, h, w), stride, padding)


# ---------------------------------------------------------------------------------------------
# Convolution


class Conv2dCache(NamedTuple):
    """What `conv2d_backward` needs: the im2col matrix (N * OH * OW, C * KH * KW), the weights
    (F, C, KH, KW), the input shape, stride and padding."""

    cols: np.ndarray
    w: np.ndarray
    x_shape: tuple[int, int, int, int]
    stride: int
    padding: int


@shapes(x="N C H W", w="F C KH KW", b="F", stride="int", padding="int >= 0")
def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, Conv2dCache]:
    """2-D convolution (cross-correlation) of x (N, C, H, W) with w (F, C, KH, KW) plus b (F,).

    Returns out (N, F, OH, OW), with OH = (H + 2 * padding - KH) // stride + 1 (OW likewise),
    equal to `torch.nn.functional.conv2d(x, w, b, stride, padding)`. Computed as one matrix
    product of im2col(x) (N * OH * OW, C * KH * KW) with w.reshape(F, -1).T.
    Book: {ref}`sec-cnn-im2col`.
    """
    (n, _, h, width), (f, _, kh, kw) = x.shape, w.shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(width, kw, stride, padding)
    cols = im2col(x, kh, kw, stride, padding)
    out = cols @ w.reshape(f, -1).T + b  # (N * OH * OW, F): one dot product per position
    out = out.reshape(n, oh, ow, f).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out), Conv2dCache(cols, w, x.shape, stride, padding)


def conv2d_backward(
    dout: np.ndarray, cache: Conv2dCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx (N, C, H, W), dw (F, C, KH, KW), db (F,)) given dout = dL/dout (N, F, OH, OW).

    With out = cols @ W.T + b (W = w.reshape(F, -1)), the linear layer's rules give
    dW = dout.T @ cols, db = the sum of dout and dcols = dout @ W; then dx = col2im(dcols).
    """
    cols, w, x_shape, stride, padding = check_cache(cache, Conv2dCache)
    (f, c, kh, kw), (n, _, h, width) = w.shape, x_shape
    oh, ow = conv_output_size(h, kh, stride, padding), conv_output_size(width, kw, stride, padding)
    dout = as_float_array("dout", dout, shape=(n, f, oh, ow))
    dmat = dout.transpose(0, 2, 3, 1).reshape(n * oh * ow, f)  # rows match the rows of cols
    dw = (dmat.T @ cols).reshape(w.shape)
    db = dmat.sum(axis=0)
    dcols = dmat @ w.reshape(f, -1)
    # col2im: row (n, i, j) of dcols is the patch (C, KH, KW) that output (i, j) saw
    patches = dcols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    return fold_patches(patches, x_shape, stride, padding), dw, db


# ---------------------------------------------------------------------------------------------
# Pooling


class Pool2dCache(NamedTuple):
    """What `avgpool2d_backward` needs: the input shape and the window."""

    x_shape: tuple[int, int, int, int]
    kernel_size: int
    stride: int
    padding: int


class MaxPool2dCache(NamedTuple):
    """What `maxpool2d_backward` needs: the input shape, the window, and the position of each
    maximum inside its window, argmax (N, C, OH, OW)."""

    x_shape: tuple[int, int, int, int]
    kernel_size: int
    stride: int
    padding: int
    argmax: np.ndarray


@shapes(x="N C H W", kernel_size="int", stride="optional int", padding="int >= 0")
def maxpool2d_forward(
    x: np.ndarray, kernel_size: int = 2, stride: int | None = 2, padding: int = 0
) -> tuple[np.ndarray, Pool2dCache]:
    """Max over each kernel_size x kernel_size window of x (N, C, H, W); out (N, C, OH, OW).

    `stride=None` means kernel_size (non-overlapping windows), torch's default; the default 2
    equals it for the default 2 x 2 window. Padding counts as -inf, so it is never the maximum.
    Book: {ref}`sec-cnn-pooling`.
    """
    k, stride = kernel_size, kernel_size if stride is None else stride
    (n, c), (oh, ow) = x.shape[:2], pool_output_shape(x.shape, k, stride, padding)
    pad = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    xpad = np.pad(x, pad, constant_values=-np.inf)
    windows = patch_view(xpad, k, k, stride).reshape(n, c, oh, ow, k * k)
    argmax = windows.argmax(axis=-1)  # the first maximum, as torch picks it
    out = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
    return out, MaxPool2dCache(x.shape, k, stride, padding, argmax)


def maxpool2d_backward(dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
    """dx (N, C, H, W) given dout (N, C, OH, OW): each dout entry goes to the input position
    that was the maximum of its window (and nowhere else); overlapping windows add up."""
    x_shape, k, stride, padding, argmax = check_cache(cache, MaxPool2dCache)
    dout = as_float_array("dout", dout, shape=argmax.shape)
    patches = np.zeros((*argmax.shape, k * k), dtype=dout.dtype)
    np.put_along_axis(patches, argmax[..., None], dout[..., None], axis=-1)
    return fold_patches(patches.reshape(*argmax.shape, k, k), x_shape, stride, padding)


@shapes(x="N C H W", kernel_size="int", stride="optional int", padding="int >= 0")
def avgpool2d_forward(
    x: np.ndarray, kernel_size: int = 2, stride: int | None = 2, padding: int = 0
) -> tuple[np.ndarray, Pool2dCache]:
    """Mean over each kernel_size x kernel_size window of x (N, C, H, W); out (N, C, OH, OW).

    `stride=None` means kernel_size, as for `maxpool2d_forward`. Padding counts as zeros and
    every window is divided by kernel_size**2, as `torch.nn.functional.avg_pool2d` does by
    default (count_include_pad=True). Book: {ref}`sec-cnn-pooling`.
    """
    k, stride = kernel_size, kernel_size if stride is None else stride
    pool_output_shape(x.shape, k, stride, padding)
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = patch_view(xpad, k, k, stride).mean(axis=(-2, -1), dtype=x.dtype)
    return out, Pool2dCache(x.shape, k, stride, padding)


def avgpool2d_backward(dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
    """dx (N, C, H, W) given dout (N, C, OH, OW): each window's input pixels get
    dout / kernel_size**2, since each contributed 1 / kernel_size**2 of the mean."""
    x_shape, k, stride, padding = check_cache(cache, Pool2dCache)
    oh, ow = pool_output_shape(x_shape, k, stride, padding)
    dout = as_float_array("dout", dout, shape=(*x_shape[:2], oh, ow))
    patches = np.broadcast_to((dout / (k * k))[..., None, None], (*dout.shape, k, k))
    return fold_patches(patches, x_shape, stride, padding)


# ---------------------------------------------------------------------------------------------
# Classic hand-made 3x3 kernels. Book: {ref}`sec-cnn-playground`.

# Named 3x3 filters: what a convolution computes before any learning.
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
    "blur": np.full((3, 3), 1.0 / 9.0),
    "sharpen": np.array([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
    "sobel_x": np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    "sobel_y": np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]),
    "laplacian": np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),
}


def as_kernel(kernel: object) -> np.ndarray:
    """A (3, 3) float kernel from a name in `KERNELS` or a (3, 3) array; ValueError otherwise."""
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
    k = as_kernel(kernel)
    out, _ = conv2d_forward(image[None, None], k[None, None], np.zeros(1), padding=1)
    return out[0, 0]


# ---------------------------------------------------------------------------------------------
# LeNet in NumPy


def lenet_init(
    *, rng: np.random.Generator, in_channels: int = 1, num_classes: int = 10, image_size: int = 28
) -> list[np.ndarray]:
    """Parameters of the modernised LeNet-5 that `lenet_forward` runs, as a flat list

    [w1 (6, C, 5, 5), b1, w2 (16, 6, 5, 5), b2, w3 (16*S*S, 120), b3, w4 (120, 84), b4,
    w5 (84, K), b5], S = ((image_size // 2) - 4) // 2 (5 for 28 x 28 images). Weights are
    N(0, 2 / fan_in) (He et al., 2015), biases 0. The same layers as `dlbook.torch.LeNet`;
    the fully connected weights are stored (in, out), the transpose of torch's.
    Book: {ref}`sec-cnn-lenet-numpy`.
    """
    check_rng(rng)
    c = check_int("in_channels", in_channels)
    k = check_int("num_classes", num_classes, minimum=2)
    size = check_int("image_size", image_size, minimum=12)
    s = (size // 2 - 4) // 2
    shapes = [(6, c, 5, 5), (16, 6, 5, 5), (16 * s * s, 120), (120, 84), (84, k)]
    params = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:])) if len(shape) == 4 else shape[0]
        out = shape[0] if len(shape) == 4 else shape[1]
        params += [rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape), np.zeros(out)]
    return params


lenet_init = keyword_only("rng")(lenet_init)  # lenet_init(rng) was the first edition's call


class LeNetCache(NamedTuple):
    """The caches of each layer of `lenet_forward`, in the order they ran."""

    caches: tuple[NamedTuple, ...]
    flat_shape: tuple[int, ...]


def lenet_forward(params: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, LeNetCache]:
    """Logits (N, K) for images x (N, C, H, W): conv 5x5 (padding 2), ReLU, max-pool 2,
    conv 5x5, ReLU, max-pool 2, flatten, linear 120, ReLU, linear 84, ReLU, linear K.

    Book: {ref}`sec-cnn-lenet-numpy`.
    """
    if not isinstance(params, list | tuple) or len(params) != 10:
        raise ValueError("params must be the list of 10 arrays that lenet_init returns")
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
    caches = []
    h, cache = conv2d_forward(x, w1, b1, padding=2)  # (N, 6, H, W)
    caches.append(cache)
    for step in (relu_forward, maxpool2d_forward):
        h, cache = step(h)
        caches.append(cache)
    h, cache = conv2d_forward(h, w2, b2)  # (N, 16, H/2 - 4, W/2 - 4)
    caches.append(cache)
    for step in (relu_forward, maxpool2d_forward):
        h, cache = step(h)
        caches.append(cache)
    flat_shape = h.shape
    h = h.reshape(len(h), -1)  # (N, 16 * S * S), in torch's flatten order (c, i, j)
    for w, b, last in ((w3, b3, False), (w4, b4, False), (w5, b5, True)):
        h, cache = linear_forward(h, w, b)
        caches.append(cache)
        if not last:
            h, cache = relu_forward(h)
            caches.append(cache)
    return h, LeNetCache(tuple(caches), flat_shape)


def lenet_backward(dlogits: np.ndarray, cache: LeNetCache) -> list[np.ndarray]:
    """Gradients [dw1, db1, ..., dw5, db5], shaped like the params, given dL/dlogits (N, K).

    The forward pass run backwards: each layer's backward applied to the gradient from above.
    """
    c = list(check_cache(cache, LeNetCache).caches)
    grads: list[np.ndarray] = []
    dh = dlogits
    for layer in range(3):  # linear 5, 4, 3 with the ReLUs between them
        if layer > 0:
            dh = relu_backward(dh, c.pop())
        dh, dw, db = linear_backward(dh, c.pop())
        grads = [dw, db, *grads]
    dh = dh.reshape(cache.flat_shape)
    for _ in range(2):  # (conv, ReLU, pool) twice
        dh = maxpool2d_backward(dh, c.pop())
        dh = relu_backward(dh, c.pop())
        dh, dw, db = conv2d_backward(dh, c.pop())
        grads = [dw, db, *grads]
    return grads
