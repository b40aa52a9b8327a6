"""dlbook.sphinxext serves MathJax from the book's own _static folder when it is installed."""

import types

import pytest

from dlbook import sphinxext


def test_finds_the_installed_mathjax():
    source = sphinxext.mathjax_source()
    if source is None:
        pytest.skip("django-static-mathjax is not installed")
    assert (source / "tex-mml-chtml.js").stat().st_size > 100_000
    assert (source / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_copies_the_needed_parts(tmp_path, monkeypatch):
    es5 = tmp_path / "es5"
    (es5 / "output" / "chtml" / "fonts").mkdir(parents=True)
    (es5 / "tex-mml-chtml.js").write_text("mathjax")
    (es5 / "output" / "chtml" / "fonts" / "a.woff").write_text("font")
    (es5 / "sre").mkdir()
    monkeypatch.setattr(sphinxext, "mathjax_source", lambda: es5)
    app = types.SimpleNamespace(
        outdir=str(tmp_path / "html"), builder=types.SimpleNamespace(format="html")
    )
    config = types.SimpleNamespace(mathjax_path="https://cdn.example/mathjax.js")
    sphinxext._configure(app, config)
    assert config.mathjax_path == "mathjax/tex-mml-chtml.js"
    sphinxext._copy(app, None)
    static = tmp_path / "html" / "_static" / "mathjax"
    assert (static / "tex-mml-chtml.js").read_text() == "mathjax"
    assert (static / "output" / "chtml" / "fonts" / "a.woff").exists()
    assert not (static / "sre").exists()  # speech support is left out


def test_keeps_the_cdn_without_the_package(monkeypatch):
    monkeypatch.setattr(sphinxext, "mathjax_source", lambda: None)
    app = types.SimpleNamespace()
    config = types.SimpleNamespace(mathjax_path="cdn")
    sphinxext._configure(app, config)
    assert config.mathjax_path == "cdn"


def test_chapter_bib_files_and_glossary_fragments_are_found(tmp_path):
    (tmp_path / "chapters" / "bib").mkdir(parents=True)
    (tmp_path / "chapters" / "glossary").mkdir()
    for name in ("rnn", "attention"):
        (tmp_path / "chapters" / "bib" / f"{name}.bib").write_text("")
        (tmp_path / "chapters" / "glossary" / f"{name}.md").write_text(
            f"```{{glossary}}\n{name}\n  x\n```\n"
        )
    assert sphinxext.chapter_bibfiles(tmp_path) == [
        "chapters/bib/attention.bib",
        "chapters/bib/rnn.bib",
    ]
    app = types.SimpleNamespace(confdir=str(tmp_path))
    config = types.SimpleNamespace(bibtex_bibfiles=["chapters/references.bib"])
    sphinxext._add_bibfiles(app, config)
    assert config.bibtex_bibfiles[1:] == ["chapters/bib/attention.bib", "chapters/bib/rnn.bib"]
    noted = []
    app.env = types.SimpleNamespace(note_dependency=noted.append)
    source = ["# Glossary\n"]
    sphinxext._append_glossary(app, "chapters/glossary", source)
    assert source[0].index("attention") < source[0].index("rnn") and len(noted) == 2
    other = ["# Other\n"]
    sphinxext._append_glossary(app, "chapters/cnn", other)
    assert other == ["# Other\n"]


def test_identical_scripts_are_kept_once():
    from sphinx.builders.html._assets import _JavaScript

    thebe = _JavaScript("", body="const THEBE_JS_URL = 'x'")
    context = {
        "script_files": [_JavaScript("a.js"), thebe, _JavaScript("", body="const T = 1"), thebe]
    }
    sphinxext._dedupe_scripts(None, "page", "page.html", context, None)
    bodies = [js.attributes.get("body") for js in context["script_files"]]
    assert bodies == [None, "const THEBE_JS_URL = 'x'", "const T = 1"]


def test_identical_scripts_of_different_priority_are_kept_once():
    from sphinx.builders.html._assets import _JavaScript

    a = _JavaScript("", body="const THEBE_JS_URL = 'x'", priority=500)
    b = _JavaScript("", body="const THEBE_JS_URL = 'x'", priority=800)
    context = {"script_files": [a, b]}
    sphinxext._dedupe_scripts(None, "page", "page.html", context, None)
    assert context["script_files"] == [a]
