"""Loss functions in NumPy, each returning the loss and its gradient with respect to the input.

Book: chapter "Linear models and gradient descent" (`chapters/linear_models.ipynb`,
{ref}`sec-where-losses-come-from`), where each loss is derived as a negative log-likelihood.

Every function returns ``(loss, dinput)``: the loss as a Python float (a mean, as in torch's
default ``reduction="mean"``) and dL/dinput with the shape of the input. Inputs are checked:
a wrong shape or a label out of range raises `ValueError` naming the argument, and so does NaN
or inf anywhere in an input. Never imports torch.
"""

from __future__ import annotations

import numpy as np

from dlbook.checks import as_labels, check_shape, shapes
from dlbook.numpy.layers import log_softmax, sigmoid

__all__ = ["binary_cross_entropy_with_logits", "mse_loss", "softmax_cross_entropy"]


@shapes(logits="N C", y="N")
def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels; torch's `cross_entropy`.

    logits (N, C) are unnormalized scores; y (N,) holds class indices in [0, C). Returns
    (loss, dlogits) with loss = -(1/N) sum_n log softmax(logits_n)[y_n] and dlogits (N, C) =
    (softmax(logits) - onehot(y)) / N. Stable for logits of any finite size (log-sum-exp).
    Raises ValueError for a wrong shape, non-integer or out-of-range labels, NaN or inf.
    Book: {ref}`sec-softmax`.
    """
    y = as_labels("y", y, num_classes=logits.shape[1])
    n = len(y)
    log_p = log_softmax(logits, axis=1)
    loss = -np.mean(log_p[np.arange(n), y])
    with np.errstate(under="ignore"):  # probabilities below 1e-308 round to 0
        dlogits = np.exp(log_p)
    dlogits[np.arange(n), y] -= 1.0  # d(-log s_y)/dz_k = s_k - 1[k = y]
    return float(loss), dlogits / n


@shapes(pred="... _", target="...")
def mse_loss(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over all elements; torch's `mse_loss` with reduction="mean".

    pred and target have the same shape (any rank). Returns (loss, dpred) with
    loss = mean((pred - target)^2) and dpred = 2 (pred - target) / pred.size.
    Raises ValueError if the shapes differ or an input holds NaN or inf.
    Book: {ref}`sec-where-losses-come-from`.
    """
    check_shape("target", target, pred.shape)
    diff = pred - target
    return float(np.mean(diff**2)), 2.0 * diff / diff.size


@shapes(logits="...", y="binary: ...")
def binary_cross_entropy_with_logits(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean binary cross-entropy of sigmoid(logits) against labels y in {0, 1}.

    Equals torch's `binary_cross_entropy_with_logits` (BCEWithLogitsLoss). logits and y have
    the same shape (any rank, usually (N,)); y holds 0.0 or 1.0. Per element the loss is
    -[y log sigma(z) + (1 - y) log(1 - sigma(z))] = max(z, 0) - z y + log(1 + exp(-|z|)),
    the form that never overflows. Returns (loss, dlogits) with dlogits = (sigma(z) - y) / size.
    Raises ValueError for a shape mismatch, labels other than 0 and 1, NaN or inf.
    Book: {ref}`sec-logistic-regression`.
    """
    z = logits
    check_shape("y", y, z.shape)
    with np.errstate(under="ignore"):
        per_element = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return float(np.mean(per_element)), (sigmoid(z) - y) / z.size
