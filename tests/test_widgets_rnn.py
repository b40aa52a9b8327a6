"""dlbook.widgets.sampling_distribution and temperature_explorer."""

from __future__ import annotations

import base64
import sys

import numpy as np
import pytest

from dlbook import widgets

pytest.importorskip("ipywidgets")


def test_sampling_distribution_temperature_and_top_k():
    logits = np.array([2.0, 1.0, 0.5, -1.0])
    p1 = widgets.sampling_distribution(logits, 1.0)
    np.testing.assert_allclose(p1, np.exp(logits) / np.exp(logits).sum())
    cold, hot = (widgets.sampling_distribution(logits, t) for t in (0.5, 2.0))
    assert cold[0] > p1[0] > hot[0]  # lower temperature: sharper
    entropy = [-(p * np.log(p)).sum() for p in (cold, p1, hot)]
    assert entropy[0] < entropy[1] < entropy[2]
    np.testing.assert_array_equal(widgets.sampling_distribution(logits, 0), [1, 0, 0, 0])
    top2 = widgets.sampling_distribution(logits, 1.0, top_k=2)
    np.testing.assert_allclose(top2[:2], p1[:2] / p1[:2].sum())
    assert np.all(top2[2:] == 0)
    batch = widgets.sampling_distribution(np.stack([logits, -logits]), 1.0, top_k=1)
    np.testing.assert_array_equal(batch, [[1, 0, 0, 0], [0, 0, 0, 1]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": -0.1}, "temperature must be >= 0"),
        ({"temperature": float("nan")}, "temperature must be finite"),
        ({"temperature": 1.0, "top_k": 0}, "top_k must be an int >= 1"),
    ],
)
def test_sampling_distribution_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.sampling_distribution(np.zeros(3), **kwargs)


def test_explorer_resamples_on_every_change():
    calls = []

    def sample(t, k, seed):
        calls.append((t, k, seed))
        return f"text at {t} {k} {seed}"

    ex = widgets.temperature_explorer(
        sample, logits=np.array([1.0, 0.0, -1.0]), symbols="ab\n", prompt="ab"
    )
    assert [c[0] for c in calls[:3]] == [0.5, 1.0, 1.5]  # the static figure: three temperatures
    bundle = ex._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert "T = 0.5, 1, 1.5" in bundle["text/plain"]
    (controls, _) = ex.widget.children
    temp, top_k, seed = controls.children
    n = len(calls)
    temp.value = 0.3
    top_k.value = 5
    seed.value = 7
    assert calls[n:] == [(0.3, None, 0), (0.3, 5, 0), (0.3, 5, 7)]


def test_explorer_bad_input():
    with pytest.raises(ValueError, match="symbols must be a string of 3 characters"):
        widgets.temperature_explorer(lambda t, k, s: "", logits=np.zeros(3), symbols="ab")
    with pytest.raises(ValueError, match="temperatures must be"):
        widgets.temperature_explorer(
            lambda t, k, s: "", logits=np.zeros(2), symbols="ab", temperatures=[-1.0]
        )


def test_widgets_module_does_not_import_torch():
    import subprocess

    code = "import dlbook.widgets.rnn, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
