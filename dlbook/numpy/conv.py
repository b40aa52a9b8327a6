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
that copy. Arrays of float32 stay float32 (for speed); anything else is computed in float64.
Inputs with NaN or inf raise `ValueError`. Never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dlbook._validate import as_float_array, check_int
from dlbook.numpy.layers import (
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
)

__all__ = [
    "Conv2dCache",
    "LeNetCache",
    "Pool2dCache",
    "avgpool2d_backward",
    "avgpool2d_forward",
    "col2im",
    "conv2d_backward",
    "conv2d_forward",
    "conv_output_size",
    "im2col",
    "lenet_backward",
    "lenet_forward",
    "lenet_init",
    "maxpool2d_backward",
    "maxpool2d_forward",
]


# ---------------------------------------------------------------------------------------------
# Checks


def _float_dtype(*arrays: np.ndarray) -> type:
    """float32 when every array is float32, else float64."""
    return np.float32 if all(a.dtype == np.float32 for a in arrays) else np.float64


def _as_array(name: str, x: object, dims: tuple[str, ...], dtype: type | None = None) -> np.ndarray:
    """x as a finite float array with len(dims) axes; float32 is kept unless `dtype` says."""
    arr = np.asarray(x)
    if dtype is None:
        dtype = np.float32 if arr.dtype == np.float32 else np.float64
    return as_float_array(name, arr, shape=dims, dtype=dtype)


def _check_geometry(
    x_shape: tuple[int, ...], kh: int, kw: int, stride: object, padding: object
) -> tuple[int, int, int, int]:
    """Validate stride and padding against the input; return (stride, padding, OH, OW)."""
    stride = check_int("stride", stride, minimum=1)
    padding = check_int("padding", padding, minimum=0)
    h, w = x_shape[2] + 2 * padding, x_shape[3] + 2 * padding
    if kh > h or kw > w:
        raise ValueError(
            f"kernel ({kh}, {kw}) is larger than the padded input ({h}, {w}) "
            f"(x has shape {tuple(x_shape)}, padding={padding})"
        )
    return stride, padding, (h - kh) // stride + 1, (w - kw) // stride + 1


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


def _check_cache(cache: object, kind: type) -> None:
    if not isinstance(cache, kind):
        raise ValueError(
            f"cache must be the {kind.__name__} returned by the forward pass; "
            f"got {type(cache).__name__}"
        )


