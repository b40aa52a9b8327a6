"""dlbook.widgets.activation_gallery: its widget, static figure, text fallback and curves."""

import base64

import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import widgets
from dlbook.numpy.mlp import ACTIVATIONS
from dlbook.widgets import backprop
from dlbook.widgets.backprop import _activation_curves, _draw_activation

pytest.importorskip("ipywidgets")


def test_gallery_bundle_has_widget_png_and_note():
    bundle = widgets.activation_gallery()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert f"one of {len(ACTIVATIONS)} activations" in bundle["text/plain"]


def test_gallery_dropdown_offers_every_activation_and_redraws(monkeypatch):
    explorer = widgets.activation_gallery("tanh")
    choice, out = explorer.widget.children
    assert list(choice.options) == list(ACTIVATIONS) and choice.value == "tanh"
    drawn = []
    original = backprop._draw_activation

    def spy(ax, name, x):
        ax = original(ax, name, x)  # runs the layer's forward and backward
        drawn.append((name, ax.get_title()))
        return ax

    monkeypatch.setattr(backprop, "_draw_activation", spy)
    others = [name for name in ACTIVATIONS if name != "tanh"]
    for name in others:
        choice.value = name
    assert [name for name, _ in drawn] == others
    assert all(title.startswith(f"{name} (max f'") for name, title in drawn)


def test_curves_come_from_the_layers():
    x = np.linspace(-6, 6, 1201)
    f, df = _activation_curves("sigmoid", x)
    np.testing.assert_allclose(f, dnp.sigmoid(x), rtol=1e-15)
    assert df.max() == pytest.approx(0.25) and x[df.argmax()] == pytest.approx(0.0)
    _, dsoftplus = _activation_curves("softplus", x)
    np.testing.assert_allclose(dsoftplus, f, rtol=1e-14)  # softplus' = sigmoid
    _, drelu = _activation_curves("relu", x)
    assert np.array_equal(drelu, (x > 0).astype(float))


def test_drawn_lines_are_f_and_its_derivative():
    import matplotlib.pyplot as plt

    x = np.linspace(-3, 3, 61)
    _, ax = plt.subplots()
    _draw_activation(ax, "tanh", x)
    f_line, df_line = (line for line in ax.get_lines() if line.get_label() in ("f(x)", "f'(x)"))
    np.testing.assert_allclose(f_line.get_ydata(), np.tanh(x), rtol=1e-14)
    np.testing.assert_allclose(df_line.get_ydata(), 1 - np.tanh(x) ** 2, rtol=1e-12)
    assert ax.get_xlabel() == "x" and "tanh" in ax.get_title()


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"name": "swish"}, "activation"), ({"x_max": 0}, "x_max")]
)
def test_gallery_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.activation_gallery(**kwargs)
