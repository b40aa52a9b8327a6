"""Evaluation metrics for classifiers, written out in NumPy and matched to scikit-learn.

Book: chapter "Generalization, regularization and evaluation" (`chapters/regularization.ipynb`,
{ref}`sec-reg-metrics`).

Labels are integers: 0..K-1 for K classes, 0/1 (or booleans) for binary problems, where 1 is
the positive class. Scores are real numbers, larger meaning "more likely positive"; a sample is
predicted positive at threshold t when its score is >= t. Every function checks its inputs: an
empty input, arrays of different lengths, NaN or inf, or labels of the wrong kind raise
`ValueError` naming the argument.

Where a rate is 0/0 (precision with no predicted positive, recall of a class with no sample)
these functions return 0, the value scikit-learn returns by default, without its warning.

ROC curves and AUC need both classes in `y_true`. With a single class, `roc_curve` and
`roc_auc` **raise** `ValueError`; they do not warn. scikit-learn differs here: its `roc_curve`
and (since version 1.6) its `roc_auc_score` warn with `UndefinedMetricWarning` and return NaN
(`roc_auc_score` raised `ValueError` before 1.5 and returned 0.0 with the warning in 1.5). A
NaN that travels on unnoticed, say into an average over folds, is worse than an error.

`precision_recall_curve` and `average_precision` raise when `y_true` has no positive sample
(scikit-learn warns and sets the recall to 1). Never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbook.checks import as_float_array, check_int, check_positive, check_same_length, shapes

__all__ = [
    "PRF",
    "CalibrationCurve",
    "accuracy",
    "average_precision",
    "balanced_accuracy",
    "calibration_curve",
    "confusion_matrix",
    "expected_calibration_error",
    "mode_coverage",
    "precision_recall_curve",
    "precision_recall_f1",
    "roc_auc",
    "roc_curve",
]

_AVERAGES = ("binary", "macro", "micro", "weighted", None)


# ---------------------------------------------------------------------------------------------
# Input checks


def _labels(name: str, y: object) -> np.ndarray:
    """y as a 1-D int64 array of class labels >= 0 (booleans become 0/1)."""
    arr = as_float_array(name, y, shape=("N",))
    if not np.all(arr == np.round(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold integer class labels 0, 1, ..., K-1")
    return arr.astype(np.int64)


def _pair(y_true: object, y_pred: object) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    check_same_length(y_true=y_true, y_pred=y_pred)
    return y_true, y_pred


def _binary(name: str, y: object) -> np.ndarray:
    y = _labels(name, y)
    if np.any(y > 1):
        raise ValueError(f"{name} must hold binary labels 0/1 (1 = positive); got {np.unique(y)}")
    return y


def _binary_scores(y_true: object, scores: object) -> tuple[np.ndarray, np.ndarray]:
    y_true = _binary("y_true", y_true)
    scores = as_float_array("scores", scores, shape=("N",))
    check_same_length(y_true=y_true, scores=scores)
    return y_true, scores


def _num_classes(num_classes: object, *labels: np.ndarray) -> int:
    seen = max(int(y.max()) for y in labels) + 1
    if num_classes is None:
        return seen
    k = check_int("num_classes", num_classes, minimum=1)
    if seen > k:
        raise ValueError(f"labels must be < num_classes = {k}; got the label {seen - 1}")
    return k


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, 0 where den = 0 (scikit-learn's default zero_division)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


# ---------------------------------------------------------------------------------------------
# Metrics of hard predictions


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, num_classes: int | None = None
) -> np.ndarray:
    """Counts C (K, K), int64: C[i, j] = number of samples of true class i predicted as j.

    y_true and y_pred are (N,) labels in 0..K-1; K is `num_classes`, by default the largest
    label + 1. The diagonal counts the *correct* predictions and the off-diagonal entries the
    errors; row i sums to the number of samples of class i. Equals scikit-learn's
    `confusion_matrix(y_true, y_pred, labels=range(K))`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    k = _num_classes(num_classes, y_true, y_pred)
    # each (true, pred) pair is one cell of the flattened K x K table
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The fraction of the N samples whose label y_pred (N,) equals y_true (N,)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The mean over the classes present in y_true of their recall (the fraction predicted right).

    Every class then counts the same, however rare, so a classifier that always predicts the
    majority class scores 1/K on K classes. Equals scikit-learn's `balanced_accuracy_score`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    cm = confusion_matrix(y_true, y_pred)
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present]))


class PRF(NamedTuple):
    """Precision, recall and F1: floats, or arrays (K,) per class for `average=None`."""

    precision: float | np.ndarray
    recall: float | np.ndarray
    f1: float | np.ndarray


