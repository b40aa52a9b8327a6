"""Exercise checks of chapter "Linear models and gradient descent" (`chapters/linear_models.ipynb`).

Each check compares an answer with the dlbook reference code; see `dlbook.exercises._core`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import OK, check_close, unpack

__all__ = [
    "check_closed_form",
    "check_mse_gradient",
    "check_softmax_cross_entropy",
    "check_stable_lr",
]


def check_closed_form(fit: Callable, *, seed: int = 0) -> None:
    """Compare fit(X, y) -> (w (D,), b) with `dnp.linear_regression_closed_form` (no penalty)."""
    rng = np.random.default_rng(seed)
    for n, d in [(20, 1), (50, 3), (8, 5), (100, 2)]:
        X = rng.normal(size=(n, d)) * rng.uniform(0.5, 5.0, size=d) + rng.normal(size=d)
        y = rng.normal(size=n)
        w, b = unpack("fit", fit(X.copy(), y.copy()), ("w", "b"))
        want_w, want_b = dnp.linear_regression_closed_form(X, y)
        check_close(f"w for N={n}, D={d}", w, want_w, rtol=1e-8, atol=1e-10)
        check_close(f"b for N={n}, D={d}", b, want_b, rtol=1e-8, atol=1e-10)
    print(f"{OK} your least-squares fit agrees with dnp.linear_regression_closed_form")


def check_mse_gradient(grad: Callable, *, seed: int = 0) -> None:
    """Compare grad(X, y, w, b) -> (dw, db) of mean((X @ w + b - y)**2) with
    `dnp.linear_model_loss` (the chain rule through dnp.linear_forward and dnp.mse_loss)."""
    rng = np.random.default_rng(seed)
    for n, d in [(1, 1), (10, 3), (25, 2), (7, 6)]:
        X, y = rng.normal(size=(n, d)), rng.normal(size=n)
        w, b = rng.normal(size=d), float(rng.normal())
        dw, db = unpack("grad", grad(X.copy(), y.copy(), w.copy(), b), ("dw", "db"))
        _, want_dw, want_db = dnp.linear_model_loss(X, y, w, b)
        check_close(f"dw for N={n}, D={d}", dw, want_dw)
        check_close(f"db for N={n}, D={d}", db, want_db)
    print(f"{OK} your gradient of the mean squared error agrees with dnp's on 4 problems")


def check_softmax_cross_entropy(loss_fn: Callable, *, seed: int = 0) -> None:
    """Compare loss_fn(logits, y) -> (loss, dlogits) with `dnp.softmax_cross_entropy`, also for
    logits of 1e4 (which overflow exp unless the row maximum is subtracted first)."""
    rng = np.random.default_rng(seed)
    cases = [
        (rng.normal(size=(n, c)) * 3, rng.integers(0, c, size=n))
        for n, c in [(1, 2), (6, 3), (20, 10)]
    ]
    cases.append((np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]]), np.array([1, 2])))
    for logits, y in cases:
        where = f"logits of shape {logits.shape}" + (
            " and size 1e4" if abs(logits).max() > 100 else ""
        )
        with np.errstate(all="ignore"):
            try:
                got = loss_fn(logits.copy(), y.copy())
            except FloatingPointError as err:
                raise AssertionError(f"{where}: {err}; subtract each row's maximum first") from None
        loss, dlogits = unpack("loss_fn", got, ("loss", "dlogits"))
        want_loss, want_d = dnp.softmax_cross_entropy(logits, y)
        if not np.all(np.isfinite(np.asarray(loss, dtype=np.float64))):
            raise AssertionError(
                f"{where}: the loss is {loss}; exp overflows, so subtract each row's maximum "
                "before exponentiating (log-sum-exp)"
            )
        check_close(f"loss for {where}", loss, want_loss)
        check_close(f"dlogits for {where}", dlogits, want_d)
    print(f"{OK} your softmax cross-entropy and its gradient agree with dnp's, even at 1e4")


def check_stable_lr(stable_lr: Callable, *, seed: int = 0) -> None:
    """Compare stable_lr(H) with `dnp.largest_stable_lr` (2 / lambda_max) on Hessians."""
    rng = np.random.default_rng(seed)
    hessians = [np.diag([4.0, 1.0]), dnp.mse_hessian(rng.normal(size=(30, 2)) * [1.0, 5.0])]
    for p in (1, 3, 5):
        A = rng.normal(size=(p, p + 2))
        hessians.append(A @ A.T)
    for H in hessians:
        check_close(
            f"largest stable lr for a {H.shape} Hessian",
            stable_lr(H.copy()),
            dnp.largest_stable_lr(H),
        )
    print(f"{OK} your learning-rate limit is 2 / lambda_max on {len(hessians)} Hessians")
