"""dlbook.widgets: the perceptron stepper's widget, its static figure and its text fallback."""

import base64

import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import data, widgets
from dlbook.widgets import perceptron
from dlbook.widgets.perceptron import _update_points

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


def test_stepper_slider_spans_every_update_and_redraws_its_frame(small, monkeypatch):
    explorer = widgets.perceptron_stepper(*small)
    controls = explorer.widget.children[0]
    play, slider = controls.children
    fit = dnp.perceptron_train(*small, epochs=20)
    n_updates = len(fit.trajectory) - 1
    assert slider.max == play.max == n_updates > 0
    drawn = []
    original = perceptron._draw_perceptron_step

    def spy(ax, X, y, trajectory, k, lr):
        ax = original(ax, X, y, trajectory, k, lr)
        drawn.append((k, ax.get_title()))
        return ax

    monkeypatch.setattr(perceptron, "_draw_perceptron_step", spy)
    slider.value = n_updates  # moving the slider draws the last frame
    w = fit.trajectory[-1]
    assert len(drawn) == 1 and drawn[0][0] == n_updates
    assert drawn[0][1].startswith(f"after {n_updates} updates: w = ({w[0]:.2f}, {w[1]:.2f})")


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
    with pytest.raises(ValueError, match="panels must be an int >= 1"):
        widgets.perceptron_stepper(np.ones((2, 2)), np.array([1, -1]), panels=0)
