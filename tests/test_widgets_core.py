"""dlbook.widgets._core: the explorer skeleton every chapter's widgets are built on."""

import base64

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlbook.widgets._core import Explorer, _live_figure, explorer, finite_number, panel_grid

widgets = pytest.importorskip("ipywidgets")


def static_figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    return fig


def test_rows_text_and_note_make_the_widget_and_its_fallbacks():
    a, b = widgets.IntSlider(value=1), widgets.IntSlider(value=2)
    choice = widgets.Dropdown(options=["x", "y"], value="x")
    fig = static_figure()
    calls = []

    def draw(axes):
        calls.append(len(axes))
        axes[0].set_title(f"{a.value} {b.value} {choice.value}")
        return f"a = {a.value}, b = {b.value}, choice = {choice.value}"

    result = explorer(fig, [[a, b], choice], draw, subplots=(1, 2), figsize=(4, 2), note="try")
    assert isinstance(result, Explorer) and calls == [2]  # drawn once, on two fresh axes
    row, single, text, out = result.widget.children
    assert isinstance(row, widgets.HBox) and list(row.children) == [a, b]
    assert single is choice and isinstance(out, widgets.Output)
    assert text.value == "a = 1, b = 2, choice = x"
    assert not plt.fignum_exists(fig.number)  # the static figure is stored, then closed
    bundle = result._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert bundle["text/plain"] == (
        "[Interactive: try. Run this notebook in JupyterLab or Colab to use it.]"
    )


def test_every_control_with_a_value_redraws_by_default():
    a, b = widgets.FloatSlider(value=0.5), widgets.Checkbox(value=False)
    seen = []
    result = explorer(
        static_figure(),
        [[a, widgets.Label("hint"), b]],
        lambda ax: seen.append((a.value, b.value)),
        figsize=(2, 2),
        note="n",
    )
    a.value = 0.25
    b.value = True
    assert seen == [(0.5, False), (0.25, False), (0.25, True)]
    assert len(result.widget.children) == 2  # draw returns None: no text line
    result.redraw()
    assert len(seen) == 4


def test_watch_limits_the_redraws():
    fast, slow = widgets.IntSlider(value=0), widgets.IntSlider(value=0)
    seen = []
    explorer(
        static_figure(),
        [[fast, slow]],
        lambda ax: seen.append(fast.value + slow.value),
        figsize=(2, 2),
        note="n",
        watch=[slow],
    )
    fast.value = 5  # not watched: no redraw
    slow.value = 1
    assert seen == [0, 6]


def test_live_figure_closes_its_figure_even_when_drawing_fails():
    out = widgets.Output()
    before = set(plt.get_fignums())
    with pytest.raises(RuntimeError), _live_figure(out, figsize=(2, 2)):
        raise RuntimeError("draw failed")
    assert set(plt.get_fignums()) == before


@pytest.mark.parametrize(("n", "cols", "shape"), [(6, 3, (2, 3)), (5, 3, (2, 3)), (2, 3, (1, 2))])
def test_panel_grid_hides_the_unused_cells(n, cols, shape):
    fig, axes = panel_grid(n, cols=cols, size=(2.0, 1.5))
    assert len(axes) == n and all(ax.get_visible() for ax in axes)
    everything = fig.get_axes()
    assert len(everything) == shape[0] * shape[1]
    assert sum(not ax.get_visible() for ax in everything) == len(everything) - n
    np.testing.assert_allclose(fig.get_size_inches(), (2.0 * shape[1], 1.5 * shape[0]))
    plt.close(fig)


@pytest.mark.parametrize(
    ("value", "match"),
    [(True, "must be a number"), ("0.5", "must be a number"), (np.inf, "must be finite")],
)
def test_finite_number_rejects_what_is_not_one(value, match):
    with pytest.raises(ValueError, match=f"threshold {match}"):
        finite_number("threshold", value)
    assert finite_number("threshold", np.float32(0.5)) == 0.5
