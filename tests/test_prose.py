"""The prose of each chapter: its numbers come from its cells, and its terms are in the glossary.

A number in the prose must be printed by a cell on that page (an output of the executed
notebook) or appear in the code the page shows. The executed notebooks are the book build's
runs, read from its execution cache (`_build/.jupyter_cache`, through `dlbook.bookexec`; CI
builds the book before it runs the tests). The copies in `_build/jupyter_execute/` cannot serve:
myst-nb writes them without outputs when it takes a run from the cache. A chapter that has not
been built with the current sources is skipped with a message saying so.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import CHAPTERS, EXECUTION_CACHE, ROOT

from dlbook.bookexec import cached_run

GLOSSARY = [CHAPTERS / "glossary.md", *sorted((CHAPTERS / "glossary").glob("*.md"))]
NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))

# Decimals (0.5, 93.70) and percentages (20%, 97.5 %), not part of a longer token.
NUMBER = re.compile(r"(?<![\w.\-])(\d+\.\d+|\d+(?:\.\d+)?(?=\s?%))(?![\w.])")
# Constants that prose may state without printing them, each with its reason.
ALLOWED = {
    "0.5": "the threshold of a probability, the dropout rate of the original papers",
    "1.0": "a unit value",
    "0.0": "zero",
    "100": "100% as a certainty",
    "50": "50% as a coin flip",
}


def _strip(markdown: str) -> str:
    """Markdown without math, code, roles' targets, links and labels: the running prose."""
    text = re.sub(r"\$\$.*?\$\$", " ", markdown, flags=re.S)
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = re.sub(r"\$(?:[^$\n]|\n(?!\s*\n))+?\$", " ", text)  # inline math, within a paragraph
    text = re.sub(r"`[^`\n]*`", " ", text)  # code spans and the targets of {role}`...`
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"\(([\w-]+)\)=", " ", text)  # labels
    return re.sub(r"arXiv:\s*\d+\.\d+", " ", text)


_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z(*])")


def prose_numbers(nb: nbformat.NotebookNode) -> set[str]:
    """Decimals and percentages of the running prose; a sentence that cites its source (a
    published figure, "Example 6.6" of a book) may quote numbers that no cell prints."""
    found = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for sentence in _SENTENCE_END.split(_strip(cell.source)):
                if "{footcite}" not in sentence and "{cite" not in sentence:
                    found |= set(NUMBER.findall(sentence))
    return found


def page_text(nb: nbformat.NotebookNode) -> str:
    """Everything a cell prints on the page, and the source of every cell whose code shows."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "remove-input" not in cell.get("metadata", {}).get("tags", []):
            parts.append(cell.source)
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append(out["text"])
            for kind in ("text/plain", "text/markdown", "text/html"):
                if kind in out.get("data", {}):
                    parts.append(str(out["data"][kind]))
    return "\n".join(parts)


def unprinted(numbers: set[str], text: str) -> list[str]:
    missing = []
    for number in sorted(numbers):
        if number in ALLOWED:
            continue
        if not re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", text):
            missing.append(number)
    return missing


def test_the_number_scanner_finds_decimals_and_percentages():
    md = (
        "It reached 97.5% after 3 epochs, loss 0.0018; see $x = 2.5$, `lr=0.1`, arXiv:1512.03385. "
        "PacGAN reports 95.6% {footcite}`lin2018pacgan`. With $f \\approx\n0.73$ it fades."
    )
    assert prose_numbers(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(md)])) == {
        "97.5",
        "0.0018",
    }
    assert unprinted({"97.5", "0.0018"}, "accuracy 97.50%\nloss 0.0018") == ["97.5"]
    assert unprinted({"97.5"}, "97.5%") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_in_the_prose_is_printed_on_the_page(path):
    run = cached_run(path, EXECUTION_CACHE)
    if run is None:
        pytest.skip(f"{path.name} has not been built with the current sources: run the build")
    # the stored run keeps the code cells; the prose comes from the chapter as it is
    outputs = iter(c for c in run.notebook.cells if c.cell_type == "code")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = next(outputs).get("outputs", [])
    assert any(cell.get("outputs") for cell in nb.cells), f"{path.name}: the run printed nothing"
    missing = unprinted(prose_numbers(nb), page_text(nb))
    assert not missing, f"{path.name}: numbers in the prose that no cell prints: {missing}"


# ---------------------------------------------------------------------------------------------
# The glossary

_TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def glossary_entries() -> dict[str, tuple[str, str]]:
    """{term (lower case): (definition, file)} from every glossary directive."""
    entries = {}
    for path in GLOSSARY:
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```\{glossary\}\n(.*?)```", text, flags=re.S):
            term, lines = None, []
            for line in block.splitlines() + [""]:
                if line and not line[0].isspace():
                    if term is not None:
                        entries[term.lower()] = (" ".join(lines), path.name)
                    term, lines = line.strip(), []
                elif line.strip():
                    lines.append(line.strip())
            if term is not None:
                entries[term.lower()] = (" ".join(lines), path.name)
    return entries


ENTRIES = glossary_entries()


def _target(role_text: str) -> str:
    m = re.search(r"<([^>]+)>$", role_text)
    return (m.group(1) if m else role_text).strip().lower()


def test_the_glossary_is_bilingual_and_links_to_the_book():
    assert len(ENTRIES) >= 8
    bad = [
        f"{term} ({where})"
        for term, (definition, where) in ENTRIES.items()
        if not _CJK.search(definition) or not re.search(r"\{(ref|doc)\}`", definition)
    ]
    assert not bad, f"entries without a Chinese term or a link to a section: {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS + [ROOT / "intro.md"], ids=lambda p: p.stem)
def test_every_term_role_resolves(path):
    text = path.read_text(encoding="utf-8")
    missing = sorted({_target(t) for t in _TERM_ROLE.findall(text)} - set(ENTRIES))
    assert not missing, f"{path.name}: {{term}} roles with no glossary entry: {missing}"


def _goal_terms(nb: nbformat.NotebookNode) -> set[str]:
    """The bold terms of the learning-goals list (the first markdown cell's bullets)."""
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    bullets = "\n".join(line for line in first.source.splitlines() if line.lstrip()[:1] in "-*")
    return {t.strip().lower() for t in re.findall(r"\*\*([^*\n]+)\*\*", bullets)}


def _has_entry(term: str) -> bool:
    candidates = {term, term.rstrip("s"), re.sub(r"\s*\(.*\)$", "", term)}
    keys = set(ENTRIES) | {re.sub(r"\s*\(.*\)$", "", k) for k in ENTRIES}
    keys |= {m.group(1) for k in ENTRIES if (m := re.search(r"\(([^)]+)\)$", k))}
    return bool(candidates & keys)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_bold_terms_in_the_learning_goals_have_entries(path):
    nb = nbformat.read(path, as_version=4)
    missing = sorted(t for t in _goal_terms(nb) if not _has_entry(t))
    assert not missing, f"{path.name}: learning-goal terms without a glossary entry: {missing}"


def test_every_glossary_fragment_holds_a_glossary():
    for path in GLOSSARY[1:]:
        text = path.read_text(encoding="utf-8")
        assert "```{glossary}" in text, f"{path} has no glossary directive"


def test_glossary_parser_reads_entries():
    assert "perceptron" in ENTRIES
    assert _target("back-propagation <backpropagation>") == "backpropagation"
    assert _has_entry("perceptrons") and not _has_entry("no such term")
