"""The learner's client: a chapter opened in JupyterLab, in headless Chromium.

Starts `jupyter lab` on 127.0.0.1 with a token on a copy of the perceptron chapter (so the
repository's notebook is never autosaved), and checks that jupyterlab-myst renders the book's
markup (no raw MyST role, directive or label left in the prose), that the setup cell and the
chapter's explorer cell run, that the explorer's slider is in the DOM, and that moving it
changes the plotted figure. The server, its kernel and the browser are stopped in every case.
"""

from __future__ import annotations

import json
import re
import shutil
import time

import pytest
from clients.chromium import ROOT, SCREENSHOTS, browser_context, jupyter_lab, require_chromium

pytestmark = pytest.mark.jupyterlab

CHAPTER = ROOT / "chapters" / "perceptron.ipynb"

# What MyST source looks like when nothing rendered it.
RAW_MYST = [
    ("role", re.compile(r"\{[a-zA-Z][\w:+.-]*\}`")),
    ("directive (colon fence)", re.compile(r"(^|\n)\s*:{3,}\s*\{?[a-zA-Z]")),
    ("directive (backtick fence)", re.compile(r"`{3,}\s*\{[a-zA-Z]")),
    ("target label", re.compile(r"(^|\n)\s*\([\w:.-]+\)=")),
    ("directive option", re.compile(r"(^|\n):(class|label|name|open):\s")),
]


def _cells() -> tuple[int, int]:
    """Indices of the setup cell and of the first explorer cell of the chapter."""
    nb = json.loads(CHAPTER.read_text(encoding="utf-8"))
    setup = explorer = None
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if setup is None and "google.colab" in source:
            setup = i
        elif explorer is None and re.search(r"^widgets\.\w+\(", source, re.M):
            explorer = i
    assert setup is not None and explorer is not None, "no setup or explorer cell in the chapter"
    return setup, explorer


_SETTINGS = {
    # render every cell, so the whole notebook's prose can be read from the DOM
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

_RUN_CELL = """async (index) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  panel.content.activeCellIndex = index;
  await app.commands.execute("notebook:run-cell");
  return index;
}"""

_CELL_STATE = """(index) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cell = panel.content.widgets[index];
  const errors = [...cell.node.querySelectorAll(
    '[data-mime-type="application/vnd.jupyter.stderr"], [data-mime-type*="error"]')];
  return {
    count: cell.model.executionCount,
    busy: panel.sessionContext.session?.kernel?.status,
    errors: errors.map((e) => e.textContent.slice(0, 2000)),
  };
}"""


def _wait_for_cell(page, index: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(_CELL_STATE, index)
        if state["count"] and state["busy"] == "idle":
            if any("Traceback" in e or "Error" in e for e in state["errors"]):
                raise AssertionError(f"cell {index} failed:\n" + "\n".join(state["errors"]))
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"cell {index} did not finish in {timeout} s: {state}")
        time.sleep(0.5)


def test_chapter_in_jupyterlab(tmp_path):
    require_chromium()
    pytest.importorskip("jupyterlab_myst", reason="jupyterlab-myst is not installed")
    setup, explorer = _cells()
    work = tmp_path / "lab"
    work.mkdir()
    shutil.copy(CHAPTER, work / CHAPTER.name)

    with jupyter_lab(work, settings=_SETTINGS) as (base, token), browser_context() as context:
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(f"uncaught JS error: {e}"))
        page.goto(f"{base}lab/tree/{CHAPTER.name}?token={token}", timeout=120_000)
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.content"
            " && window.jupyterapp.shell.currentWidget.content.widgets.length > 0",
            timeout=120_000,
        )
        page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status"
            " === 'idle'",
            timeout=120_000,
        )

        # 1. The prose: every markdown cell rendered by jupyterlab-myst, no raw MyST left.
        page.wait_for_function(
            """() => {
              const cells = [...document.querySelectorAll('.jp-MarkdownCell')];
              return cells.length > 0 && cells.every((c) => c.innerText.trim().length > 0);
            }""",
            timeout=120_000,
        )
        time.sleep(1.0)  # let the last renders settle
        prose = page.eval_on_selector_all(
            ".jp-MarkdownCell",
            """els => els.map((cell) => {
              const c = cell.cloneNode(true);
              c.querySelectorAll('.jp-InputArea-editor, .jp-Cell-header, .jp-cell-toolbar,'
                + ' .jp-InputPrompt, pre, code, .katex, mjx-container, .MathJax, math')
                .forEach((x) => x.remove());
              return c.textContent;
            })""",
        )
        assert prose, "no rendered markdown cells found"
        for number, text in enumerate(prose):
            for kind, pattern in RAW_MYST:
                for match in pattern.finditer(text):
                    snippet = text[max(0, match.start() - 40) : match.end() + 40]
                    problems.append(f"markdown cell {number}: raw MyST {kind}: ...{snippet!r}...")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-perceptron.png"))

        # 2. The setup cell and the explorer cell run.
        page.evaluate(_RUN_CELL, setup)
        _wait_for_cell(page, setup, 180)
        page.evaluate(_RUN_CELL, explorer)
        _wait_for_cell(page, explorer, 120)

        # 3. The explorer's slider is in the DOM and moving it redraws the figure.
        cell = page.locator(".jp-Notebook .jp-Cell").nth(explorer)
        slider = cell.locator(".widget-slider").first
        slider.wait_for(state="visible", timeout=60_000)
        figure = cell.locator(".widget-output img").first
        figure.wait_for(state="visible", timeout=60_000)
        before = figure.get_attribute("src")
        readout = cell.locator(".widget-slider .widget-readout").first
        old_value = readout.inner_text().strip()
        slider.locator(".noUi-handle, .ui-slider-handle").first.focus()
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.wait_for_function(
            """([sel, old]) => {
              const img = document.querySelectorAll('.jp-Notebook .jp-Cell')[sel]
                .querySelector('.widget-output img');
              return img && img.getAttribute('src') !== old;
            }""",
            arg=[explorer, before],
            timeout=60_000,
        )
        new_value = readout.inner_text().strip()
        page.wait_for_function(  # the redraws queued by the three key presses are done
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel?.status"
            " === 'idle'",
            timeout=60_000,
        )
        time.sleep(1.0)
        page.evaluate(
            "(i) => document.querySelectorAll('.jp-Notebook .jp-Cell')[i].scrollIntoView()",
            explorer,
        )
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab-perceptron-widget.png"))
        assert new_value != old_value, f"the slider did not move (readout {old_value!r})"
        assert figure.get_attribute("src") != before, "moving the slider did not redraw"
        page.close()
    assert not problems, "JupyterLab:\n  " + "\n  ".join(problems)
