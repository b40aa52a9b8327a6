"""Layers and activations in NumPy: every forward and its backward, written out.

Book: the linear layer, the sigmoid and the softmax are taught in chapter "Linear models and
gradient descent" (`chapters/linear_models.ipynb`, {ref}`sec-linear-layer`); the other
activations are used from the multilayer-network chapters on.

Each op has a pair ``<name>_forward(x, ...) -> (out, cache)`` and
``<name>_backward(dout, cache) -> dx`` (the linear layer returns ``(dx, dw, db)``). The caches
are NamedTuples holding what the backward pass needs. The activations work elementwise on
arrays of any shape. `softmax` and `log_softmax` return only their output; their backward
functions take that output instead of a cache: ``softmax_backward(dout, out, axis=-1)``.

float32 inputs give float32 outputs and gradients, float64 give float64. Inputs with NaN or inf
raise `ValueError`, so a NaN is never silently turned into a number. Validation is one or two
lines per function, through `dlbook.checks`. Never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbook.checks import as_float_array, check_axis, check_cache, check_int, check_rng, shapes

__all__ = [
    "BatchNormCache",
    "DropoutCache",
    "EluCache",
    "LeakyReluCache",
    "LayerNormCache",
    "LinearCache",
    "ReluCache",
    "SigmoidCache",
    "SoftplusCache",
    "TanhCache",
    "batchnorm_backward",
    "channel_view",
    "batchnorm_forward",
    "dropout_backward",
    "dropout_forward",
    "elu_backward",
    "elu_forward",
    "layernorm_backward",
    "layernorm_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "linear_backward",
    "linear_forward",
    "log_softmax",
    "log_softmax_backward",
    "relu_backward",
    "relu_forward",
    "sigmoid",
    "sigmoid_backward",
    "sigmoid_forward",
    "softmax",
    "softmax_backward",
    "softplus_backward",
    "softplus_forward",
    "tanh_backward",
    "tanh_forward",
]


# ---------------------------------------------------------------------------------------------
# The linear (fully connected) layer


class LinearCache(NamedTuple):
    """What `linear_backward` needs: the input x (N, D) and the weights w (D, M)."""

    x: np.ndarray
    w: np.ndarray


@shapes(x="N D", w="D M", b="M")
def linear_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, LinearCache]:
    """out = x @ w + b for x (N, D), w (D, M), b (M,); out is (N, M).

    Book: {ref}`sec-linear-layer`.
    """
    return x @ w + b, LinearCache(x, w)


def linear_backward(
    dout: np.ndarray, cache: LinearCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx (N, D), dw (D, M), db (M,)) given dout = dL/dout of shape (N, M)."""
    x, w = check_cache(cache, LinearCache)
    dout = as_float_array("dout", dout, shape=(x.shape[0], w.shape[1]))
    # out_nm = sum_d x_nd w_dm + b_m, so dL/dx = dout w^T, dL/dw = x^T dout, dL/db = sum_n dout_n
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


# ---------------------------------------------------------------------------------------------
# Elementwise activations (any shape)


class ReluCache(NamedTuple):
    x: np.ndarray


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, ReluCache]:
    """relu(x) = max(x, 0), elementwise, for x of any shape."""
    x = as_float_array("x", x, allow_empty=True)
    return np.maximum(x, 0.0), ReluCache(x)


def relu_backward(dout: np.ndarray, cache: ReluCache) -> np.ndarray:
    """dx = dout * 1[x > 0] (the derivative at 0 is taken as 0, as in torch)."""
    check_cache(cache, ReluCache)
    dout = as_float_array("dout", dout, shape=cache.x.shape, allow_empty=True)
    return dout * (cache.x > 0)


class LeakyReluCache(NamedTuple):
    x: np.ndarray
    slope: float


@shapes(x="...", slope="number")
def leaky_relu_forward(x: np.ndarray, slope: float = 0.01) -> tuple[np.ndarray, LeakyReluCache]:
    """leaky_relu(x) = x if x > 0 else slope * x, elementwise (torch's negative_slope)."""
    return np.where(x > 0, x, slope * x), LeakyReluCache(x, slope)


def leaky_relu_backward(dout: np.ndarray, cache: LeakyReluCache) -> np.ndarray:
    """dx = dout * (1 if x > 0 else slope); at x = 0 the slope is used, as in torch."""
    check_cache(cache, LeakyReluCache)
    dout = as_float_array("dout", dout, shape=cache.x.shape, allow_empty=True)
    return np.where(cache.x > 0, dout, cache.slope * dout)


