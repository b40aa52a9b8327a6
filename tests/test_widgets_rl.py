"""dlbook.widgets.gridworld_explorer and draw_gridworld: widget, static figure, bad input."""

import base64

import matplotlib.pyplot as plt
import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import widgets

pytest.importorskip("ipywidgets")


def test_explorer_bundle_has_widget_png_and_note():
    explorer = widgets.gridworld_explorer()
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert "value iteration on a grid world" in bundle["text/plain"]


def test_sliders_redraw_with_the_new_setting():
    explorer = widgets.gridworld_explorer(["S.G"], gamma=0.5, slip=0.0)
    sliders = explorer.widget.children[0].children
    assert [s.description for s in sliders] == ["gamma", "slip", "step reward"]
    sliders[0].value = 0.95
    sliders[1].value = 0.4  # each change reruns value iteration without error
    assert sliders[0].value == 0.95


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"gamma": 1.0}, r"gamma must lie in \[0, 1\)"), ({"slip": 2.0}, r"slip must lie")],
)
def test_explorer_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.gridworld_explorer(**kwargs)


def test_draw_gridworld_marks_cells_arrows_and_path():
    env = dnp.cliff_walking()
    V, greedy = dnp.value_iteration(env.P, env.R, 0.9)
    fig, ax = plt.subplots()
    widgets.draw_gridworld(ax, env, V, greedy, path=[env.start, 12 * 2], title="cliff")
    image = ax.get_images()[0].get_array()
    assert image.shape == env.shape
    assert np.ma.is_masked(image[3, 5])  # a cliff cell is drawn grey
    arrows = [c for c in ax.texts if c.get_text() == ""]
    non_terminal = int((~env.terminal).sum()) - 10  # no arrows on the 10 cliff cells
    assert len(arrows) == non_terminal
    assert {t.get_text() for t in ax.texts} >= {"S", "G", "C"}
    assert ax.get_title() == "cliff" and len(ax.lines) == 1