def precision_recall_f1(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    average: str | None = "binary",
    num_classes: int | None = None,
) -> PRF:
    """Precision TP / (TP + FP), recall TP / (TP + FN) and F1 = 2 TP / (2 TP + FP + FN).

    y_true and y_pred are (N,) labels. `average`:
      "binary"   labels 0/1; the scores of the positive class 1 (the default, as in sklearn);
      None       one score per class 0..K-1, as arrays (K,);
      "macro"    the unweighted mean of the per-class scores;
      "weighted" their mean weighted by each class's number of true samples;
      "micro"    from the summed counts over classes (all three equal the accuracy).
    K is `num_classes`, by default the largest label + 1. A 0/0 gives 0. Equals scikit-learn's
    `precision_recall_fscore_support(..., labels=range(K), zero_division=0)`.
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {list(_AVERAGES)}; got {average!r}")
    y_true, y_pred = _pair(y_true, y_pred)
    if average == "binary":
        if max(y_true.max(), y_pred.max()) > 1:
            raise ValueError(
                "average='binary' needs labels 0/1; for more classes pass average='macro', "
                "'weighted', 'micro' or None"
            )
        num_classes = 2
    cm = confusion_matrix(y_true, y_pred, _num_classes(num_classes, y_true, y_pred))
    tp = np.diag(cm)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)  # TP + FP, TP + FN per class
    if average == "micro":
        tp, predicted, actual = tp.sum(), predicted.sum(), actual.sum()
    precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
    f1 = _ratio(2 * tp, predicted + actual)  # 2 TP / (2 TP + FP + FN)
    if average == "binary":
        return PRF(float(precision[1]), float(recall[1]), float(f1[1]))
    if average == "micro":
        return PRF(float(precision), float(recall), float(f1))
    if average is None:
        return PRF(precision, recall, f1)
    weights = None if average == "macro" else actual
    if weights is not None and weights.sum() == 0:
        return PRF(0.0, 0.0, 0.0)
    mean = [float(np.average(v, weights=weights)) for v in (precision, recall, f1)]
    return PRF(*mean)


# ---------------------------------------------------------------------------------------------
# Metrics of scores: ROC and precision-recall


def _counts_by_threshold(
    y_true: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(false positives, true positives, thresholds), one entry per distinct score, descending.

    At threshold t = a distinct score, the positives predicted are the samples with score >= t.
    """
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], y_true[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each run of ties
    tps = np.cumsum(y)[last]
    fps = last + 1 - tps
    return fps, tps, s[last]


def roc_curve(
    y_true: np.ndarray, scores: np.ndarray, *, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve: (fpr, tpr, thresholds), each (T,), thresholds decreasing from +inf.

    y_true (N,) holds 0/1 labels and scores (N,) real scores. At each threshold t, tpr is the
    fraction of positives with score >= t and fpr the fraction of negatives. The first point,
    at t = inf, is (0, 0) and the last is (1, 1). Tied scores move the curve diagonally.
    `drop_intermediate` drops the thresholds whose point lies on a straight segment between
    its neighbours (they change neither the plot nor the area). Equals scikit-learn's
    `roc_curve`, except that a single class in y_true raises ValueError here (scikit-learn
    warns and returns NaN rates).
    """
    y_true, scores = _binary_scores(y_true, scores)
    n_pos = int(y_true.sum())
    if n_pos in (0, len(y_true)):
        only = "negative" if n_pos == 0 else "positive"
        raise ValueError(
            f"y_true holds only {only} samples; a ROC curve needs both classes (scikit-learn "
            "warns and returns NaN instead)"
        )
    fps, tps, thresholds = _counts_by_threshold(y_true, scores)
    if drop_intermediate and len(fps) > 2:
        # a point is a corner when the slope changes there: a non-zero second difference
        corner = np.r_[True, (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), True]
        fps, tps, thresholds = fps[corner], tps[corner], thresholds[corner]
    fps, tps = np.r_[0, fps], np.r_[0, tps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """The area under the ROC curve of scores (N,) for 0/1 labels y_true (N,).

    It equals the probability that a random positive scores higher than a random negative, a
    tie counting 1/2 (the Mann-Whitney statistic). Equals scikit-learn's `roc_auc_score`, except
    that a single class raises ValueError here (scikit-learn >= 1.6 warns and returns NaN).
    """
    fpr, tpr, _ = roc_curve(y_true, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # the trapezoidal rule


def precision_recall_curve(
    y_true: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision (T + 1,), recall (T + 1,), thresholds (T,)), thresholds increasing.

    thresholds are the T distinct scores. Entry i is the precision and recall when the samples
    with score >= thresholds[i] are predicted positive; a final point (precision 1, recall 0)
    with no threshold ends the curve. Equals scikit-learn's `precision_recall_curve`. y_true
    must hold at least one positive.
    """
    y_true, scores = _binary_scores(y_true, scores)
    if not y_true.any():
        raise ValueError(
            "y_true holds no positive sample; recall is undefined (scikit-learn warns and sets "
            "it to 1)"
        )
    fps, tps, thresholds = _counts_by_threshold(y_true, scores)
    precision, recall = tps / (tps + fps), tps / tps[-1]  # tps + fps >= 1 at every threshold
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """The sum over thresholds of precision x (increase in recall): a step-wise area under the
    precision-recall curve, without interpolation. Equals scikit-learn's
    `average_precision_score`. y_true must hold at least one positive."""
    precision, recall, _ = precision_recall_curve(y_true, scores)
    return float(-np.sum(np.diff(recall) * precision[:-1]))


# ---------------------------------------------------------------------------------------------
# Calibration


class CalibrationCurve(NamedTuple):
    """The points of a reliability diagram, one per non-empty bin (B,): the fraction of
    positives `prob_true`, the mean predicted probability `prob_pred` and the `counts`."""

    prob_true: np.ndarray
    prob_pred: np.ndarray
    counts: np.ndarray


def calibration_curve(
    y_true: np.ndarray, probs: np.ndarray, *, n_bins: int = 10
) -> CalibrationCurve:
    """Bin predicted probabilities probs (N,) in [0, 1] into `n_bins` equal bins of [0, 1].

    For each non-empty bin: the observed fraction of positives among y_true (N,) (0/1), the
    mean of the probabilities and the number of samples. A calibrated model has
    prob_true = prob_pred. Bins are closed on the right ((0.1, 0.2], ...), except the first,
    [0, 0.1]. `prob_true` and `prob_pred` equal scikit-learn's
    `calibration_curve(y_true, probs, n_bins=n_bins)`.
    """
    y_true, probs = _binary_scores(y_true, probs)
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError("probs must be probabilities in [0, 1]")
    n_bins = check_int("n_bins", n_bins, minimum=1)
    inner_edges = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    bins = np.searchsorted(inner_edges, probs)  # side="left": an edge value joins the lower bin
    counts = np.bincount(bins, minlength=n_bins)
    summed = np.bincount(bins, weights=probs, minlength=n_bins)
    positives = np.bincount(bins, weights=y_true, minlength=n_bins)
    used = counts > 0
    return CalibrationCurve(
        positives[used] / counts[used], summed[used] / counts[used], counts[used]
    )


def expected_calibration_error(y_true: np.ndarray, probs: np.ndarray, *, n_bins: int = 10) -> float:
    """ECE = sum over bins of (bin size / N) * |fraction of positives - mean probability|.

    For a K-class model pass y_true = (predicted class == label) and probs = the probability of
    the predicted class: the gap between accuracy and confidence, bin by bin.
    """
    curve = calibration_curve(y_true, probs, n_bins=n_bins)
    gaps = np.abs(curve.prob_true - curve.prob_pred)
    return float(np.sum(curve.counts * gaps) / curve.counts.sum())


# ---------------------------------------------------------------------------------------------
# Generative models: mode coverage on a mixture of Gaussians


@shapes(samples="N D", means="K D")
def mode_coverage(
    samples: np.ndarray, means: np.ndarray, std: float, threshold: float = 3.0
) -> tuple[int, float]:
    """(modes covered, fraction of high-quality samples) of samples (N, D) from a mixture of K
    Gaussians with means (K, D) and a common standard deviation `std`.

    Each sample is assigned to its nearest mean. It is *high quality* when it lies within
    `threshold` standard deviations of that mean, and a mode is *covered* when at least one
    high-quality sample is assigned to it. This is the metric of VEEGAN (Srivastava et al.,
    2017) and PacGAN (Lin et al., 2018), who draw 2,500 samples. Raises ValueError for empty
    samples, mismatched D, repeated means or a std <= 0. Book: {ref}`sec-gen-modes`.
    """
    std = check_positive("std", std)
    threshold = check_positive("threshold", threshold)
    if len(np.unique(means, axis=0)) < len(means):
        # e.g. angles from np.linspace(0, 2 pi, 8), whose last angle repeats the first
        raise ValueError("means has repeated rows; expected K distinct mode means")
    # squared distances (N, K), then each sample's nearest mode and its distance
    d2 = ((samples[:, None, :] - means[None, :, :]) ** 2).sum(axis=-1)
    nearest = d2.argmin(axis=1)
    good = np.sqrt(d2[np.arange(len(samples)), nearest]) <= threshold * std
    covered = np.unique(nearest[good])
    return int(covered.size), float(good.mean())
