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

import functools
import warnings
from typing import NamedTuple

import numpy as np

from dlbook.checks import (
    as_float_array,
    check_choice,
    check_int,
    shapes,
)
from dlbook.numpy.layers import linear_backward, linear_forward, sigmoid, softmax
from dlbook.numpy.losses import (
    binary_cross_entropy_with_logits,
    mse_loss,
    softmax_cross_entropy,
)

__all__ = [
    "fit_polynomial",
    "polynomial_errors",
    "polynomial_features",
    "DIVERGED_LOSS",
    "LINEAR_MODELS",
    "LinearFit",
    "as_linear_layer",
    "check_scale",
    "gradient_descent",
    "hessian_eigenvalues",
    "largest_stable_lr",
    "linear_model_init",
    "linear_model_loss",
    "linear_model_predict",
    "linear_regression_closed_form",
    "minibatch_sgd",
    "mse_hessian",
    "standardize",
]

LINEAR_MODELS = ("linear", "logistic", "softmax")
DIVERGED_LOSS = 1e100  # a loss above this ends a run: the iterates are heading for overflow


# ---------------------------------------------------------------------------------------------
# Checks and conversions used by the functions below (public, so the book can import them)


def as_linear_layer(
    w: object, b: object, d: int, model: str = "linear"
) -> tuple[np.ndarray, np.ndarray]:
    """w and b of a linear `model` on D = d features as the (D, M) and (M,) arrays of
    `linear_forward`; raise `ValueError` naming w or b if their shapes do not fit the model.

    "linear" and "logistic" take w (D,) and a scalar b (M = 1); "softmax" takes w (D, K) and
    b (K,) (M = K). `model` must be one of `LINEAR_MODELS`.
    """
    if check_choice("model", model, LINEAR_MODELS) == "softmax":
        W = as_float_array("w", w, shape=(d, "K"))
        return W, as_float_array("b", b, shape=(W.shape[1],))
    return as_float_array("w", w, shape=(d,))[:, None], as_float_array("b", b, shape=())[None]


@shapes(X="N D", y="N")
def linear_model_init(
    X: np.ndarray,
    y: np.ndarray,
    model: str = "linear",
    *,
    w0: object = None,
    b0: object = None,
    num_classes: int | None = None,
) -> tuple[np.ndarray, np.ndarray | float]:
    """The starting parameters (w, b) of a linear `model` for data X (N, D), y (N,).

    w0 and b0 when given (checked against the model's shapes), else zeros in X's dtype:
    w (D,) and b = 0.0, or for "softmax" w (D, K) and b (K,) with K = num_classes (default
    max(y) + 1). Returns copies, never w0 or b0 themselves.
    """
    w_shape, b_shape = (X.shape[1],), ()
    if check_choice("model", model, LINEAR_MODELS) == "softmax":
        k = int(y.max()) + 1 if num_classes is None else check_int("num_classes", num_classes)
        w_shape, b_shape = (X.shape[1], k), (k,)
    w = np.zeros(w_shape, X.dtype) if w0 is None else as_float_array("w0", w0, shape=w_shape)
    b = np.zeros(b_shape, X.dtype) if b0 is None else as_float_array("b0", b0, shape=b_shape)
    return w.copy(), (b.copy() if model == "softmax" else float(b))


def check_scale(std: np.ndarray) -> np.ndarray:
    """Check that every column's scale `std` (D,) is > 0 and return it; a constant column
    (std 0) has nothing to divide by, and raises `ValueError` listing the columns."""
    if np.any(std <= 0):
        cols = np.flatnonzero(std <= 0).tolist()
        raise ValueError(f"std must be > 0 in every column; columns {cols[:5]} are constant")
    return std


