"""Linear models trained by least squares and by gradient descent, in NumPy.

Book: chapter "Linear models and gradient descent" (`chapters/linear_models.ipynb`).

Three models share one linear layer, scores = X @ w + b, and differ only in their loss:

- ``"linear"``: linear regression, mean squared error, real targets y (N,); w (D,), b a float;
- ``"logistic"``: logistic regression, binary cross-entropy on the logit, y (N,) in {0, 1};
  w (D,), b a float;
- ``"softmax"``: the softmax classifier, cross-entropy, y (N,) in 0..K-1; w (D, K), b (K,).

The forward and backward passes come from `dlbook.numpy.layers` and `dlbook.numpy.losses`.
Never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbook._validate import as_float_array, check_positive
from dlbook.numpy.layers import linear_backward, linear_forward, sigmoid, softmax
from dlbook.numpy.losses import (
    binary_cross_entropy_with_logits,
    mse_loss,
    softmax_cross_entropy,
)

__all__ = [
    "LinearFit",
    "gradient_descent",
    "largest_stable_lr",
    "linear_model_loss",
    "linear_model_predict",
    "linear_regression_closed_form",
    "minibatch_sgd",
    "mse_hessian",
    "standardize",
]

MODELS = ("linear", "logistic", "softmax")
_DIVERGED = 1e100  # a loss above this ends a run: the iterates are heading for overflow


# ---------------------------------------------------------------------------------------------
# Argument checks


def _check_model(model: object) -> str:
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(map(repr, MODELS))}; got {model!r}")
    return str(model)


def _check_data(X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_array("X", X, shape=("N", "D"))
    y = as_float_array("y", y, shape=(X.shape[0],))
    return X, y


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return int(value)


def _n_outputs(model: str, y: np.ndarray, n_classes: int | None) -> int:
    """Columns of the weight matrix: 1, or the number of classes K for softmax."""
    if model != "softmax":
        return 1
    if n_classes is None:
        return int(y.max()) + 1 if y.size else 1
    return _check_count("n_classes", n_classes)


def _init_params(
    w0: object, b0: object, d: int, model: str, k: int
) -> tuple[np.ndarray, np.ndarray | float]:
    """Starting weights: w0, b0 if given (checked), else zeros of the model's shapes."""
    w_shape, b_shape = ((d, k), (k,)) if model == "softmax" else ((d,), ())
    w = np.zeros(w_shape) if w0 is None else as_float_array("w0", w0, shape=w_shape)
    b = np.zeros(b_shape) if b0 is None else as_float_array("b0", b0, shape=b_shape)
    return w.copy(), (float(b) if model != "softmax" else b.copy())


def _as_layer(
    w: object, b: object, d: int, model: str
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], tuple[int, ...]]:
    """w, b as the (D, M) and (M,) arrays of `linear_forward`, plus their original shapes."""
    if model == "softmax":
        W = as_float_array("w", w, shape=(d, "K"))
        bias = as_float_array("b", b, shape=(W.shape[1],))
        return W, bias, W.shape, bias.shape
    W = as_float_array("w", w, shape=(d,))
    bias = as_float_array("b", b, shape=())
    return W[:, None], bias[None], W.shape, ()


# ---------------------------------------------------------------------------------------------
# Least squares in closed form


def linear_regression_closed_form(
    X: np.ndarray, y: np.ndarray, *, l2: float = 0.0
) -> tuple[np.ndarray, float]:
    """Minimize mean((X @ w + b - y)^2) + l2 * ||w||^2 exactly; return (w (D,), b).

    X is (N, D) and y (N,). The bias is not penalized. With centred data Xc = X - mean(X) and
    yc = y - mean(y), the minimizer solves the normal equations (Xc^T Xc + N l2 I) w = Xc^T yc
    and b = mean(y) - mean(X) @ w. We never form Xc^T Xc (its condition number is the square of
    Xc's) and never invert it: `np.linalg.lstsq` solves the least-squares problem
    min ||A w - t||, with A = [Xc; sqrt(N l2) I] and t = [yc; 0], by an SVD of A. When Xc has
    dependent columns and l2 = 0, it returns the solution of smallest norm.
    Book: {ref}`sec-closed-form`.
    """
    X, y = _check_data(X, y)
    l2 = check_positive("l2", l2, allow_zero=True)
    n, d = X.shape
    x_mean, y_mean = X.mean(axis=0), y.mean()
    A, t = X - x_mean, y - y_mean
    if l2 > 0:
        # ||Xc w - yc||^2 + N l2 ||w||^2 = ||[Xc; sqrt(N l2) I] w - [yc; 0]||^2
        A = np.vstack([A, np.sqrt(n * l2) * np.eye(d)])
        t = np.concatenate([t, np.zeros(d)])
    w = np.linalg.lstsq(A, t, rcond=None)[0]
    return w, float(y_mean - x_mean @ w)


