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