def hessian_eigenvalues(H: np.ndarray) -> np.ndarray:
    """The eigenvalues, ascending, of a symmetric positive semi-definite matrix H (P, P) with
    at least one positive eigenvalue, such as the Hessian of a convex quadratic loss.

    Raises `ValueError` if H is not square, not symmetric, or not positive semi-definite with
    lambda_max > 0.
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
    return eigenvalues


def _renamed_n_classes(func):
    """Accept the earlier keyword n_classes for num_classes, with a DeprecationWarning.

    Applied after the definition (not as a decorator), so the printed source stays clean.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if "n_classes" in kwargs:
            if "num_classes" in kwargs:
                raise TypeError("pass num_classes only (n_classes is its deprecated name)")
            warnings.warn(
                f"{func.__name__}(n_classes=...) is deprecated; use num_classes=...",
                DeprecationWarning,
                stacklevel=2,
            )
            kwargs["num_classes"] = kwargs.pop("n_classes")
        return func(*args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------------
# Least squares in closed form


@shapes(X="N D", y="N", l2=">= 0")
def linear_regression_closed_form(
    X: np.ndarray, y: np.ndarray, *, l2: float = 0.0
) -> tuple[np.ndarray, float]:
    """Minimize mean((X @ w + b - y)^2) / 2 + (l2 / 2) ||w||^2 exactly; return (w (D,), b).

    The penalty is the book's (lambda / 2) ||w||^2 with lambda = l2, added to half the mean
    squared error; the minimizer is the same as that of mean((X @ w + b - y)^2) + l2 ||w||^2.
    X is (N, D) and y (N,). The bias is not penalized. With centred data Xc = X - mean(X) and
    yc = y - mean(y), the minimizer solves the normal equations (Xc^T Xc + N l2 I) w = Xc^T yc
    and b = mean(y) - mean(X) @ w. We never form Xc^T Xc (its condition number is the square of
    Xc's) and never invert it: `np.linalg.lstsq` solves the least-squares problem
    min ||A w - t||, with A = [Xc; sqrt(N l2) I] and t = [yc; 0], by an SVD of A. When Xc has
    dependent columns and l2 = 0, it returns the solution of smallest norm.
    Book: {ref}`sec-closed-form`.
    """
    n, d = X.shape
    x_mean, y_mean = X.mean(axis=0), y.mean()
    A, t = X - x_mean, y - y_mean
    if l2 > 0:
        # 2N (mean(r^2) / 2 + (l2 / 2) ||w||^2) = ||Xc w - yc||^2 + N l2 ||w||^2
        #                                      = ||[Xc; sqrt(N l2) I] w - [yc; 0]||^2
        A = np.vstack([A, (n * l2) ** 0.5 * np.eye(d, dtype=X.dtype)])
        t = np.concatenate([t, np.zeros(d, X.dtype)])
    w = np.linalg.lstsq(A, t, rcond=None)[0]
    return w, float(y_mean - x_mean @ w)


@shapes(X="N D")
def mse_hessian(X: np.ndarray) -> np.ndarray:
    """The Hessian of mean((X @ w + b - y)^2) in the parameters (w, b): (D + 1, D + 1).

    With the augmented inputs X~ = [X, 1] the loss is a quadratic in theta = (w, b), and its
    Hessian 2 X~^T X~ / N does not depend on y or on theta. Book: {ref}`sec-learning-rate`.
    """
    Xa = np.hstack([X, np.ones((X.shape[0], 1), X.dtype)])
    return 2.0 * Xa.T @ Xa / X.shape[0]


def largest_stable_lr(H: np.ndarray) -> float:
    """2 / lambda_max(H): gradient descent on a quadratic with Hessian H converges iff
    0 < lr < 2 / lambda_max(H).

    H is a symmetric positive semi-definite (P, P) matrix with at least one positive eigenvalue.
    Book: {ref}`sec-learning-rate`.
    """
    eigenvalues = hessian_eigenvalues(H)  # ascending; raises unless H is symmetric PSD
    return float(2.0 / eigenvalues[-1])


@shapes(X="N D", mean="optional: D", std="optional: D")
def standardize(
    X: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ((X - mean) / std, mean, std) for X (N, D), column by column.

    mean and std (D,) default to the columns' statistics; pass the training set's to transform
    new data the same way. A constant column (std 0) raises ValueError.
    Book: {ref}`sec-feature-scaling`.
    """
    mean = X.mean(axis=0) if mean is None else mean
    std = check_scale(X.std(axis=0) if std is None else std)  # a constant column raises
    return (X - mean) / std, mean, std


# ---------------------------------------------------------------------------------------------
# One loss, three models, built from the layer and the losses


@shapes(X="N D", y="N")
def linear_model_loss(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray | float, *, model: str = "linear"
) -> tuple[float, np.ndarray, np.ndarray | float]:
    """Return (loss, dw, db) of a linear model on the batch X (N, D), y (N,).

    scores = X @ w + b go through `linear_forward`; the loss of `model` ("linear": MSE,
    "logistic": binary cross-entropy, "softmax": cross-entropy) gives dL/dscores, and
    `linear_backward` turns it into dw and db, shaped like w and b.
    Book: {ref}`sec-gradient-descent`.
    """
    W, bias = as_linear_layer(w, b, X.shape[1], model)  # (D, M) and (M,): M = 1, or K classes
    scores, cache = linear_forward(X, W, bias)  # (N, M)
    if model == "softmax":
        loss, dscores = softmax_cross_entropy(scores, y)
    elif model == "logistic":
        loss, dscores = binary_cross_entropy_with_logits(scores[:, 0], y)
    else:
        loss, dscores = mse_loss(scores[:, 0], y)
    _, dW, db = linear_backward(dscores.reshape(scores.shape), cache)
    return loss, dW.reshape(np.shape(w)), (db if model == "softmax" else float(db[0]))


@shapes(X="N D")
def linear_model_predict(
    X: np.ndarray, w: np.ndarray, b: np.ndarray | float, *, model: str = "linear"
) -> np.ndarray:
    """Predictions for X (N, D): "linear" X @ w + b (N,); "logistic" P(y = 1 | x) (N,);
    "softmax" the class probabilities (N, K)."""
    W, bias = as_linear_layer(w, b, X.shape[1], model)
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


@shapes(X="N D", y="N", lr="> 0", epochs="int", keep_path="bool")
def gradient_descent(
    X: np.ndarray,
    y: np.ndarray,
    *,
    lr: float,
    epochs: int,
    model: str = "linear",
    w0: np.ndarray | None = None,
    b0: np.ndarray | float | None = None,
    num_classes: int | None = None,
    keep_path: bool = False,
) -> LinearFit:
    """Full-batch gradient descent, theta <- theta - lr * grad L(theta), for `epochs` steps.

    X (N, D), y (N,); `model` is "linear", "logistic" or "softmax" (see `linear_model_loss`).
    Starts from w0, b0 (default zeros; for softmax K = num_classes or max(y) + 1). One step uses
    all N examples, so the record after step t has seen t * N examples.
    Book: {ref}`sec-gradient-descent`.
    """
    w, b = linear_model_init(X, y, model, w0=w0, b0=b0, num_classes=num_classes)  # or zeros
    losses, path = [], []
    for step in range(epochs + 1):
        loss, dw, db = linear_model_loss(X, y, w, b, model=model)
        losses.append(loss)
        if keep_path:
            path.append(np.append(w, b))  # [w.ravel(), b.ravel()]
        if step == epochs or not loss < DIVERGED_LOSS:
            break
        w, b = w - lr * dw, b - lr * db  # a step down the gradient
    seen = np.arange(len(losses)) * len(X)
    path = np.array(path) if keep_path else None
    return LinearFit(w, b, np.array(losses), seen, path, not loss < DIVERGED_LOSS)


@shapes(
    X="N D",
    y="N",
    lr="> 0",
    epochs="int",
    batch_size="int",
    rng="rng",
    record_every="optional int",
    keep_path="bool",
)
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
    num_classes: int | None = None,
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
    w, b = linear_model_init(X, y, model, w0=w0, b0=b0, num_classes=num_classes)  # or zeros
    losses, seen, path = [], [], []

    def record(w: np.ndarray, b: np.ndarray | float, n_seen: int) -> None:
        losses.append(linear_model_loss(X, y, w, b, model=model)[0])  # whole training set
        seen.append(n_seen)
        if keep_path:
            path.append(np.append(w, b))  # [w.ravel(), b.ravel()]

    record(w, b, 0)
    n_seen, step, diverged = 0, 0, not losses[0] < DIVERGED_LOSS
    for _ in range(0 if diverged else epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start : start + batch_size]
            batch_loss, dw, db = linear_model_loss(X[batch], y[batch], w, b, model=model)
            diverged = not batch_loss < DIVERGED_LOSS
            if diverged:
                break
            w, b = w - lr * dw, b - lr * db  # a step down the batch's gradient
            n_seen, step = n_seen + len(batch), step + 1
            if start + batch_size >= len(X) or (record_every and step % record_every == 0):
                record(w, b, n_seen)
        if diverged or not losses[-1] < DIVERGED_LOSS:
            if seen[-1] != n_seen:
                record(w, b, n_seen)
            diverged = True
            break
    path = np.array(path) if keep_path else None
    return LinearFit(w, b, np.array(losses), np.array(seen), path, diverged)


# The earlier keyword n_classes still works, with a DeprecationWarning (wrapped here rather than
# decorated, so that the source printed in the book is the function itself).
gradient_descent = _renamed_n_classes(gradient_descent)
minibatch_sgd = _renamed_n_classes(minibatch_sgd)


# ---------------------------------------------------------------------------------------------
# Polynomial regression, the overfitting example of chapter "Generalization, regularization and
# evaluation" (`chapters/regularization.ipynb`)


def polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    """The monomials x, x^2, ..., x^degree of x (N,) as columns: (N, degree)."""
    x = as_float_array("x", x, shape=("N",))
    degree = check_int("degree", degree)
    return x[:, None] ** np.arange(1, degree + 1)


def fit_polynomial(
    x: np.ndarray, y: np.ndarray, degree: int, *, l2: float = 0.0
) -> tuple[np.ndarray, float]:
    """Least squares on `polynomial_features` with the book's L2 penalty on the coefficients.

    Minimizes mean((b + sum_k w_k x^k - y)^2) / 2 + (l2 / 2) ||w||^2, that is lambda = l2 in the
    book's (lambda / 2) ||w||^2 (the same minimizer as mean squared error + l2 ||w||^2); the
    bias b is not penalized. x and y are (N,). Returns (w (degree,), b). Solved exactly by
    `linear_regression_closed_form`; with more coefficients than points and l2 = 0 it is
    the interpolating polynomial of smallest norm. Book: {ref}`sec-reg-overfitting`.
    """
    return linear_regression_closed_form(polynomial_features(x, degree), y, l2=l2)


def polynomial_errors(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    degrees: object,
    *,
    l2: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared errors (train (len(degrees),), validation (len(degrees),)) of
    `fit_polynomial(x_train, y_train, d, l2=l2)` for each degree d in `degrees`."""
    x_val = as_float_array("x_val", x_val, shape=("M",))
    y_val = as_float_array("y_val", y_val, shape=(x_val.shape[0],))
    y_train = as_float_array("y_train", y_train, shape=("N",))
    train, val = [], []
    for d in degrees:
        w, b = fit_polynomial(x_train, y_train, d, l2=l2)
        train.append(np.mean((polynomial_features(x_train, d) @ w + b - y_train) ** 2))
        val.append(np.mean((polynomial_features(x_val, d) @ w + b - y_val) ** 2))
    return np.array(train), np.array(val)
