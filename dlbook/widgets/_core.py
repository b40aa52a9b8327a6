"""The explorer skeleton shared by every chapter's widgets.

An explorer is three things: ipywidgets controls, a draw function that renders the current
setting of the controls onto fresh Axes, and a static matplotlib figure of the default setting.
`explorer(...)` wires them together and returns an `Explorer`. In JupyterLab or Colab it
displays as a live widget; its display data also carries a PNG of the static figure, which the
HTML book shows (the book's `_config.yml` drops the widget view for HTML builders, so no page
needs the widget manager from a CDN), and a text note for plain-text front ends.

A chapter module writes only the chapter-specific parts::

    fig, axes = panel_grid(3, cols=3, size=(4, 3))     # the static figure
    ...draw every panel...
    choice = ipywidgets.Dropdown(options=..., description="activation")
    return explorer(
        fig, [choice], lambda ax: draw_one(ax, choice.value), figsize=(5, 4),
        note="pick one of 6 activations to see f and f'",
    )

Never imports torch; ipywidgets is imported only when an explorer is built.
"""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

__all__: list[str] = []  # private to the package: chapter modules import from here

_RUN_HINT = "Run this notebook in JupyterLab or Colab to use it."


class Explorer:
    """A widget plus a static figure of its default state.

    `widget` is an ipywidgets widget; `figure` a matplotlib Figure drawn at the default setting
    (stored as a PNG and closed); `note` the text shown where neither can be displayed;
    `redraw()` draws the current setting of the controls again (a no-op if not given).
    """

    def __init__(
        self,
        widget: object,
        figure: Figure,
        note: str,
        *,
        redraw: Callable[..., None] | None = None,
    ) -> None:
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(figure)
        self.widget = widget
        self.png = base64.b64encode(buf.getvalue()).decode("ascii")
        self.note = note
        self.redraw = redraw if redraw is not None else (lambda change=None: None)

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
        # ipywidgets 7.7 (Colab) has no Widget._repr_mimebundle_: see dlbook/widgets/_compat.py
        from dlbook.widgets._compat import widget_mimebundle

        bundle = widget_mimebundle(self.widget, include=include, exclude=exclude)
        bundle["image/png"] = self.png
        bundle["text/plain"] = self.note
        return bundle


@contextlib.contextmanager
def _live_figure(out: object, *args: object, **kwargs: object) -> Iterator[tuple]:
    """Draw a fresh figure into the ipywidgets Output `out`: yields (fig, axes) from
    plt.subplots(*args, **kwargs), then lays it out, shows it in `out` and closes it."""
    from IPython.display import display

    with out:
        out.clear_output(wait=True)
        fig, axes = plt.subplots(*args, **kwargs)
        try:
            yield fig, axes
            fig.tight_layout()
            display(fig)
        finally:
            plt.close(fig)


def panel_grid(
    n: int, *, cols: int, size: tuple[float, float], **kwargs: Any
) -> tuple[Figure, list[plt.Axes]]:
    """A figure with `n` panels of `size` inches in rows of `cols`; unused cells are hidden.

    Returns the figure and the list of its first `n` Axes (row by row).
    """
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False, **kwargs
    )
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _has_value(widget: object) -> bool:
    has_trait = getattr(widget, "has_trait", None)
    return bool(has_trait and has_trait("value"))


def explorer(
    figure: Figure,
    rows: Sequence[object],
    draw: Callable[[Any], str | None],
    *,
    note: str,
    figsize: tuple[float, float],
    subplots: tuple[int, int] = (1, 1),
    watch: Iterable[object] | None = None,
) -> Explorer:
    """Wire controls, a draw function and a static figure into an `Explorer`.

    figure   the static figure of the default setting, for the HTML book.
    rows     the controls, top to bottom: a widget, or a list of widgets laid out in a row.
    draw     draw(axes) renders the current setting onto the Axes of a fresh
             plt.subplots(*subplots, figsize=figsize); if it returns a string, a text line
             under the controls shows it.
    note     what the explorer lets the reader do; the text fallback says it and how to run it.
    watch    the controls whose value changes redraw (default: every control in `rows` that
             has a value).

    The widget is a VBox of the rows (each list becomes an HBox), the text line (if any) and
    the live figure. The returned Explorer's `redraw()` draws again, for controls that need
    their own handlers.
    """
    import ipywidgets as widgets

    boxes = [widgets.HBox(list(row)) if isinstance(row, list | tuple) else row for row in rows]
    if watch is None:
        flat = [w for row in rows for w in (row if isinstance(row, list | tuple) else [row])]
        watch = [w for w in flat if _has_value(w)]
    text = widgets.HTML()
    out = widgets.Output()

    def redraw(change: object = None) -> None:
        with _live_figure(out, *subplots, figsize=figsize) as (_, axes):
            result = draw(axes)
        if result is not None:
            text.value = result

    redraw()
    for w in watch:
        w.observe(redraw, names="value")
    children = [*boxes, text, out] if text.value else [*boxes, out]
    widget = widgets.VBox(children)
    return Explorer(widget, figure, f"[Interactive: {note}. {_RUN_HINT}]", redraw=redraw)


def finite_number(name: str, value: object) -> float:
    """`value` as a float if it is a finite real number (not a bool), else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{name} must be a number; got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return float(value)
