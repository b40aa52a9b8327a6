"""Display widgets the same way on ipywidgets 7.7 (what Colab preinstalls) and 8.x.

ipywidgets 8 gives every widget a `_repr_mimebundle_`; ipywidgets 7 has none and displays a
widget from `_ipython_display_` instead, which builds the same bundle, sends it with
`display(..., raw=True)` and then runs the widget's `on_displayed` callbacks. An explorer that
calls `widget._repr_mimebundle_()` therefore fails on 7.7.1 with AttributeError.

`widget_mimebundle(widget)` returns that bundle on both versions. `DisplayBundleMixin` gives a
class with `widget`, `png` and `note` attributes a `_repr_mimebundle_` built on it: the live
widget view, a static PNG of the default setting and a text note. The mixin deliberately has no
`_ipython_display_`: IPython (7.34 on Colab, 8+ elsewhere) calls `_repr_mimebundle_` itself, so
a cell ending in an explorer keeps an ordinary execute_result on every version.
"""

from __future__ import annotations

__all__ = ["DisplayBundleMixin", "IPYWIDGETS_MAJOR", "widget_mimebundle"]

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def _ipywidgets_major() -> int | None:
    try:
        from importlib.metadata import version

        return int(version("ipywidgets").split(".")[0])
    except Exception:  # not installed, or an unparsable version
        return None


IPYWIDGETS_MAJOR = _ipywidgets_major()


def widget_mimebundle(widget: object, include: object = None, exclude: object = None) -> dict:
    """The display bundle of an ipywidgets widget, on ipywidgets 7.x and 8.x alike.

    On 8.x this is `widget._repr_mimebundle_()`. On 7.x it is the bundle that 7.x's
    `_ipython_display_` would send (text/plain plus the widget-view reference, protocol version
    2.0, which both versions use); the widget's `on_displayed` callbacks run, as 7.x runs them
    when it displays a widget.
    """
    repr_bundle = getattr(widget, "_repr_mimebundle_", None)
    if callable(repr_bundle):
        return dict(repr_bundle(include=include, exclude=exclude) or {})
    plaintext = repr(widget)
    if len(plaintext) > 110:
        plaintext = plaintext[:110] + "…"
    bundle: dict = {"text/plain": plaintext}
    if getattr(widget, "_view_name", None) is not None:
        bundle[WIDGET_VIEW_MIME] = {
            "version_major": 2,
            "version_minor": 0,
            "model_id": widget._model_id,
        }
        handle_displayed = getattr(widget, "_handle_displayed", None)
        if callable(handle_displayed):
            handle_displayed()
    return bundle


class DisplayBundleMixin:
    """Display hooks for an object with `widget` (ipywidgets), `png` (base64) and `note` (str).

    The bundle holds the widget view (live in JupyterLab and Colab), `image/png` (what the HTML
    book shows, since `_config.yml` drops the widget view there) and `text/plain` (the note).
    """

    widget: object
    png: str
    note: str

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict:
        bundle = widget_mimebundle(self.widget, include=include, exclude=exclude)
        bundle["image/png"] = self.png
        bundle["text/plain"] = self.note
        return bundle