def mse_hessian(X: np.ndarray) -> np.ndarray:
    """The Hessian of mean((X @ w + b - y)^2) in the parameters (w, b): (D + 1, D + 1).

    With the augmented inputs X~ = [X, 1] the loss is a quadratic in theta = (w, b), and its
    Hessian 2 X~^T X~ / N does not depend on y or on theta. Book: {ref}`sec-learning-rate`.
    """
    X = as_float_array("X", X, shape=("N", "D"))
    Xa = np.hstack([X, np.ones((X.shape[0], 1))])
    return 2.0 * Xa.T @ Xa / X.shape[0]


def largest_stable_lr(H: np.ndarray) -> float:
    """2 / lambda_max(H): gradient descent on a quadratic with Hessian H converges iff
    0 < lr < 2 / lambda_max(H).

    H is a symmetric positive semi-definite (P, P) matrix with at least one positive eigenvalue.
    Book: {ref}`sec-learning-rate`.
    """
    H = as_float_array("H", H, shape=("P", "P"))
    if H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square (P, P) matrix; got shape {H.shape}")
    if not np.allclose(H, H.T, rtol=1e-10, atol=1e-12 * np.abs(H).max()):
        raise ValueError("H must be symmetric (a Hessian)")
    eigenvalues = np.linalg.eigvalsh(H)
    if eigenvalues[-1] <= 0 or eigenvalues[0] < -1e-10 * eigenvalues[-1]:
        raise ValueError(
            f"H must be positive semi-definite with lambda_max > 0; eigenvalues range from "
            f"{eigenvalues[0]:.3g} to {eigenvalues[-1]:.3g}"
        )
    return float(2.0 / eigenvalues[-1])


