"""A multilayer perceptron in NumPy, assembled from the layers of `dlbook.numpy.layers`.

Book: chapter "Multilayer perceptrons and backpropagation" (`chapters/backprop.ipynb`),
section {ref}`sec-backprop-mlp`.

The parameters are a flat list [w1, b1, w2, b2, ...] with w_l (D_{l-1}, D_l) and b_l (D_l,),
the layout the `dlbook.numpy` optimizers update. The network is linear, activation, linear,
..., linear: the last layer returns logits for `softmax_cross_entropy`. float32 parameters
and inputs stay float32, as in the layers. Never imports torch.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from dlbook.checks import (
    as_float_array,
    as_labels,
    check_cache,
    check_choice,
    check_int,
    check_ints,
    check_positive,
    check_rng,
    keyword_only,
    shapes,
)
from dlbook.numpy import layers
from dlbook.numpy.layers import LinearCache, linear_backward, linear_forward
from dlbook.numpy.losses import softmax_cross_entropy
from dlbook.progress import progress_bar

__all__ = [
    "ACTIVATIONS",
    "MLPCache",
    "MLPFit",
    "activation_pair",
    "check_mlp_params",
    "mlp_backward",
    "mlp_evaluate",
    "mlp_forward",
    "mlp_init",
    "mlp_predict",
    "mlp_train",
]

ACTIVATIONS = ("relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus")


def activation_pair(name: str) -> tuple[Callable, Callable]:
    """The (forward, backward) pair of `dlbook.numpy.layers` for an activation name.

    `name` is one of "relu", "leaky_relu", "elu", "tanh", "sigmoid" and "softplus".
    """
    check_choice("activation", name, ACTIVATIONS)
    return getattr(layers, f"{name}_forward"), getattr(layers, f"{name}_backward")


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run BLAS on one thread inside the block, then restore the previous setting.

    Mini-batch matrix products are too small to gain from several threads, and threads that
    spin while waiting for each other slow down many times over when other programs share the
    cores (as under `pytest -n 2`). A no-op without threadpoolctl (a scikit-learn dependency).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def check_mlp_params(params: object, x: object | None = None) -> tuple[list[np.ndarray], object]:
    """Check params [w1 (D0, D1), b1 (D1,), w2 (D1, D2), ...] and, if given, x (N, D0).

    Returns (params as float arrays, x as a float array or None). Raises ValueError naming the
    first parameter or input whose shape does not fit.
    """
    if not isinstance(params, list | tuple) or len(params) < 2 or len(params) % 2:
        raise ValueError("params must be a list [w1, b1, w2, b2, ...] with one (w, b) per layer")
    checked, fan_in = [], None
    for layer in range(len(params) // 2):
        w = as_float_array(f"params[{2 * layer}] (w{layer + 1})", params[2 * layer])
        if w.ndim != 2 or (fan_in is not None and w.shape[0] != fan_in):
            want = f"({fan_in if fan_in is not None else 'D_in'}, D_out)"
            raise ValueError(f"w{layer + 1} must have shape {want}; got {w.shape}")
        b = as_float_array(f"params[{2 * layer + 1}] (b{layer + 1})", params[2 * layer + 1])
        if b.shape != (w.shape[1],):
            raise ValueError(f"b{layer + 1} must have shape ({w.shape[1]},); got {b.shape}")
        checked += [w, b]
        fan_in = w.shape[1]
    if x is not None:
        x = as_float_array("x", x, shape=("N", checked[0].shape[0]))
    return checked, x


@shapes(rng="rng", init="{he, xavier}")
def mlp_init(
    sizes: Sequence[int], *, rng: np.random.Generator, init: str = "he"
) -> list[np.ndarray]:
    """Parameters [w1, b1, ...] for layer widths `sizes` (input, hidden..., output).

    Weights w_l (sizes[l-1], sizes[l]) are drawn from N(0, s^2) and biases are 0:
    "he": s^2 = 2 / fan_in, which keeps the mean square of ReLU activations the same from layer
    to layer (He et al., 2015); "xavier": s^2 = 2 / (fan_in + fan_out), which balances the
    variances of activations and gradients for tanh-like units (Glorot and Bengio, 2010).
    Book: {ref}`sec-backprop-mlp`.
    """
    sizes = check_ints("sizes", sizes, min_len=2)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        var = 2.0 / fan_in if init == "he" else 2.0 / (fan_in + fan_out)
        params += [rng.normal(0.0, np.sqrt(var), size=(fan_in, fan_out)), np.zeros(fan_out)]
    return params


mlp_init = keyword_only("rng")(mlp_init)  # mlp_init(sizes, rng) was the first edition's call


class MLPCache(NamedTuple):
    """What `mlp_backward` needs: one LinearCache per layer, one activation cache per hidden
    layer, and the activation's name."""

    linear: tuple[LinearCache, ...]
    act: tuple[NamedTuple, ...]
    activation: str


def mlp_forward(
    params: list[np.ndarray], x: np.ndarray, activation: str = "relu"
) -> tuple[np.ndarray, MLPCache]:
    """Logits (N, D_out) for x (N, D_in): linear, activation, ..., activation, linear."""
    params, x = check_mlp_params(params, x)
    act_forward, _ = activation_pair(activation)
    n_layers = len(params) // 2
    h, linear_caches, act_caches = x, [], []
    for layer in range(n_layers):
        h, cache = linear_forward(h, params[2 * layer], params[2 * layer + 1])
        linear_caches.append(cache)
        if layer < n_layers - 1:  # no activation after the last layer: it returns logits
            h, cache = act_forward(h)
            act_caches.append(cache)
    return h, MLPCache(tuple(linear_caches), tuple(act_caches), activation)


