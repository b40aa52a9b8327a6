"""dlbook.widgets.attention_explorer: widget, static figure, controls and bad input."""

import base64

import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import widgets

pytest.importorskip("ipywidgets")


def causal_weights(layers, heads, t, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(layers * heads, t, 4))
    _, cache = dnp.attention_forward(q, q, q, dnp.causal_mask(t))
    return cache.weights.reshape(layers, heads, t, t)


def test_bundle_has_widget_png_and_note():
    tokens = list("to be or")
    bundle = widgets.attention_explorer(tokens, causal_weights(1, 2, 8)[0])._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "2 heads and 8 positions" in bundle["text/plain"]


def test_sliders_cover_layers_heads_positions_and_redraw():
    explorer = widgets.attention_explorer(list("abcdef"), causal_weights(3, 2, 6), head=1)
    controls, out = explorer.widget.children
    layer, head, pos = controls.children
    assert (layer.max, head.max, pos.max) == (2, 1, 5)
    assert head.value == 1 and pos.value == 5  # default: the last position
    for slider, value in ((layer, 2), (head, 0), (pos, 0)):
        slider.value = value  # each redraws without error
    assert len(out.outputs) <= 1


def test_one_layer_has_no_layer_slider():
    explorer = widgets.attention_explorer(list("abc"), causal_weights(1, 2, 3)[0], position=1)
    assert [c.description for c in explorer.widget.children[0].children] == ["head", "position"]


def test_draw_attention_highlights_the_position():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    w = causal_weights(1, 1, 5)[0, 0]
    widgets.draw_attention(axes, list("ab cd"), w, 3, "one head")
    heights = [p.get_height() for p in axes[1].patches]
    np.testing.assert_allclose(heights, w[3])
    assert axes[0].get_title() == "one head" and "position 3" in axes[1].get_title()


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((list("abc"), np.ones((2, 3, 4)) / 4), {}, r"weights must have shape \(H, T, T\)"),
        ((list("abc"), np.ones((2, 3, 3))), {}, "each row summing to 1"),
        ((list("abc"), np.ones((2, 3, 3)) / 3), {"head": 2}, r"head must be in \[0, 2\)"),
        ((list("abc"), np.ones((2, 3, 3)) / 3), {"position": 3}, r"position must be in \[0, 3\)"),
    ],
)
def test_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.attention_explorer(*args, **kwargs)