class EluCache(NamedTuple):
    x: np.ndarray
    alpha: float


@shapes(x="...", alpha="number")
def elu_forward(x: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, EluCache]:
    """elu(x) = x if x > 0 else alpha * (exp(x) - 1), elementwise."""
    # expm1 only of min(x, 0): the branch not taken never overflows
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))), EluCache(x, alpha)


def elu_backward(dout: np.ndarray, cache: EluCache) -> np.ndarray:
    """dx = dout * (1 if x > 0 else alpha * exp(x)); at x = 0 this is alpha, as in torch."""
    check_cache(cache, EluCache)
    dout = as_float_array("dout", dout, shape=cache.x.shape, allow_empty=True)
    x = cache.x
    with np.errstate(under="ignore"):
        return np.where(x > 0, dout, cache.alpha * np.exp(np.minimum(x, 0.0)) * dout)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x)), elementwise, without overflow for any x.

    Uses z = exp(-|x|) <= 1: sigmoid(x) = 1 / (1 + z) for x >= 0 and z / (1 + z) for x < 0.
    Book: {ref}`sec-logistic-regression`.
    """
    x = as_float_array("x", x, allow_empty=True)
    # exp(-|x|) underflows to 0 for |x| > ~745, which is the correctly rounded value
    with np.errstate(under="ignore"):
        z = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


class SigmoidCache(NamedTuple):
    out: np.ndarray


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, SigmoidCache]:
    """sigma(x) = 1 / (1 + exp(-x)), elementwise, stable for large |x| (see `sigmoid`)."""
    out = sigmoid(x)
    return out, SigmoidCache(out)


def sigmoid_backward(dout: np.ndarray, cache: SigmoidCache) -> np.ndarray:
    """dx = dout * sigma(x) * (1 - sigma(x))."""
    check_cache(cache, SigmoidCache)
    dout = as_float_array("dout", dout, shape=cache.out.shape, allow_empty=True)
    out = cache.out
    with np.errstate(under="ignore"):
        return dout * out * (1.0 - out)


class TanhCache(NamedTuple):
    out: np.ndarray


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, TanhCache]:
    """tanh(x), elementwise."""
    x = as_float_array("x", x, allow_empty=True)
    out = np.tanh(x)
    return out, TanhCache(out)


def tanh_backward(dout: np.ndarray, cache: TanhCache) -> np.ndarray:
    """dx = dout * (1 - tanh(x)^2)."""
    check_cache(cache, TanhCache)
    dout = as_float_array("dout", dout, shape=cache.out.shape, allow_empty=True)
    return dout * (1.0 - cache.out**2)


class SoftplusCache(NamedTuple):
    x: np.ndarray


def softplus_forward(x: np.ndarray) -> tuple[np.ndarray, SoftplusCache]:
    """softplus(x) = log(1 + exp(x)), elementwise, without overflow for any x.

    Computed as max(x, 0) + log1p(exp(-|x|)), whose exp never sees a positive argument. Unlike
    torch, which returns x itself above x = 20, this is accurate for every x.
    """
    x = as_float_array("x", x, allow_empty=True)
    with np.errstate(under="ignore"):
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x))), SoftplusCache(x)


def softplus_backward(dout: np.ndarray, cache: SoftplusCache) -> np.ndarray:
    """dx = dout * sigma(x): the derivative of softplus is the logistic function."""
    check_cache(cache, SoftplusCache)
    dout = as_float_array("dout", dout, shape=cache.x.shape, allow_empty=True)
    with np.errstate(under="ignore"):
        return dout * sigmoid(cache.x)


# ---------------------------------------------------------------------------------------------
# Softmax and log-softmax (along one axis)


@shapes(x="... _")
def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(x)_k = exp(x_k) / sum_j exp(x_j) along `axis`; same shape as x (any rank).

    Subtracting the maximum first leaves the result unchanged and keeps every exponent <= 0,
    so logits of 1e4 do not overflow. Backward: `softmax_backward`. Book: {ref}`sec-softmax`.
    """
    axis = check_axis(axis, x.ndim)
    with np.errstate(under="ignore"):
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)


