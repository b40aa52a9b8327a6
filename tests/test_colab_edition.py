"""dlbook.colab: the Colab edition says everything the chapters say, without MyST markup."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import nbformat
import pytest

from dlbook import colab

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))

# Raw MyST as a reader of Colab would see it. Checked outside fenced code and code spans.
RAW_MYST = {
    "role": re.compile(r"\{[A-Za-z][\w:.+-]*\}`"),
    "colon fence": re.compile(r"^[ \t>]*:::", re.M),
    "backtick directive": re.compile(r"^[ \t>]*```+[ \t]*\{", re.M),
    "target label": re.compile(r"^[ \t>]*\([^()\s]+\)=[ \t]*$", re.M),
    "labelled $$": re.compile(r"\$\$[ \t]*\([^()\s]+\)[ \t]*$", re.M),
}
_FENCED = re.compile(r"^[ \t>]*(`{3,}|~{3,})(?![ \t]*\{).*?^[ \t>]*\1[ \t]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(?<![`}])(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)


def raw_myst(markdown: str) -> list[str]:
    """The kinds of raw MyST markup in `markdown`, outside code."""
    outside_blocks = _FENCED.sub("", markdown)
    outside_code = _CODE_SPAN.sub("", outside_blocks)  # roles are checked outside code spans
    return [
        name
        for name, pattern in RAW_MYST.items()
        if pattern.search(outside_code if name == "role" else outside_blocks)
    ]


@cache
def book() -> colab.Book:
    return colab.Book.load(ROOT)


@cache
def edition(slug: str) -> nbformat.NotebookNode:
    return colab.colab_notebook(book(), slug)


def convert(text: str, slug: str = "perceptron") -> str:
    return colab.convert_markdown(book(), slug, text)


def test_the_raw_myst_check_finds_markup():
    """The check used below must be able to fail."""
    assert raw_myst("see {ref}`sec-x` and {footcite}`a`") == ["role"]
    assert raw_myst(":::{note}\nx\n:::") == ["colon fence"]
    assert raw_myst("```{footbibliography}\n```") == ["backtick directive"]
    assert raw_myst("(sec-x)=\n# Title") == ["target label"]
    assert raw_myst("$$\nx\n$$ (eq-x)") == ["labelled $$"]
    assert raw_myst("`{ref}` is a role:\n```python\n(x)=\n```") == []


def test_every_chapter_is_in_the_edition():
    assert sorted(book().chapters) == sorted(p.stem for p in CHAPTERS)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_raw_myst_remains(path):
    nb = edition(path.stem)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            assert not raw_myst(cell.source), f"{path.stem} cell {index}: {raw_myst(cell.source)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_code_cells_are_the_chapters(path):
    chapter = nbformat.read(path, as_version=4)
    nb = edition(path.stem)
    assert [c.cell_type for c in nb.cells] == [c.cell_type for c in chapter.cells]
    for mine, theirs in zip(nb.cells, chapter.cells, strict=True):
        if theirs.cell_type == "code":
            assert mine.source == theirs.source
            assert mine.metadata == theirs.metadata
            assert mine.outputs == [] and mine.execution_count is None
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert '"google.colab" in sys.modules' in first_code.source  # the setup cell, unchanged


def test_footcite_becomes_author_year():
    assert convert("shown {footcite}`rumelhart1986learning`.") == (
        "shown (Rumelhart, Hinton & Williams, 1986)."
    )
    assert convert("{footcite}`mcculloch1943logical,rosenblatt1958perceptron`") == (
        "(McCulloch & Pitts, 1943; Rosenblatt, 1958)"
    )
    assert convert("{footcite:t}`dechter1986learning` wrote") == "Dechter (1986) wrote"
    assert convert("{footcite}`vaswani2017attention`") == "(Vaswani et al., 2017)"


def test_same_authors_and_year_get_letters_within_a_chapter():
    text = "".join(c.source for c in edition("cnn").cells if c.cell_type == "markdown")
    assert "(He et al., 2016a)" in text and "(He et al., 2016b)" in text
    assert "2016a" not in "".join(c.source for c in edition("perceptron").cells)


def test_footbibliography_lists_the_cited_works():
    out = convert(
        "{footcite}`rumelhart1986learning` and {footcite}`hebb1949organization`\n\n"
        "```{footbibliography}\n```"
    )
    refs = out.split("\n")[2:]
    assert refs[0].startswith("- Hebb, D. O. (1949). *The Organization of Behavior")
    assert refs[1].startswith("- Rumelhart, D. E., Hinton, G. E. & Williams, R. J. (1986).")
    assert "*Nature*, 323(6088), 533–536" in refs[1] and "https://doi.org/" in refs[1]
    last = edition("perceptron").cells[-1].source
    assert last.startswith("## References") and "- Rosenblatt, F. (1958)." in last


def test_ref_resolves_to_title_and_anchor():
    # same chapter: a link to the anchor that replaces the (label)= line
    title = "Does it always stop? Novikoff's theorem"  # the heading under (sec-novikoff)=
    assert book().targets["sec-novikoff"].title == title
    assert convert("{ref}`sec-novikoff`") == f"[{title}](#sec-novikoff)"
    assert convert("{ref}`this theorem <sec-novikoff>`") == "[this theorem](#sec-novikoff)"
    first = edition("perceptron").cells[0].source
    assert first.split("\n")[0] == '<a name="ch-perceptron" id="ch-perceptron"></a>'
    assert first.split("\n")[1] == "# From neurons to the perceptron"
    # another chapter: its section title and a link to that chapter's edition or page
    out = convert("see {ref}`sec-backprop-init`")
    assert "*Initialization*" in out and "chapter 3" in out
    assert "colab/backprop.ipynb" in out or "chapters/backprop.html#sec-backprop-init" in out


def test_ref_in_another_chapter_links_the_html_book_when_configured():
    configured = colab.Book(**{**book().__dict__, "base_url": "https://dlbook.example/"})
    out = colab.convert_markdown(configured, "cnn", "see {ref}`sec-backprop-init`")
    assert (
        out
        == "see [Initialization](https://dlbook.example/chapters/backprop.html#sec-backprop-init)"
    )


def test_equations_are_numbered_as_in_the_html_book():
    # chapter 7 is rnn in _toc.yml; the HTML book numbers its first labelled equation (7.1)
    assert book().chapters["rnn"].number == 7
    out = colab.convert_markdown(book(), "rnn", "By {eq}`eq-bptt`, and eq. {eq}`eq-rnn-step`")
    assert out == "By Eq. (7.2), and eq. (7.1)"
    cell = next(c.source for c in edition("rnn").cells if "\\tag{7.1}" in c.source)
    assert "$$ (eq-rnn-step)" not in cell


def test_admonition_becomes_a_quote_with_a_bold_title():
    text = ":::{admonition} Myths, corrected\n:class: warning\n\n"
    out = convert(text + "Text {footcite}`hebb1949organization`.\n:::")
    assert out == "> **Myths, corrected**\n>\n> Text (Hebb, 1949)."
    assert convert("```{note}\nBe careful.\n```") == "> **Note**\n>\n> Be careful."


def test_dropdown_becomes_details():
    out = convert(":::{dropdown} Solution\n(a) $x = 1$.\n\n(b) **Two**.\n:::")
    assert out.startswith("<details>\n<summary>Solution</summary>\n\n(a) $x = 1$.")
    assert out.endswith("(b) **Two**.\n\n</details>")


def test_nested_fences_are_converted_inside_out():
    text = "::::{admonition} Outer\n:::{dropdown} Inner\nbody {eq}`eq-rnn-step`\n:::\n::::"
    out = colab.convert_markdown(book(), "rnn", text)
    assert out.startswith("> **Outer**\n>\n> <details>\n> <summary>Inner</summary>")
    assert "> body Eq. (7.1)" in out and out.endswith("> </details>")


def test_code_is_left_alone():
    text = "Write `{ref}` roles like this:\n\n```markdown\n(sec-x)=\n{footcite}`key`\n```"
    assert convert(text) == text


def test_term_numref_and_other_roles():
    assert (
        convert("a {term}`perceptron` and {term}`units <perceptron>`") == "a perceptron and units"
    )
    rnn = book().targets["sec-rnn-lstm"]
    assert rnn.number and rnn.number.startswith("7.")
    out = colab.convert_markdown(
        book(), "rnn", "{numref}`sec-rnn-lstm`, {numref}`Sec. %s <sec-rnn-lstm>`"
    )
    assert out == f"[Section {rnn.number}](#sec-rnn-lstm), [Sec. {rnn.number}](#sec-rnn-lstm)"
    assert convert("{math}`x^2` H{sub}`2`O") == "$x^2$ H<sub>2</sub>O"
    assert "chapter 7" in convert("{doc}`rnn`")


def test_other_directives_degrade_readably():
    assert convert("```{code-block} python\nx = 1\n```") == "```python\nx = 1\n```"
    out = colab.convert_markdown(book(), "rnn", "```{math}\n:label: eq-rnn-step\nx = 1\n```")
    assert out == "$$\nx = 1\n\\tag{7.1}\n$$"
    out = convert(":::{figure} img/a.png\n:alt: A plot\nThe caption.\n:::")
    assert out.startswith("![A plot](https://raw.githubusercontent.com/")
    assert out.endswith("/chapters/img/a.png)\n\n*The caption.*")
    assert convert(":::{margin} Aside\nSmall print.\n:::") == "> **Aside**\n>\n> Small print."


def test_display_math_inside_a_paragraph_is_left_alone():
    assert convert("$$x$$ is inline display math") == "$$x$$ is inline display math"


@pytest.mark.parametrize(
    ("text", "construct"),
    [
        ("see {unknownrole}`x`", "unknown role"),
        (":::{glossarydirective}\nx\n:::", "unknown directive"),
        ("{ref}`no-such-label`", "unknown label"),
        ("{footcite}`no_such_key2020`", "no .bib file"),
        ("{eq}`eq-missing`", "unknown equation"),
        ("```{math}\n:label: eq-new\nx\n```", "not indexed"),
        (":::{note}\nnever closed", "unclosed fence"),
    ],
)
def test_unknown_markup_fails_loudly(text, construct):
    with pytest.raises(ValueError, match=construct) as err:
        colab.convert_markdown(
            book(), "perceptron", text, where="chapters/perceptron.ipynb, cell 3"
        )
    assert "chapters/perceptron.ipynb, cell 3" in str(err.value)


def test_a_chapter_with_unknown_markup_names_its_cell(tmp_path):
    root = _copy_book(tmp_path)
    nb = nbformat.read(root / "chapters" / "perceptron.ipynb", as_version=4)
    nb.cells[2].source += "\n\nSee {unknownrole}`x`."
    nbformat.write(nb, root / "chapters" / "perceptron.ipynb")
    with pytest.raises(ValueError, match=r"perceptron\.ipynb, cell 2: unknown role"):
        colab.build_edition(root)
    assert not (root / "colab").exists()  # nothing is written when a chapter fails


def _copy_book(tmp_path: Path) -> Path:
    """A copy of the book's chapters, with the real configuration and bibliography."""
    root = tmp_path / "book"
    (root / "chapters").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, root / name)
    shutil.copytree(ROOT / "chapters" / "bib", root / "chapters" / "bib")
    shutil.copy(ROOT / "chapters" / "references.bib", root / "chapters")
    for path in (ROOT / "chapters").glob("*.ipynb"):
        shutil.copy(path, root / "chapters")
    return root