def _check_dout(dout: object, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    dout = as_float_array("dout", dout, dtype=dtype)
    if dout.shape != shape:
        raise ValueError(
            f"dout must have the shape of the forward output {shape}; got {dout.shape}"
        )
    return dout


# ---------------------------------------------------------------------------------------------
# im2col and col2im


def _windows(xpad: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """A read-only view (N, C, OH, OW, KH, KW) of every receptive field of xpad; no copy."""
    return sliding_window_view(xpad, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]


def _fold(patches: np.ndarray, x_shape: tuple[int, ...], stride: int, padding: int) -> np.ndarray:
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


def _im2col(x: np.ndarray, kh: int, kw: int, stride: int, padding: int) -> np.ndarray:
    n, c, h, w = x.shape
    oh, ow = (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    # (N, C, OH, OW, KH, KW) -> (N, OH, OW, C, KH, KW): one row per output position
    return _windows(xpad, kh, kw, stride).transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, -1)


def im2col(x: np.ndarray, kh: int, kw: int, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Every receptive field of x (N, C, H, W) as a row: a matrix (N * OH * OW, C * KH * KW).

    Row n * OH * OW + i * OW + j holds the C x KH x KW input patch that output position (i, j)
    of image n sees, flattened in (c, p, q) order, the order of w.reshape(F, -1).
    Book: {ref}`sec-cnn-im2col`.
    """
    x = _as_array("x", x, ("N", "C", "H", "W"))
    kh, kw = check_int("kh", kh), check_int("kw", kw)
    stride, padding, _, _ = _check_geometry(x.shape, kh, kw, stride, padding)
    return _im2col(x, kh, kw, stride, padding)


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
    stride, padding, oh, ow = _check_geometry((n, c, h, w), kh, kw, stride, padding)
    cols = _as_array("cols", cols, (n * oh * ow, c * kh * kw))
    patches = cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    return _fold(patches, (n, c, h, w), stride, padding)


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


def conv2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int = 1, padding: int = 0
) -> tuple[np.ndarray, Conv2dCache]:
    """2-D convolution (cross-correlation) of x (N, C, H, W) with w (F, C, KH, KW) plus b (F,).

    Returns out (N, F, OH, OW), with OH = (H + 2 * padding - KH) // stride + 1 (OW likewise),
    equal to `torch.nn.functional.conv2d(x, w, b, stride, padding)`. Computed as one matrix
    product of im2col(x) (N * OH * OW, C * KH * KW) with w.reshape(F, -1).T.
    Book: {ref}`sec-cnn-im2col`.
    """
    x = _as_array("x", x, ("N", "C", "H", "W"))
    w = _as_array("w", w, ("F", "C", "KH", "KW"))
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"w must have shape (F, {x.shape[1]}, KH, KW) to match the {x.shape[1]} channels of "
            f"x {x.shape}; got w {w.shape}"
        )
    b = _as_array("b", b, (w.shape[0],))
    dtype = _float_dtype(x, w, b)
    x, w, b = x.astype(dtype, copy=False), w.astype(dtype, copy=False), b.astype(dtype, copy=False)
    f, _, kh, kw = w.shape
    stride, padding, oh, ow = _check_geometry(x.shape, kh, kw, stride, padding)
    cols = _im2col(x, kh, kw, stride, padding)
    out = cols @ w.reshape(f, -1).T + b  # (N * OH * OW, F): one dot product per position
    out = out.reshape(x.shape[0], oh, ow, f).transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out), Conv2dCache(cols, w, x.shape, stride, padding)


def conv2d_backward(
    dout: np.ndarray, cache: Conv2dCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx (N, C, H, W), dw (F, C, KH, KW), db (F,)) given dout = dL/dout (N, F, OH, OW).

    With out = cols @ W.T + b (W = w.reshape(F, -1)), the linear layer's rules give
    dW = dout.T @ cols, db = the sum of dout and dcols = dout @ W; then dx = col2im(dcols).
    """
    _check_cache(cache, Conv2dCache)
    cols, w, x_shape, stride, padding = cache
    f, c, kh, kw = w.shape
    n = x_shape[0]
    oh, ow = _out_hw(x_shape, kh, kw, stride, padding)
    dout = _check_dout(dout, (n, f, oh, ow), w.dtype)
    dmat = dout.transpose(0, 2, 3, 1).reshape(n * oh * ow, f)  # rows match the rows of cols
    dw = (dmat.T @ cols).reshape(w.shape)
    db = dmat.sum(axis=0)
    dcols = dmat @ w.reshape(f, -1)
    # col2im: row (n, i, j) of dcols is the patch (C, KH, KW) that output (i, j) saw
    patches = dcols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    return _fold(patches, x_shape, stride, padding), dw, db


def _out_hw(
    x_shape: tuple[int, ...], kh: int, kw: int, stride: int, padding: int
) -> tuple[int, int]:
    h, w = x_shape[2] + 2 * padding, x_shape[3] + 2 * padding
    return (h - kh) // stride + 1, (w - kw) // stride + 1


# ---------------------------------------------------------------------------------------------
# Pooling


class Pool2dCache(NamedTuple):
    """What the pooling backward passes need: the input shape, the window, and for max pooling
    the position of each maximum inside its window, argmax (N, C, OH, OW) (None for average)."""

    x_shape: tuple[int, int, int, int]
    kernel_size: int
    stride: int
    padding: int
    argmax: np.ndarray | None
    dtype: type


def _pool_args(
    x: object, kernel_size: object, stride: object, padding: object
) -> tuple[np.ndarray, int, int, int, int, int]:
    x = _as_array("x", x, ("N", "C", "H", "W"))
    k = check_int("kernel_size", kernel_size)
    stride = k if stride is None else stride
    stride, padding, oh, ow = _check_geometry(x.shape, k, k, stride, padding)
    if 2 * padding > k:
        raise ValueError(
            f"padding must be at most half the kernel size (as in torch); got padding={padding} "
            f"for kernel_size={k}"
        )
    return x, k, stride, padding, oh, ow


def maxpool2d_forward(
    x: np.ndarray, kernel_size: int = 2, stride: int | None = 2, padding: int = 0
) -> tuple[np.ndarray, Pool2dCache]:
    """Max over each kernel_size x kernel_size window of x (N, C, H, W); out (N, C, OH, OW).

    `stride=None` means kernel_size (non-overlapping windows), torch's default; the default 2
    equals it for the default 2 x 2 window. Padding counts as -inf, so it is never the maximum.
    Book: {ref}`sec-cnn-pooling`.
    """
    x, k, stride, padding, oh, ow = _pool_args(x, kernel_size, stride, padding)
    n, c = x.shape[:2]
    pad = ((0, 0), (0, 0), (padding, padding), (padding, padding))
    xpad = np.pad(x, pad, constant_values=-np.inf)
    windows = _windows(xpad, k, k, stride).reshape(n, c, oh, ow, k * k)
    argmax = windows.argmax(axis=-1)  # the first maximum, as torch picks it
    out = np.take_along_axis(windows, argmax[..., None], axis=-1)[..., 0]
    return out, Pool2dCache(x.shape, k, stride, padding, argmax, x.dtype.type)


def maxpool2d_backward(dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
    """dx (N, C, H, W) given dout (N, C, OH, OW): each dout entry goes to the input position
    that was the maximum of its window (and nowhere else); overlapping windows add up."""
    _check_cache(cache, Pool2dCache)
    if cache.argmax is None:
        raise ValueError("cache comes from avgpool2d_forward; use avgpool2d_backward")
    x_shape, k, stride, padding, argmax, dtype = cache
    dout = _check_dout(dout, argmax.shape, dtype)
    patches = np.zeros((*argmax.shape, k * k), dtype=dout.dtype)
    np.put_along_axis(patches, argmax[..., None], dout[..., None], axis=-1)
    return _fold(patches.reshape(*argmax.shape, k, k), x_shape, stride, padding)


def avgpool2d_forward(
    x: np.ndarray, kernel_size: int = 2, stride: int | None = 2, padding: int = 0
) -> tuple[np.ndarray, Pool2dCache]:
    """Mean over each kernel_size x kernel_size window of x (N, C, H, W); out (N, C, OH, OW).

    `stride=None` means kernel_size, as for `maxpool2d_forward`. Padding counts as zeros and
    every window is divided by kernel_size**2, as `torch.nn.functional.avg_pool2d` does by
    default (count_include_pad=True). Book: {ref}`sec-cnn-pooling`.
    """
    x, k, stride, padding, oh, ow = _pool_args(x, kernel_size, stride, padding)
    xpad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = _windows(xpad, k, k, stride).mean(axis=(-2, -1), dtype=x.dtype)
    return out, Pool2dCache(x.shape, k, stride, padding, None, x.dtype.type)


def avgpool2d_backward(dout: np.ndarray, cache: Pool2dCache) -> np.ndarray:
    """dx (N, C, H, W) given dout (N, C, OH, OW): each window's input pixels get
    dout / kernel_size**2, since each contributed 1 / kernel_size**2 of the mean."""
    _check_cache(cache, Pool2dCache)
    if cache.argmax is not None:
        raise ValueError("cache comes from maxpool2d_forward; use maxpool2d_backward")
    x_shape, k, stride, padding, _, dtype = cache
    oh, ow = _out_hw(x_shape, k, k, stride, padding)
    dout = _check_dout(dout, (*x_shape[:2], oh, ow), dtype)
    patches = np.broadcast_to((dout / (k * k))[..., None, None], (*dout.shape, k, k))
    return _fold(patches, x_shape, stride, padding)


# ---------------------------------------------------------------------------------------------
# LeNet in NumPy


def lenet_init(
    rng: np.random.Generator, *, in_channels: int = 1, num_classes: int = 10, image_size: int = 28
) -> list[np.ndarray]:
    """Parameters of the modernised LeNet-5 that `lenet_forward` runs, as a flat list

    [w1 (6, C, 5, 5), b1, w2 (16, 6, 5, 5), b2, w3 (16*S*S, 120), b3, w4 (120, 84), b4,
    w5 (84, K), b5], S = ((image_size // 2) - 4) // 2 (5 for 28 x 28 images). Weights are
    N(0, 2 / fan_in) (He et al., 2015), biases 0. The same layers as `dlbook.torch.LeNet`;
    the fully connected weights are stored (in, out), the transpose of torch's.
    Book: {ref}`sec-cnn-lenet-numpy`.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a np.random.Generator; got {type(rng).__name__}")
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
    _check_cache(cache, LeNetCache)
    c = list(cache.caches)
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