@shapes(x="... _")
def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(x)_k = x_k - log sum_j exp(x_j) along `axis`; same shape as x.

    Uses log-sum-exp with the maximum m taken out: log sum_j exp(x_j) = m + log sum_j
    exp(x_j - m), which is finite for any finite x. Backward: `log_softmax_backward`.
    """
    axis = check_axis(axis, x.ndim)
    shifted = x - x.max(axis=axis, keepdims=True)
    with np.errstate(under="ignore"):
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@shapes(out="... _")
def softmax_backward(dout: np.ndarray, out: np.ndarray, axis: int = -1) -> np.ndarray:
    """dx given dout and out = softmax(x, axis) (not x): the softmax is its own cache.

    The Jacobian is diag(s) - s s^T, so dx = s * (dout - sum_k dout_k s_k) along `axis`.
    """
    dout = as_float_array("dout", dout, shape=out.shape)
    axis = check_axis(axis, out.ndim)
    return out * (dout - np.sum(dout * out, axis=axis, keepdims=True))


@shapes(out="... _")
def log_softmax_backward(dout: np.ndarray, out: np.ndarray, axis: int = -1) -> np.ndarray:
    """dx given dout and out = log_softmax(x, axis) (not x).

    d(log s_k)/dx_j = 1[k = j] - s_j, so dx = dout - exp(out) * sum_k dout_k along `axis`.
    """
    dout = as_float_array("dout", dout, shape=out.shape)
    axis = check_axis(axis, out.ndim)
    with np.errstate(under="ignore"):
        return dout - np.exp(out) * np.sum(dout, axis=axis, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Dropout and batch normalization. Book: chapter "Generalization, regularization and
# evaluation" (`chapters/regularization.ipynb`).


class DropoutCache(NamedTuple):
    """What `dropout_backward` needs: the multiplier mask (same shape as x) applied to x.

    In training the mask holds 0 for a dropped entry and 1 / (1 - p) for a kept one; in
    evaluation it holds ones.
    """

    mask: np.ndarray


@shapes(x="...", p="[0, 1]", training="bool", rng="optional rng")
def dropout_forward(
    x: np.ndarray, p: float, *, training: bool, rng: np.random.Generator | None
) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout for x of any shape: out = x * mask, same shape as x.

    In training (`training=True`) each entry is kept with probability 1 - p, independently,
    and the kept entries are scaled by 1 / (1 - p), so E[out] = x; with p = 1 every entry is
    dropped (out = 0), as in torch. In evaluation the layer is the identity and `rng` may be
    None. The mask is drawn from `rng`, a `np.random.Generator`; torch draws its own, so the two
    agree in distribution, not entry by entry. Book: {ref}`sec-reg-dropout`.
    """
    if not training or p == 0.0:
        return x.copy(), DropoutCache(np.ones_like(x))
    keep = check_rng(rng).random(x.shape) >= p  # P(keep) = 1 - p; training needs an rng
    # inverted scaling: E[mask] = (1 - p) / (1 - p) = 1, so evaluation needs no rescaling
    mask = (keep / (1.0 - p)).astype(x.dtype) if p < 1.0 else np.zeros_like(x)
    return x * mask, DropoutCache(mask)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """dx = dout * mask: the gradient flows only through the kept entries, scaled the same way."""
    check_cache(cache, DropoutCache)
    dout = as_float_array("dout", dout, shape=cache.mask.shape, allow_empty=True)
    return dout * cache.mask


class BatchNormCache(NamedTuple):
    """What `batchnorm_backward` needs: the normalized input x_hat (same shape as x), gamma
    (C,), 1 / sqrt(var + eps) (C,) and the mode (in evaluation the statistics are constants)."""

    x_hat: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray
    training: bool


def channel_view(a: np.ndarray, ndim: int) -> np.ndarray:
    """Reshape a per-channel vector (C,) so that it broadcasts along axis 1 of an ndim array.

    (C,) becomes (1, C) for ndim 2 and (1, C, 1, 1) for ndim 4. Book: {ref}`sec-reg-batchnorm`.
    """
    return a.reshape((1, -1) + (1,) * (ndim - 2))


