"""A Sphinx extension that makes the HTML book typeset its math offline.

Sphinx loads MathJax from a CDN by default, so a reader without a network sees raw LaTeX. The
package `django-static-mathjax` (plain MathJax 3 files; it does not need Django) is installed by
requirements.txt; this extension copies the parts of it that the book uses into `_static/mathjax`
and points `mathjax_path` there. Without that package the CDN default is kept. Enabled in
`_config.yml` under `sphinx.extra_extensions`.
"""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

# tex-mml-chtml.js plus what it loads on demand: TeX extensions, CommonHTML fonts, menu, a11y.
_PARTS = ("tex-mml-chtml.js", "input", "output/chtml", "output/chtml.js", "ui", "a11y")
_TARGET = "mathjax"


def mathjax_source() -> Path | None:
    """The es5 folder of the installed MathJax 3 distribution, or None."""
    spec = find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / "tex-mml-chtml.js").is_file():
            return es5
    return None


def _configure(app: Sphinx, config: object) -> None:
    app.env_mathjax_source = mathjax_source()  # type: ignore[attr-defined]
    if app.env_mathjax_source is None:  # type: ignore[attr-defined]
        logger.info("dlbook.sphinxext: MathJax package not found; math loads from the CDN")
        return
    config.mathjax_path = f"{_TARGET}/tex-mml-chtml.js"


def _copy(app: Sphinx, exception: Exception | None) -> None:
    source = getattr(app, "env_mathjax_source", None)
    if exception is not None or source is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / _TARGET
    for part in _PARTS:
        src, dst = source / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        elif src.is_file():
            shutil.copy2(src, dst)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
