"""dlbook.metrics.mode_coverage: hand-computed cases, a plain-loop reference, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlbook import data
from dlbook.metrics import mode_coverage


def coverage_loop(samples, means, std, threshold=3.0):
    """The definition, one sample at a time."""
    covered, good = set(), 0
    for x in samples:
        dists = [np.sqrt(np.sum((x - m) ** 2)) for m in means]
        k = int(np.argmin(dists))
        if dists[k] <= threshold * std:
            good += 1
            covered.add(k)
    return len(covered), good / len(samples)


MEANS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])


def test_hand_computed_case():
    samples = np.array(
        [
            [0.05, 0.0],  # mode 0, distance 0.05 <= 0.3: high quality
            [0.0, -0.2],  # mode 0, distance 0.2: high quality
            [0.6, 0.0],  # nearest mode 1, distance 0.4 > 0.3: low quality
            [0.5, 0.5],  # 0.707 from all three modes: assigned to mode 0, low quality
            [0.0, 1.29],  # mode 2, distance 0.29: high quality
        ]
    )
    modes, hq = mode_coverage(samples, MEANS, std=0.1)  # threshold 3 * 0.1 = 0.3
    assert modes == 2  # modes 0 and 2; mode 1 has only a low-quality sample
    assert hq == pytest.approx(3 / 5)


def test_threshold_is_inclusive_and_scales_with_std():
    samples = np.array([[0.3, 0.0], [1.0, 0.5]])
    assert mode_coverage(samples, MEANS, std=0.1) == (1, 0.5)  # distance exactly 0.3 counts
    assert mode_coverage(samples, MEANS, std=0.1, threshold=6.0) == (2, 1.0)
    assert mode_coverage(samples, MEANS, std=0.05) == (0, 0.0)


def test_perfect_samples_cover_every_mode():
    samples = np.repeat(MEANS, 4, axis=0)
    assert mode_coverage(samples, MEANS, std=1e-3) == (3, 1.0)


def test_samples_from_the_ring_itself_score_about_99_percent():
    # within 3 sigma of a 2-D Gaussian's mean: 1 - exp(-9/2) = 0.989
    x, means = data.gaussian_ring(20_000, rng=np.random.default_rng(0))
    modes, hq = mode_coverage(x, means, 0.02)
    assert modes == 8
    assert hq == pytest.approx(1 - np.exp(-4.5), abs=0.005)


def test_collapsed_samples_cover_one_mode():
    x, means = data.gaussian_ring(2500, rng=np.random.default_rng(1))
    collapsed = means[3] + 0.01 * np.random.default_rng(2).normal(size=(2500, 2))
    assert mode_coverage(collapsed, means, 0.02)[0] == 1
    assert mode_coverage(x, means, 0.02)[0] == 8


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 80),
    k=st.integers(1, 9),
    d=st.integers(1, 4),
    std=st.floats(0.05, 2.0),
    threshold=st.floats(0.5, 4.0),
)
def test_agrees_with_a_plain_loop(seed, n, k, d, std, threshold):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)) * 3
    samples = means[rng.integers(k, size=n)] + rng.normal(size=(n, d)) * std * 2
    got = mode_coverage(samples, means, std, threshold)
    want = coverage_loop(samples, means, std, threshold)
    assert got[0] == want[0]
    assert got[1] == pytest.approx(want[1], abs=1e-12)


def test_float32_input_works():
    x, means = data.gaussian_ring(500, rng=np.random.default_rng(3))
    assert mode_coverage(x.astype(np.float32), means.astype(np.float32), 0.02) == mode_coverage(
        x, means, 0.02
    )


def test_returns_python_numbers():
    modes, hq = mode_coverage(MEANS, MEANS, 0.1)
    assert type(modes) is int and type(hq) is float


@pytest.mark.parametrize(
    ("samples", "means", "std", "match"),
    [
        (np.zeros((4, 3)), MEANS, 0.1, "means"),  # D mismatch
        (np.zeros((0, 2)), MEANS, 0.1, "samples"),  # empty
        (np.zeros(2), MEANS, 0.1, "samples"),  # not 2-D
        (np.zeros((4, 2)), np.zeros((0, 2)), 0.1, "means"),
        (np.zeros((4, 2)), MEANS, 0.0, "std"),
        (np.zeros((4, 2)), MEANS, -1.0, "std"),
        (np.zeros((4, 2)), MEANS, np.nan, "std"),
        (np.full((4, 2), np.nan), MEANS, 0.1, "samples"),
    ],
)
def test_bad_input_raises(samples, means, std, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(samples, means, std)


def test_bad_threshold_raises():
    with pytest.raises(ValueError, match="threshold"):
        mode_coverage(MEANS, MEANS, 0.1, threshold=0)


def test_repeated_means_are_rejected():
    # the classic bug: np.linspace(0, 2 pi, 8) repeats its first angle, leaving 7 modes
    angles = np.linspace(0, 2 * np.pi, 8)
    means = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert len(np.unique(means.round(12), axis=0)) == 7
    with pytest.raises(ValueError, match="repeated"):
        mode_coverage(np.zeros((3, 2)), means.round(12), 0.02)