@shapes(
    x="N C ...",
    gamma="C",
    beta="C",
    running_mean="C",
    running_var="nonnegative: C",
    training="bool",
    momentum="[0, 1]",
    eps="> 0",
)
def batchnorm_forward(
    x: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    running_mean: np.ndarray,
    running_var: np.ndarray,
    *,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, BatchNormCache]:
    """Batch normalization of x (N, C) or (N, C, L, ...) per channel c (axis 1).

    Training: every channel is normalized with the mean and the *biased* variance over the
    batch (and the positions L, ...): x_hat = (x - mean) / sqrt(var + eps), out = gamma * x_hat
    + beta. The running statistics move towards the batch's,
    new = (1 - momentum) * running + momentum * batch, where the batch variance is the
    *unbiased* one (divided by M - 1 for M values per channel), as in torch.
    Evaluation: x_hat = (x - running_mean) / sqrt(running_var + eps), and the running statistics
    come back unchanged.

    gamma, beta, running_mean and running_var are (C,). Returns (out (same shape as x),
    new_running_mean (C,), new_running_var (C,), cache); nothing is modified in place. Matches
    torch.nn.BatchNorm1d (and BatchNorm2d for (N, C, H, W)). Book: {ref}`sec-reg-batchnorm`.
    """
    c = x.shape[1]
    axes = (0, *range(2, x.ndim))  # every axis but the channel axis
    m = x.size // c  # values per channel
    if training:
        check_int("values per channel in training (N * L...)", m, minimum=2)
        mean, var = x.mean(axis=axes), x.var(axis=axes)  # var divides by m (biased)
        new_mean = (1.0 - momentum) * running_mean + momentum * mean
        new_var = (1.0 - momentum) * running_var + momentum * var * m / (m - 1)  # unbiased
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean.copy(), running_var.copy()
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - channel_view(mean, x.ndim)) * channel_view(inv_std, x.ndim)
    out = channel_view(gamma, x.ndim) * x_hat + channel_view(beta, x.ndim)
    return out, new_mean, new_var, BatchNormCache(x_hat, gamma, inv_std, training)


def batchnorm_backward(
    dout: np.ndarray, cache: BatchNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx (shape of x), dgamma (C,), dbeta (C,)) given dout = dL/dout.

    In training the mean and variance depend on every x in the channel. With M values per
    channel and g = gamma * dout, the chain rule through x_hat = (x - mean) / sqrt(var + eps)
    gives dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat)), the means taken per channel.
    In evaluation the statistics are constants and dx = gamma * inv_std * dout.
    """
    x_hat, gamma, inv_std, training = check_cache(cache, BatchNormCache)
    dout = as_float_array("dout", dout, shape=x_hat.shape)
    axes = (0, *range(2, x_hat.ndim))
    dgamma, dbeta = (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)
    g = dout * channel_view(gamma, x_hat.ndim)  # dL/dx_hat
    if training:
        g = (
            g
            - g.mean(axis=axes, keepdims=True)
            - x_hat * (g * x_hat).mean(axis=axes, keepdims=True)
        )
    return g * channel_view(inv_std, x_hat.ndim), dgamma, dbeta


class LayerNormCache(NamedTuple):
    """What `layernorm_backward` needs: x_hat (..., D), gamma (D,) and 1 / sqrt(var + eps)."""

    x_hat: np.ndarray
    gamma: np.ndarray
    inv_std: np.ndarray


@shapes(x="... D", gamma="D", beta="D", eps="> 0")
def layernorm_forward(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5
) -> tuple[np.ndarray, LayerNormCache]:
    """Layer normalization over the last axis of x (..., D), as `F.layer_norm(x, (D,), ...)`.

    Each example is normalized with its own mean and biased variance over its D features,
    x_hat = (x - mean) / sqrt(var + eps), and out = gamma * x_hat + beta. Unlike batch norm
    the statistics do not depend on the batch, so training and evaluation are the same
    computation (Ba, Kiros & Hinton 2016). Book: {ref}`sec-reg-layernorm`.
    """
    mean = x.mean(axis=-1, keepdims=True)
    inv_std = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + eps)
    x_hat = (x - mean) * inv_std
    return gamma * x_hat + beta, LayerNormCache(x_hat, gamma, inv_std)


def layernorm_backward(
    dout: np.ndarray, cache: LayerNormCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx (..., D), dgamma (D,), dbeta (D,)) given dout = dL/dout (..., D).

    The batch-norm derivation with the roles of the axes swapped: with g = gamma * dout,
    dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat)), the means over the last axis.
    """
    x_hat, gamma, inv_std = check_cache(cache, LayerNormCache)
    dout = as_float_array("dout", dout, shape=x_hat.shape)
    lead = tuple(range(x_hat.ndim - 1))  # every axis but the feature axis
    g = dout * gamma
    dx = g - g.mean(axis=-1, keepdims=True) - x_hat * (g * x_hat).mean(axis=-1, keepdims=True)
    return dx * inv_std, (dout * x_hat).sum(axis=lead), dout.sum(axis=lead)
