"""A Sphinx extension for the book: offline math, and per-chapter bibliography and glossary files.

Each chapter keeps its BibTeX entries in `chapters/bib/<slug>.bib` and its glossary entries in
`chapters/glossary/<slug>.md`, so that adding a chapter edits no shared list: this extension
adds every `chapters/bib/*.bib` to `bibtex_bibfiles` and appends every glossary fragment, in
file-name order, to the page `chapters/glossary`.

Sphinx loads MathJax from a CDN by default, so a reader without a network sees raw LaTeX. The
package `django-static-mathjax` (plain MathJax 3 files; it does not need Django) is installed by
requirements.txt; this extension copies the parts of it that the book uses into `_static/mathjax`
and points `mathjax_path` there. Without that package the CDN default is kept. Enabled in
`_config.yml` under `sphinx.extra_extensions`.

Colab renders no MyST, so the Colab launch button of a chapter opens its Colab edition,
`colab/<slug>.ipynb` (written by `python -m dlbook.colab`), instead of `chapters/<slug>.ipynb`;
Binder and JupyterHub, which can run JupyterLab with jupyterlab-myst, keep the chapter itself.
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


BIB_GLOB = "chapters/bib/*.bib"
GLOSSARY_DOC = "chapters/glossary"
GLOSSARY_GLOB = "chapters/glossary/*.md"


def chapter_bibfiles(confdir: str | Path) -> list[str]:
    """The per-chapter .bib files under `confdir`, relative to it, sorted."""
    return sorted(p.relative_to(confdir).as_posix() for p in Path(confdir).glob(BIB_GLOB))


def glossary_fragments(confdir: str | Path) -> list[Path]:
    """The per-chapter glossary fragments under `confdir`, sorted by file name."""
    return sorted(Path(confdir).glob(GLOSSARY_GLOB))


def _add_bibfiles(app: Sphinx, config: object) -> None:
    listed = list(getattr(config, "bibtex_bibfiles", None) or [])
    config.bibtex_bibfiles = listed + [f for f in chapter_bibfiles(app.confdir) if f not in listed]


def _append_glossary(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != GLOSSARY_DOC:
        return
    for path in glossary_fragments(app.confdir):
        app.env.note_dependency(str(path))
        source[0] += "\n\n" + path.read_text(encoding="utf-8")


def _dedupe_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object
) -> None:
    """Keep the first copy of each identical script on a page.

    sphinx-thebe registers its inline configuration script twice, and the second `const`
    declaration is a JavaScript error on every page.
    """
    seen, unique = set(), []
    for js in context.get("script_files", []):
        attrs = getattr(js, "attributes", None) or {}
        name = getattr(js, "filename", None) or (js if isinstance(js, str) else "")
        key = (name, tuple(sorted((k, str(v)) for k, v in attrs.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


COLAB_EDITION = "colab"


def colab_edition_url(url: str, pagename: str) -> str | None:
    """The Colab launch URL `url` of page `pagename`, turned to its Colab edition.

    sphinx-book-theme builds `{colab_url}/github/{org}/{repo}/blob/{branch}/{path}{pagename}.ipynb`
    (header_buttons/launch.py); the edition of `chapters/<slug>` is `colab/<slug>.ipynb` beside
    `chapters/`. None when the page is not a chapter or the URL is not of that form.
    """
    folder, _, slug = pagename.rpartition("/")
    suffix = f"/{pagename}.ipynb"
    if folder != "chapters" or "/github/" not in url or not url.endswith(suffix):
        return None
    return f"{url[: -len(suffix)]}/{COLAB_EDITION}/{slug}.ipynb"


def _colab_launch_to_edition(
    app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object
) -> None:
    """Point the page's Colab launch button at its Colab edition (after the theme made it)."""
    options = getattr(app.config, "html_theme_options", None) or {}
    colab_url = str((options.get("launch_buttons") or {}).get("colab_url") or "").strip("/")
    if not colab_url:
        return
    slug = pagename.rpartition("/")[2]
    for group in context.get("header_buttons", []):
        if not isinstance(group, dict) or group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if not str(button.get("url", "")).startswith(f"{colab_url}/github/"):
                continue
            url = colab_edition_url(button["url"], pagename)
            if url is None:
                continue
            if not (Path(app.srcdir) / COLAB_EDITION / f"{slug}.ipynb").is_file():
                logger.warning(
                    f"{COLAB_EDITION}/{slug}.ipynb is missing: the Colab button opens the "
                    "MyST chapter. Run `python -m dlbook.colab`."
                )
                continue
            button["url"] = url


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
    app.connect("config-inited", _add_bibfiles)
    app.connect("source-read", _append_glossary)
    app.connect("html-page-context", _dedupe_scripts, priority=900)  # after sphinx-thebe
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", _colab_launch_to_edition, priority=600)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
