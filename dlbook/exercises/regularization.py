"""Exercise checks of chapter "Generalization, regularization and evaluation"
(`chapters/regularization.ipynb`).

Each check compares an answer with the dlbook reference code; see `dlbook.exercises._core`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import dlbook.numpy as dnp
from dlbook.exercises._core import OK, check_close, unpack

__all__ = [
    "check_auc_pairs",
    "check_batchnorm_forward",
    "check_confusion_matrix",
    "check_inverted_dropout",
]


def check_confusion_matrix(confusion: Callable, *, seed: int = 0) -> None:
    """Compare confusion(y_true, y_pred, k) -> (k, k) counts with `dlbook.metrics`: rows are
    true classes, columns predicted classes, and correct predictions lie on the diagonal."""
    from dlbook import metrics

    rng = np.random.default_rng(seed)
    cases = [(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 2]), 3)]  # all correct
    cases.append((np.array([0, 0, 1]), np.array([1, 1, 1]), 3))  # class 2 never appears
    for n, k in [(20, 2), (50, 4), (7, 5)]:
        cases.append((rng.integers(0, k, size=n), rng.integers(0, k, size=n), k))
    for y_true, y_pred, k in cases:
        want = metrics.confusion_matrix(y_true, y_pred, num_classes=k)
        got = np.asarray(confusion(y_true.copy(), y_pred.copy(), k))
        where = f"y_true={y_true.tolist()[:8]}, y_pred={y_pred.tolist()[:8]}, k={k}"
        if (
            got.shape == want.shape
            and np.array_equal(got, want.T)
            and not np.array_equal(got, want)
        ):
            raise AssertionError(
                f"{where}: your matrix is transposed; row i must be the TRUE class i"
            )
        check_close(f"confusion matrix for {where}", got, want)
    print(f"{OK} your confusion matrix matches dlbook.metrics on {len(cases)} cases")


def check_batchnorm_forward(forward: Callable, *, seed: int = 0) -> None:
    """Compare forward(x, gamma, beta, running_mean, running_var, momentum, eps) -> (out,
    new_running_mean, new_running_var), in training mode, with `dnp.batchnorm_forward`."""
    rng = np.random.default_rng(seed)
    for n, d, momentum in [(8, 3, 0.1), (2, 1, 0.5), (30, 5, 1.0)]:
        x = rng.normal(loc=2.0, scale=3.0, size=(n, d))
        gamma, beta = rng.normal(size=d), rng.normal(size=d)
        mean, var, eps = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d), 1e-5
        got = unpack(
            "forward",
            forward(x.copy(), gamma.copy(), beta.copy(), mean.copy(), var.copy(), momentum, eps),
            ("out", "new_running_mean", "new_running_var"),
        )
        want = dnp.batchnorm_forward(
            x, gamma, beta, mean, var, training=True, momentum=momentum, eps=eps
        )
        case = f"N={n}, D={d}, momentum={momentum}"
        check_close(f"out for {case} (normalize with the biased variance)", got[0], want[0])
        check_close(f"new_running_mean for {case}", got[1], want[1])
        check_close(
            f"new_running_var for {case} (the running average uses the unbiased variance)",
            got[2],
            want[2],
        )
    print(f"{OK} your batch norm matches dnp.batchnorm_forward (and torch.nn.BatchNorm1d)")


def check_auc_pairs(auc: Callable, *, seed: int = 0) -> None:
    """Compare auc(y, scores), the fraction of (positive, negative) pairs ranked correctly with
    ties counting 1/2, with `dlbook.metrics.roc_auc` (the area under the ROC curve)."""
    from dlbook import metrics

    rng = np.random.default_rng(seed)
    cases = [(np.array([0, 1, 0, 1]), np.array([0.5, 0.5, 0.5, 0.5]))]  # all tied: 1/2
    for n in (10, 40, 100):
        y = rng.integers(0, 2, size=n)
        y[:2] = [0, 1]
        cases.append((y, np.round(rng.normal(size=n) + y, 1)))  # rounded: many ties
    for y, scores in cases:
        check_close(
            f"AUC for {len(y)} samples (ties count 1/2)",
            auc(y.copy(), scores.copy()),
            metrics.roc_auc(y, scores),
        )
    print(f"{OK} your pair-counting AUC equals the area under dlbook's ROC curve")


def check_inverted_dropout(dropout: Callable, *, seed: int = 0) -> None:
    """Compare dropout(x, keep, p) -> out, given the boolean mask `keep` of kept entries, with
    the training pass of `dnp.dropout_forward` that drew that mask."""
    rng = np.random.default_rng(seed)
    for shape, p in [((4, 5), 0.5), ((3, 2, 2), 0.2), ((100,), 0.9)]:
        x = rng.normal(size=shape)
        want, cache = dnp.dropout_forward(x, p, training=True, rng=rng)
        keep = cache.mask != 0
        got = dropout(x.copy(), keep.copy(), p)
        check_close(f"dropout(x, keep, p={p}) for x of shape {shape}", got, want)
    print(f"{OK} your inverted dropout matches dnp.dropout_forward: E[out] = x")