def standardize(
    X: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ((X - mean) / std, mean, std) for X (N, D), column by column.

    mean and std (D,) default to the columns' statistics; pass the training set's to transform
    new data the same way. A constant column (std 0) raises ValueError.
    Book: {ref}`sec-feature-scaling`.
    """
    X = as_float_array("X", X, shape=("N", "D"))
    d = X.shape[1]
    mean = X.mean(axis=0) if mean is None else as_float_array("mean", mean, shape=(d,))
    std = X.std(axis=0) if std is None else as_float_array("std", std, shape=(d,))
    if np.any(std <= 0):
        cols = np.flatnonzero(std <= 0).tolist()
        raise ValueError(f"std must be > 0 in every column; columns {cols[:5]} are constant")
    return (X - mean) / std, mean, std


# ---------------------------------------------------------------------------------------------
# One loss, three models, built from the layer and the losses


def linear_model_loss(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray | float, *, model: str = "linear"
) -> tuple[float, np.ndarray, np.ndarray | float]:
    """Return (loss, dw, db) of a linear model on the batch X (N, D), y (N,).

    scores = X @ w + b go through `linear_forward`; the loss of `model` ("linear": MSE,
    "logistic": binary cross-entropy, "softmax": cross-entropy) gives dL/dscores, and
    `linear_backward` turns it into dw and db, shaped like w and b.
    Book: {ref}`sec-gradient-descent`.
    """
    model = _check_model(model)
    X, y = _check_data(X, y)
    W, bias, w_shape, b_shape = _as_layer(w, b, X.shape[1], model)
    scores, cache = linear_forward(X, W, bias)  # (N, M): M = 1, or K classes
    if model == "softmax":
        loss, dscores = softmax_cross_entropy(scores, y)
    elif model == "logistic":
        loss, dscores = binary_cross_entropy_with_logits(scores[:, 0], y)
    else:
        loss, dscores = mse_loss(scores[:, 0], y)
    _, dW, db = linear_backward(dscores.reshape(scores.shape), cache)
    db = db.reshape(b_shape)
    return loss, dW.reshape(w_shape), (float(db) if model != "softmax" else db)


def linear_model_predict(
    X: np.ndarray, w: np.ndarray, b: np.ndarray | float, *, model: str = "linear"
) -> np.ndarray:
    """Predictions for X (N, D): "linear" X @ w + b (N,); "logistic" P(y = 1 | x) (N,);
    "softmax" the class probabilities (N, K)."""
    model = _check_model(model)
    X = as_float_array("X", X, shape=("N", "D"))
    W, bias, _, _ = _as_layer(w, b, X.shape[1], model)
    scores = linear_forward(X, W, bias)[0]
    if model == "softmax":
        return softmax(scores, axis=1)
    return sigmoid(scores[:, 0]) if model == "logistic" else scores[:, 0]


# ---------------------------------------------------------------------------------------------
# Training loops


class LinearFit(NamedTuple):
    """What `gradient_descent` and `minibatch_sgd` return.

    w, b: the final parameters. loss (R,): the loss on the whole training set at each record,
    loss[0] at the start. seen (R,): the number of examples the gradients had used by then.
    path (R, P) or None: the parameters [w.ravel(), b.ravel()] at each record (`keep_path`).
    diverged: True if the run stopped early because the loss passed 1e100.
    """

    w: np.ndarray
    b: np.ndarray | float
    loss: np.ndarray
    seen: np.ndarray
    path: np.ndarray | None
    diverged: bool


def _flat(w: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    return np.concatenate([np.ravel(w), np.ravel(b)])


def gradient_descent(
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    epochs: int,
    model: str = "linear",
    w0: np.ndarray | None = None,
    b0: np.ndarray | float | None = None,
    n_classes: int | None = None,
    keep_path: bool = False,
) -> LinearFit:
    """Full-batch gradient descent, theta <- theta - lr * grad L(theta), for `epochs` steps.

    X (N, D), y (N,); `model` is "linear", "logistic" or "softmax" (see `linear_model_loss`).
    Starts from w0, b0 (default zeros; for softmax K = n_classes or max(y) + 1). One step uses
    all N examples, so the record after step t has seen t * N examples.
    Book: {ref}`sec-gradient-descent`.
    """
    model = _check_model(model)
    X, y = _check_data(X, y)
    lr, epochs = check_positive("lr", lr), _check_count("epochs", epochs)
    w, b = _init_params(w0, b0, X.shape[1], model, _n_outputs(model, y, n_classes))
    losses, path = [], []
    for step in range(epochs + 1):
        loss, dw, db = linear_model_loss(X, y, w, b, model=model)
        losses.append(loss)
        if keep_path:
            path.append(_flat(w, b))
        if step == epochs or not loss < _DIVERGED:
            break
        w, b = w - lr * dw, b - lr * db  # a step down the gradient
    seen = np.arange(len(losses)) * len(X)
    path = np.array(path) if keep_path else None
    return LinearFit(w, b, np.array(losses), seen, path, not loss < _DIVERGED)


def minibatch_sgd(
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    epochs: int,
    batch_size: int,
    rng: np.random.Generator,
    model: str = "linear",
    w0: np.ndarray | None = None,
    b0: np.ndarray | float | None = None,
    n_classes: int | None = None,
    record_every: int | None = None,
    keep_path: bool = False,
) -> LinearFit:
    """Mini-batch stochastic gradient descent: each step follows the gradient of one batch.

    Every epoch visits the N examples in a new order, rng.permutation(N), in batches of
    `batch_size` (the last one may be smaller); batch_size = 1 is classic SGD and
    batch_size = N is gradient descent. The loss on the whole training set is recorded at the
    start, after every `record_every` steps and at the end of every epoch (default: only
    then). Other arguments as in `gradient_descent`. Book: {ref}`sec-sgd`.
    """
    model = _check_model(model)
    X, y = _check_data(X, y)
    lr, epochs = check_positive("lr", lr), _check_count("epochs", epochs)
    batch_size = _check_count("batch_size", batch_size)
    every = None if record_every is None else _check_count("record_every", record_every)
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a np.random.Generator; got {type(rng).__name__}")
    w, b = _init_params(w0, b0, X.shape[1], model, _n_outputs(model, y, n_classes))
    losses, seen, path = [], [], []

    def record(w: np.ndarray, b: np.ndarray | float, n_seen: int) -> None:
        losses.append(linear_model_loss(X, y, w, b, model=model)[0])  # whole training set
        seen.append(n_seen)
        if keep_path:
            path.append(_flat(w, b))

    record(w, b, 0)
    n_seen, step, diverged = 0, 0, not losses[0] < _DIVERGED
    for _ in range(0 if diverged else epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            batch_loss, dw, db = linear_model_loss(X[batch], y[batch], w, b, model=model)
            diverged = not batch_loss < _DIVERGED
            if diverged:
                break
            w, b = w - lr * dw, b - lr * db  # a step down the batch's gradient
            n_seen, step = n_seen + len(batch), step + 1
            if start + batch_size >= len(X) or (every is not None and step % every == 0):
                record(w, b, n_seen)
        if diverged or not losses[-1] < _DIVERGED:
            if seen[-1] != n_seen:
                record(w, b, n_seen)
            diverged = True
            break
    path = np.array(path) if keep_path else None
    return LinearFit(w, b, np.array(losses), np.array(seen), path, diverged)
