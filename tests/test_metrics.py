"""dlbook.metrics against scikit-learn on random inputs and edge cases, and on bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import metrics

sk = pytest.importorskip("sklearn.metrics")
sk_calibration = pytest.importorskip("sklearn.calibration")
from sklearn.exceptions import UndefinedMetricWarning  # noqa: E402

seeds = st.integers(0, 2**32 - 1)


def binary_case(seed: int, n: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels with both classes, and scores that are rounded to a few values when `ties`."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    y[:2] = [0, 1]
    scores = rng.normal(size=n) + y
    if ties:
        scores = np.round(scores)  # few distinct values: many ties
    return y, scores


# ---------------------------------------------------------------------------------------------
# Hard predictions


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(1, 60), k=st.integers(1, 6))
def test_confusion_matrix_and_accuracies_match_sklearn(seed, n, k):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, k, size=n), rng.integers(0, k, size=n)
    got = metrics.confusion_matrix(y_true, y_pred, num_classes=k)
    with warnings.catch_warnings():
        # sklearn warns about a single label, and about predicted classes absent from y_true
        warnings.simplefilter("ignore", UserWarning)
        want_cm = sk.confusion_matrix(y_true, y_pred, labels=range(k))
        want = sk.balanced_accuracy_score(y_true, y_pred)
    np.testing.assert_array_equal(got, want_cm)
    assert got.dtype == np.int64 and got.sum() == n
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert metrics.balanced_accuracy(y_true, y_pred) == pytest.approx(want, abs=1e-12)


def test_confusion_matrix_counts_correct_predictions_on_the_diagonal():
    y = np.array([0, 1, 2, 2, 1])
    cm = metrics.confusion_matrix(y, y)
    np.testing.assert_array_equal(cm, np.diag([1, 2, 2]))  # all correct: nothing off-diagonal
    cm = metrics.confusion_matrix([0, 0, 1], [1, 0, 1])
    np.testing.assert_array_equal(cm, [[1, 1], [0, 1]])  # row = true class, column = predicted


def test_confusion_matrix_default_size_and_single_class():
    np.testing.assert_array_equal(metrics.confusion_matrix([3, 3], [3, 3]), np.diag([0, 0, 0, 2]))
    np.testing.assert_array_equal(
        metrics.confusion_matrix([1, 1], [1, 1], num_classes=2), [[0, 0], [0, 2]]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # sklearn: "A single label was found"
        want = sk.confusion_matrix([1, 1], [1, 1], labels=[0, 1])
    np.testing.assert_array_equal(metrics.confusion_matrix([1, 1], [1, 1], num_classes=2), want)


def test_balanced_accuracy_of_a_majority_classifier_is_one_over_k():
    y_true = np.r_[np.zeros(90, int), np.ones(5, int), np.full(5, 2)]
    y_pred = np.zeros(100, int)
    assert metrics.accuracy(y_true, y_pred) == pytest.approx(0.9)
    assert metrics.balanced_accuracy(y_true, y_pred) == pytest.approx(1 / 3)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(1, 50), k=st.integers(2, 5))
def test_precision_recall_f1_match_sklearn(seed, n, k):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, k, size=n), rng.integers(0, k, size=n)
    for average in (None, "macro", "micro", "weighted"):
        got = metrics.precision_recall_f1(y_true, y_pred, average=average, num_classes=k)
        want = sk.precision_recall_fscore_support(
            y_true, y_pred, labels=range(k), average=average, zero_division=0
        )[:3]
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    b_true, b_pred = y_true % 2, y_pred % 2
    got = metrics.precision_recall_f1(b_true, b_pred)
    want = sk.precision_recall_fscore_support(b_true, b_pred, average="binary", zero_division=0)
    np.testing.assert_allclose(got, want[:3], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [
        ([1, 0, 1, 1], [1, 0, 1, 1]),  # all correct
        ([0, 0, 0], [0, 0, 0]),  # a single class, no positive at all: every ratio is 0/0
        ([1, 1, 1], [1, 1, 1]),  # a single class, all positive
        ([0, 0, 1], [0, 0, 0]),  # no predicted positive
    ],
)
def test_precision_recall_f1_edge_cases_match_sklearn(y_true, y_pred):
    got = metrics.precision_recall_f1(y_true, y_pred)
    want = sk.precision_recall_fscore_support(y_true, y_pred, average="binary", zero_division=0)
    np.testing.assert_allclose(got, want[:3])


def test_precision_recall_f1_binary_rejects_multiclass_labels():
    with pytest.raises(ValueError, match="average='binary' needs labels 0/1"):
        metrics.precision_recall_f1([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="average must be one of"):
        metrics.precision_recall_f1([0, 1], [0, 1], average="samples")


# ---------------------------------------------------------------------------------------------
# ROC, precision-recall, calibration


@settings(max_examples=50, deadline=None)
@given(seed=seeds, n=st.integers(2, 80), ties=st.booleans(), drop=st.booleans())
def test_roc_curve_and_auc_match_sklearn(seed, n, ties, drop):
    y, scores = binary_case(seed, n, ties)
    got = metrics.roc_curve(y, scores, drop_intermediate=drop)
    want = sk.roc_curve(y, scores, drop_intermediate=drop)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    assert metrics.roc_auc(y, scores) == pytest.approx(sk.roc_auc_score(y, scores), abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(seed=seeds, n=st.integers(2, 80), ties=st.booleans())
def test_precision_recall_curve_and_average_precision_match_sklearn(seed, n, ties):
    y, scores = binary_case(seed, n, ties)
    for g, w in zip(
        metrics.precision_recall_curve(y, scores),
        sk.precision_recall_curve(y, scores),
        strict=True,
    ):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    assert metrics.average_precision(y, scores) == pytest.approx(
        sk.average_precision_score(y, scores), abs=1e-12
    )


def test_auc_is_the_probability_that_a_positive_outscores_a_negative(rng):
    y, scores = binary_case(5, 40, ties=True)
    pos, neg = scores[y == 1], scores[y == 0]
    pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    assert metrics.roc_auc(y, scores) == pytest.approx(pairs.mean(), abs=1e-12)


def test_roc_edge_cases():
    y = np.array([0, 0, 1, 1])
    assert metrics.roc_auc(y, [0.1, 0.2, 0.8, 0.9]) == 1.0  # perfect ranking
    assert metrics.roc_auc(y, [0.9, 0.8, 0.2, 0.1]) == 0.0  # perfectly wrong
    assert metrics.roc_auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5  # all tied: the diagonal
    fpr, tpr, thr = metrics.roc_curve(y, [0.5] * 4)
    np.testing.assert_array_equal(fpr, [0, 1])
    np.testing.assert_array_equal(tpr, [0, 1])
    assert thr[0] == np.inf and thr[1] == 0.5


@pytest.mark.parametrize("y", [[1, 1, 1], [0, 0, 0]])
def test_single_class_roc_raises_where_sklearn_warns_or_raises(y):
    scores = [0.2, 0.5, 0.9]
    with pytest.raises(ValueError, match="a ROC curve needs both classes"):
        metrics.roc_curve(y, scores)
    with pytest.raises(ValueError, match="a ROC curve needs both classes"):
        metrics.roc_auc(y, scores)
    # what scikit-learn does instead (documented in dlbook.metrics)
    with pytest.warns(UndefinedMetricWarning):
        fpr, tpr, _ = sk.roc_curve(y, scores)
    assert np.isnan(fpr).all() or np.isnan(tpr).all()
    try:  # scikit-learn >= 1.6 warns and returns NaN (1.5: 0.0); before 1.5 it raised
        with pytest.warns(UndefinedMetricWarning, match="Only one class"):
            auc = sk.roc_auc_score(y, scores)
        assert np.isnan(auc) or auc == 0.0
    except ValueError as err:
        assert "Only one class" in str(err)


def test_precision_recall_curve_needs_a_positive_and_accepts_no_negative():
    with pytest.raises(ValueError, match="no positive sample"):
        metrics.precision_recall_curve([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="no positive sample"):
        metrics.average_precision([0, 0], [0.1, 0.2])
    got = metrics.precision_recall_curve([1, 1], [0.1, 0.2])
    for g, w in zip(got, sk.precision_recall_curve([1, 1], [0.1, 0.2]), strict=True):
        np.testing.assert_allclose(g, w)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, n=st.integers(1, 80), n_bins=st.integers(1, 12))
def test_calibration_curve_matches_sklearn(seed, n, n_bins):
    rng = np.random.default_rng(seed)
    probs = rng.uniform(size=n)
    probs[: n // 3] = np.round(probs[: n // 3], 1)  # values on the bin edges
    y = (rng.uniform(size=n) < probs).astype(int)
    got = metrics.calibration_curve(y, probs, n_bins=n_bins)
    want = sk_calibration.calibration_curve(y, probs, n_bins=n_bins)
    np.testing.assert_allclose(got.prob_true, want[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got.prob_pred, want[1], rtol=1e-12, atol=1e-12)
    assert got.counts.sum() == n and np.all(got.counts > 0)


def test_expected_calibration_error():
    y = np.array([0, 1, 1, 1])
    probs = np.array([0.05, 0.95, 0.95, 0.95])
    # bin [0, 0.1]: 0 of 1 positive, mean 0.05; bin (0.9, 1]: 3 of 3, mean 0.95
    assert metrics.expected_calibration_error(y, probs) == pytest.approx((1 * 0.05 + 3 * 0.05) / 4)
    assert metrics.expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0


# ---------------------------------------------------------------------------------------------
# Bad input


LABEL_FUNCS = [
    metrics.confusion_matrix,
    metrics.accuracy,
    metrics.balanced_accuracy,
    lambda a, b: metrics.precision_recall_f1(a, b, average="macro"),
]
SCORE_FUNCS = [
    metrics.roc_curve,
    metrics.roc_auc,
    metrics.precision_recall_curve,
    metrics.average_precision,
    metrics.calibration_curve,
    metrics.expected_calibration_error,
]


@pytest.mark.parametrize("fn", LABEL_FUNCS)
@pytest.mark.parametrize(
    ("y_true", "y_pred", "match"),
    [
        ([0, 1, 1], [0, 1], "same number of samples"),
        ([], [], "y_true is empty"),
        ([0, np.nan], [0, 1], "y_true contains NaN"),
        ([0, 1], [0, 1.5], "y_pred must hold integer class labels"),
        ([0, -1], [0, 1], "y_true must hold integer class labels"),
        ([[0, 1]], [[0, 1]], r"y_true must be a 1-D array"),
    ],
)
def test_label_metrics_reject_bad_input(fn, y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        fn(y_true, y_pred)


@pytest.mark.parametrize("fn", SCORE_FUNCS)
@pytest.mark.parametrize(
    ("y_true", "scores", "match"),
    [
        ([0, 1, 1], [0.1, 0.2], "same number of samples"),
        ([], [], "y_true is empty"),
        ([0, 1], [0.1, np.nan], "scores contains NaN"),
        ([0, 1], [0.1, np.inf], "scores contains inf"),
        ([0, 2], [0.1, 0.2], "y_true must hold binary labels"),
    ],
)
def test_score_metrics_reject_bad_input(fn, y_true, scores, match):
    with pytest.raises(ValueError, match=match):
        fn(y_true, scores)


def test_bad_num_classes_and_probabilities():
    with pytest.raises(ValueError, match="labels must be < num_classes = 2"):
        metrics.confusion_matrix([0, 2], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="num_classes must be an int"):
        metrics.confusion_matrix([0, 1], [0, 1], num_classes=0)
    with pytest.raises(ValueError, match=r"probs must be probabilities in \[0, 1\]"):
        metrics.calibration_curve([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="n_bins must be an int"):
        metrics.calibration_curve([0, 1], [0.5, 0.5], n_bins=0)


def test_booleans_are_labels():
    y_true = np.array([True, False, True])
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y_true, [True, True, True]), [[0, 1], [0, 2]]
    )
    assert metrics.roc_auc(y_true, [0.9, 0.1, 0.8]) == 1.0


def test_metrics_imports_neither_torch_nor_sklearn():
    import subprocess
    import sys

    code = (
        "import sys, dlbook.metrics\n"
        "print(','.join(m for m in ('torch', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