def test_check_finds_a_stale_edition(tmp_path):
    root = _copy_book(tmp_path)
    written = colab.build_edition(root)
    slugs = sorted(p.stem for p in (root / "chapters").glob("*.ipynb"))
    assert sorted(written) == sorted(f"wrote colab/{slug}.ipynb" for slug in slugs)
    assert colab.build_edition(root, check=True) == []
    assert not list((root / "colab").glob(".*.part"))  # written atomically, no leftovers
    nb = nbformat.read(root / "chapters" / "rnn.ipynb", as_version=4)
    nb.cells[0].source += "\n\nA new sentence."
    nbformat.write(nb, root / "chapters" / "rnn.ipynb")
    (root / "colab" / "perceptron.ipynb").unlink()
    (root / "colab" / "old.ipynb").write_text("{}")
    assert colab.build_edition(root, check=True) == [
        "colab/perceptron.ipynb is missing",
        "colab/rnn.ipynb is out of date",
        "colab/old.ipynb belongs to no chapter in _toc.yml",
    ]
    cli = [sys.executable, "-m", "dlbook.colab", "--root", str(root)]
    stale = subprocess.run([*cli, "--check"], capture_output=True, text=True)
    assert stale.returncode == 1 and "colab/rnn.ipynb is out of date" in stale.stdout
    assert subprocess.run(cli, capture_output=True, text=True).returncode == 0
    assert subprocess.run([*cli, "--check"], capture_output=True, text=True).returncode == 0
    assert not (root / "colab" / "old.ipynb").exists()


def test_committed_edition_is_up_to_date():
    stale = colab.build_edition(ROOT, check=True)
    assert not stale, "run `python -m dlbook.colab`: " + "; ".join(stale)
