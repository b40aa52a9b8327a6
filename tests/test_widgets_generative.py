"""dlbook.widgets.gan_snapshot_explorer and denoising_explorer: bundle, controls, bad input."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from dlbook import data, widgets

pytest.importorskip("ipywidgets")


def snapshots(n=6):
    rng = np.random.default_rng(0)
    x, means = data.gaussian_ring(300, rng=rng)
    frames = [means[rng.integers(0, 1 + i, size=300)] + 0.01 * rng.normal(size=(300, 2))
              for i in range(n)]  # fmt: skip
    return [100 * (i + 1) for i in range(n)], frames, means


def test_snapshot_explorer_bundle_and_slider():
    steps, frames, means = snapshots()
    ex = widgets.gan_snapshot_explorer(steps, frames, means, 0.02)
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "6 snapshots" in bundle["text/plain"] and "shows 4" in bundle["text/plain"]
    slider, text, _ = ex.widget.children
    assert slider.value == 5 and text.value.startswith("step 600: 6/8 modes")
    slider.value = 0
    assert text.value.startswith("step 100: 1/8 modes")


def test_snapshot_explorer_with_few_snapshots_shows_them_all():
    steps, frames, means = snapshots(2)
    ex = widgets.gan_snapshot_explorer(steps, frames, means, 0.02)
    assert "shows 2" in ex.note


def test_snapshot_explorer_bad_input():
    steps, frames, means = snapshots()
    with pytest.raises(ValueError, match="same length"):
        widgets.gan_snapshot_explorer(steps[:-1], frames, means, 0.02)
    with pytest.raises(ValueError, match=r"samples\[0\]"):
        widgets.gan_snapshot_explorer(steps, [f[:, :1] for f in frames], means, 0.02)


def denoise_inputs():
    rng = np.random.default_rng(1)
    clean = rng.uniform(size=(3, 8, 8))
    levels = [0.1, 0.3]
    noisy = {s: clean + s * rng.normal(size=clean.shape) for s in levels}
    outs = {"model": {s: np.clip(noisy[s], 0, 1) for s in levels}}
    return clean, noisy, outs


def test_denoising_explorer_reports_errors_per_level():
    clean, noisy, outs = denoise_inputs()
    ex = widgets.denoising_explorer(clean, noisy, outs)
    slider, text, _ = ex.widget.children
    assert slider.value == 0.3 and "model: MSE" in text.value
    before = text.value
    slider.value = 0.1
    assert text.value != before
    assert "0.1, 0.3" in ex.note


def test_denoising_explorer_bad_input():
    clean, noisy, outs = denoise_inputs()
    with pytest.raises(ValueError, match="noise levels"):
        widgets.denoising_explorer(clean, noisy, {"model": {0.1: clean}})
    with pytest.raises(ValueError, match="level"):
        widgets.denoising_explorer(clean, noisy, outs, level=0.2)
    with pytest.raises(ValueError, match="noisy"):
        widgets.denoising_explorer(clean, {s: v[:, :4] for s, v in noisy.items()}, outs)