def mlp_backward(dlogits: np.ndarray, cache: MLPCache) -> list[np.ndarray]:
    """Gradients [dw1, db1, dw2, db2, ...], shaped like the params, given dL/dlogits (N, D_out).

    Walks the layers from the last to the first; each step applies one layer's local chain
    rule to the gradient that arrives from above.
    """
    _, act_backward = activation_pair(check_cache(cache, MLPCache).activation)
    n_layers = len(cache.linear)
    x = cache.linear[0].x
    dh = as_float_array("dlogits", dlogits, shape=(len(x), cache.linear[-1].w.shape[1]))
    grads: list[np.ndarray] = [np.empty(0)] * (2 * n_layers)
    for layer in reversed(range(1, n_layers)):
        dh, grads[2 * layer], grads[2 * layer + 1] = linear_backward(dh, cache.linear[layer])
        dh = act_backward(dh, cache.act[layer - 1])  # dL/d(pre-activation) of the layer below
    # The first layer: nothing needs dL/dx of the input, so skip that product (a third of the
    # work of this layer), as torch's autograd does for inputs that do not require gradients.
    grads[0], grads[1] = x.T @ dh, dh.sum(axis=0)
    return grads


def mlp_predict(params: list[np.ndarray], x: np.ndarray, activation: str = "relu") -> np.ndarray:
    """Predicted classes (N,) int64: the argmax of the logits for x (N, D_in)."""
    return mlp_forward(params, x, activation)[0].argmax(axis=1)


def mlp_evaluate(
    params: list[np.ndarray], x: np.ndarray, y: np.ndarray, activation: str = "relu"
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of the MLP on x (N, D_in) with labels y (N,)."""
    logits, _ = mlp_forward(params, x, activation)
    loss, _ = softmax_cross_entropy(logits, y)
    y = as_labels("y", y, num_classes=logits.shape[1], n=len(logits))
    return loss, float(np.mean(logits.argmax(axis=1) == y))


class MLPFit(NamedTuple):
    """What `mlp_train` returns: the trained params and the per-epoch history.

    history holds lists train_loss, train_acc, val_loss, val_acc (empty without validation
    data) and epoch_time (seconds), one entry per epoch, the keys of `dlbook.torch.History`.
    """

    params: list[np.ndarray]
    history: dict[str, list[float]]


def mlp_train(
    params: list[np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    lr: float,
    rng: np.random.Generator,
    batch_size: int = 64,
    activation: str = "relu",
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    progress: bool | None = None,
) -> MLPFit:
    """Train by mini-batch SGD on softmax cross-entropy; return the new params and the history.

    x (N, D_in), y (N,) integer classes in [0, D_out). Each epoch visits the examples in a new
    order drawn from `rng`, in batches of `batch_size` (the last may be smaller), and takes one
    step p <- p - lr * dL/dp per batch. The training loss and accuracy of an epoch are means
    over its batches, weighted by batch size, measured as the weights change (as
    `dlbook.torch.fit` does). The input params are not modified. A progress bar runs over the
    epochs. BLAS runs on one thread meanwhile: these small products gain nothing from more, and
    extra threads slow down badly on shared cores. Raises FloatingPointError naming the epoch if
    training diverges.
    """
    params, x = check_mlp_params(params, x)
    params = [p.copy() for p in params]
    activation_pair(activation)
    y = as_labels("y", y, num_classes=params[-1].shape[0], n=len(x))
    epochs, batch_size = check_int("epochs", epochs), check_int("batch_size", batch_size)
    lr, rng = check_positive("lr", lr), check_rng(rng)
    if (x_val is None) != (y_val is None):
        raise ValueError("x_val and y_val must be given together")
    history: dict[str, list[float]] = {
        k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")
    }
    bar = progress_bar(epochs, desc="mlp_train", unit="epoch", progress=progress)
    with _one_blas_thread(), contextlib.closing(bar):
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            perm = rng.permutation(len(x))
            xs, ys = x[perm], y[perm]  # one gather per epoch; the batches are then views
            loss_sum, correct = 0.0, 0
            for i in range(0, len(x), batch_size):
                xb, yb = xs[i : i + batch_size], ys[i : i + batch_size]
                try:
                    logits, cache = mlp_forward(params, xb, activation)
                    loss, dlogits = softmax_cross_entropy(logits, yb)
                except ValueError as err:  # the inputs were checked: only inf/NaN is left
                    raise FloatingPointError(
                        f"training diverged in epoch {epoch} ({err}); lower the learning rate"
                    ) from err
                grads = mlp_backward(dlogits, cache)
                for p, g in zip(params, grads, strict=True):
                    p -= lr * g  # the SGD step, in place
                loss_sum += loss * len(yb)
                correct += int(np.sum(logits.argmax(axis=1) == yb))
            history["train_loss"].append(loss_sum / len(x))
            history["train_acc"].append(correct / len(x))
            postfix = {"loss": f"{loss_sum / len(x):.4g}", "acc": f"{correct / len(x):.3f}"}
            if x_val is not None:
                val_loss, val_acc = mlp_evaluate(params, x_val, y_val, activation)
                history["val_loss"].append(val_loss)
                history["val_acc"].append(val_acc)
                postfix.update(val_loss=f"{val_loss:.4g}", val_acc=f"{val_acc:.3f}")
            history["epoch_time"].append(time.perf_counter() - start)
            bar.set_postfix(postfix, refresh=False)
            bar.update(1)
    return MLPFit(params, history)
