"""Progress bars for long runs: `tqdm` in a terminal, a widget bar in Jupyter.

In a notebook the bar is displayed with a display id and re-displayed when it closes, so a
notebook executed by the book build or nbval stores the *final* state of the bar (its text form
is what the HTML book shows), not the empty bar it started with. Quiet under `DLBOOK_QUIET`
(any value but "", "0", "false", "no") and when there is neither a terminal nor a kernel.
Never imports torch.
"""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm

__all__ = ["progress_bar", "show_progress"]


def _in_jupyter_kernel() -> bool:
    # ipykernel alone is not enough: pytest plugins such as nbval import it without a kernel.
    if "ipykernel" not in sys.modules:
        return False
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return getattr(shell, "kernel", None) is not None


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw a bar: `progress` if given, else in a terminal or a Jupyter kernel."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("DLBOOK_QUIET", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    if _in_jupyter_kernel():
        return True
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(total: int, *, desc: str, unit: str = "it", progress: bool | None = None) -> tqdm:
    """A tqdm bar of `total` steps; call `.update(1)` per step and `.close()` at the end."""
    enabled = show_progress(progress)
    if enabled and _in_jupyter_kernel():
        try:
            return _notebook_bar(total=total, desc=desc, unit=unit)
        except Exception:  # no usable ipywidgets: tqdm's text bar still works
            pass
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled)


def _notebook_bar(**kwargs: object) -> tqdm:
    from IPython.display import display
    from tqdm.notebook import tqdm as notebook_tqdm

    class StoredFinalState(notebook_tqdm):
        def __init__(self, **kw: object) -> None:
            self._handle = None  # set first: tqdm's __del__ calls close() even if init fails
            try:
                super().__init__(display=False, **kw)
            except Exception:
                self.disable = True  # makes that close() a no-op
                raise
            self._handle = display(self.container, display_id=True)

        def close(self) -> None:
            # once only: tqdm also calls close() from __del__, when the bar is half gone
            handle, self._handle = self._handle, None
            super().close()
            if handle is not None:  # replace the stored output with the final bar
                handle.update(self.container)

    return StoredFinalState(**kwargs)
