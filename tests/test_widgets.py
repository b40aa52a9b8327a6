"""dlbook.widgets: the perceptron stepper's widget, its static figure and its text fallback."""

import base64

import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import data, widgets
from dlbook.widgets import _update_points

pytest.importorskip("ipywidgets")


@pytest.fixture
def small():
    X, y, _ = data.linearly_separable(n=16, margin=0.15, seed=3)
    return X, y


def test_stepper_bundle_has_widget_png_and_note(small):
    explorer = widgets.perceptron_stepper(*small)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    n_updates = len(dnp.perceptron_train(*small, epochs=20).trajectory) - 1
    assert f"{n_updates} perceptron updates" in bundle["text/plain"]


def test_stepper_slider_spans_every_update(small):
    explorer = widgets.perceptron_stepper(*small)
    controls = explorer.widget.children[0]
    play, slider = controls.children
    n_updates = len(dnp.perceptron_train(*small, epochs=20).trajectory) - 1
    assert slider.max == play.max == n_updates > 0
    slider.value = n_updates  # redraws without error at the last frame
    assert slider.value == n_updates


def test_update_points_recovers_the_misclassified_examples(small):
    X, y = small
    lr = 0.5
    fit = dnp.perceptron_train(X, y, lr=lr)
    xs, ys = _update_points(fit.trajectory, lr)
    for x, label in zip(xs, ys, strict=True):
        matches = np.flatnonzero(np.all(np.isclose(X, x), axis=1))
        assert matches.size == 1 and y[matches[0]] == label


def test_stepper_rejects_non_2d_inputs():
    with pytest.raises(ValueError, match="X must"):
        widgets.perceptron_stepper(np.ones((4, 3)), np.array([1, -1, 1, -1]))
    with pytest.raises(ValueError, match="labels"):
        widgets.perceptron_stepper(np.ones((4, 2)), np.array([1, 2, 1, 2]))
