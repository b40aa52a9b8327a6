"""dlbook.data.gaussian_ring / gaussian_grid / gaussian_mixture: geometry, statistics, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from dlbook import data


def test_ring_has_distinct_equally_spaced_modes_on_the_circle():
    x, means = data.gaussian_ring(100, rng=np.random.default_rng(0))
    assert x.shape == (100, 2) and means.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 2.0)
    angles = np.sort(np.mod(np.arctan2(means[:, 1], means[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(np.diff(angles), 2 * np.pi / 8)  # 8 distinct, not 7
    np.testing.assert_allclose(means[0], [2.0, 0.0], atol=1e-15)


@pytest.mark.parametrize("modes", [1, 3, 8, 12])
def test_ring_mode_count_and_radius(modes):
    _, means = data.gaussian_ring(10, modes=modes, radius=1.5, rng=np.random.default_rng(0))
    assert len(np.unique(means.round(9), axis=0)) == modes
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 1.5)


def test_grid_is_5x5_centred_with_spacing_2():
    x, means = data.gaussian_grid(50, rng=np.random.default_rng(0))
    assert x.shape == (50, 2) and means.shape == (25, 2)
    assert sorted(set(means[:, 0])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert sorted(set(means[:, 1])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len(np.unique(means, axis=0)) == 25


def test_samples_have_the_stated_std_and_balanced_modes():
    x, means = data.gaussian_ring(40_000, std=0.05, rng=np.random.default_rng(1))
    k = np.linalg.norm(x[:, None] - means[None], axis=2).argmin(axis=1)
    counts = np.bincount(k, minlength=8)
    assert counts.min() > 4_500 and counts.max() < 5_500  # 5,000 expected per mode
    np.testing.assert_allclose((x - means[k]).std(axis=0), 0.05, rtol=0.03)


def test_seeded_rng_is_reproducible():
    a = data.gaussian_ring(20, rng=np.random.default_rng(7))[0]
    b = data.gaussian_ring(20, rng=np.random.default_rng(7))[0]
    np.testing.assert_array_equal(a, b)


def test_mixture_with_explicit_means():
    means = np.array([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    x = data.gaussian_mixture(200, means, 0.1, rng=np.random.default_rng(0))
    assert x.shape == (200, 3)
    assert np.all(np.minimum(np.abs(x).max(axis=1), np.abs(x - 10).max(axis=1)) < 1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: data.gaussian_ring(0, rng=r), "n"),
        (lambda r: data.gaussian_ring(10, modes=0, rng=r), "modes"),
        (lambda r: data.gaussian_ring(10, std=0.0, rng=r), "std"),
        (lambda r: data.gaussian_ring(10, radius=-1.0, rng=r), "radius"),
        (lambda r: data.gaussian_ring(10, rng=0), "rng"),
        (lambda r: data.gaussian_grid(10, side=0, rng=r), "side"),
        (lambda r: data.gaussian_grid(10, spacing=0, rng=r), "spacing"),
        (lambda r: data.gaussian_mixture(10, np.zeros(3), 0.1, rng=r), "means"),
    ],
)
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call(np.random.default_rng(0))
