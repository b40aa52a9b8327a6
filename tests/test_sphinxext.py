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


def _launch_context(pagename: str) -> dict:
    """The header buttons sphinx-book-theme's add_launch_buttons leaves for `pagename`."""
    path = f"{pagename}.ipynb"
    return {
        "header_buttons": [
            {"type": "link", "label": "repository-button", "url": "https://github.com/o/r"},
            {
                "type": "group",
                "label": "launch-buttons",
                "buttons": [
                    {
                        "type": "link",
                        "text": "Binder",
                        "url": f"https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/{path}",
                    },
                    {
                        "type": "link",
                        "text": "JupyterHub",
                        "url": "https://hub.example.org/hub/user-redirect/git-pull?"
                        f"repo=https%3A//github.com/o/r&urlpath=lab/tree/r/{path}&branch=main",
                    },
                    {
                        "type": "link",
                        "text": "Colab",
                        "url": f"https://colab.research.google.com/github/o/r/blob/main/{path}",
                    },
                    {"type": "javascript", "text": "Live Code", "javascript": "initThebeSBT()"},
                ],
            },
        ]
    }


def _launch_app(srcdir) -> types.SimpleNamespace:
    options = {"launch_buttons": {"colab_url": "https://colab.research.google.com/"}}
    return types.SimpleNamespace(
        srcdir=str(srcdir), config=types.SimpleNamespace(html_theme_options=options)
    )


def _urls(context: dict) -> dict[str, str]:
    group = context["header_buttons"][1]
    return {b["text"]: b.get("url") for b in group["buttons"]}


def test_colab_button_opens_the_colab_edition(tmp_path):
    (tmp_path / "colab").mkdir()
    (tmp_path / "colab" / "rnn.ipynb").write_text("{}")
    context = _launch_context("chapters/rnn")
    before = _urls(context)
    sphinxext._colab_launch_to_edition(_launch_app(tmp_path), "chapters/rnn", "", context, None)
    after = _urls(context)
    assert (
        after["Colab"] == "https://colab.research.google.com/github/o/r/blob/main/colab/rnn.ipynb"
    )
    # Binder and JupyterHub run JupyterLab, which renders MyST: they keep the chapter itself
    assert {k: v for k, v in after.items() if k != "Colab"} == {
        k: v for k, v in before.items() if k != "Colab"
    }
    assert "chapters/rnn.ipynb" in after["Binder"] and "chapters/rnn.ipynb" in after["JupyterHub"]


def test_colab_button_is_kept_without_an_edition_or_outside_chapters(tmp_path, caplog):
    context = _launch_context("chapters/rnn")
    before = _urls(context)
    sphinxext._colab_launch_to_edition(_launch_app(tmp_path), "chapters/rnn", "", context, None)
    assert _urls(context) == before  # no colab/rnn.ipynb: the button is left as it was
    assert "python -m dlbook.colab" in caplog.text
    other = _launch_context("intro")
    sphinxext._colab_launch_to_edition(_launch_app(tmp_path), "intro", "", other, None)
    assert _urls(other)["Colab"].endswith("/blob/main/intro.ipynb")
    assert sphinxext.colab_edition_url("https://example.org/x.ipynb", "chapters/x") is None
    assert (
        sphinxext.colab_edition_url(
            "https://colab.research.google.com/github/o/r/blob/dev/book/chapters/cnn.ipynb",
            "chapters/cnn",
        )
        == "https://colab.research.google.com/github/o/r/blob/dev/book/colab/cnn.ipynb"
    )
