"""The chapter notebooks follow the template in the design: no outputs, a setup cell that installs
dlbook from the one repository URL on Colab, cited facts, exercises in the nbgrader convention."""

from __future__ import annotations

import ast
import re

import nbformat
import pytest
import yaml
from conftest import CHAPTERS, ROOT

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
CITE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]+)`")


def load(path):
    return nbformat.read(path, as_version=4)


def bib_keys() -> set[str]:
    """Keys of chapters/references.bib and of every chapter's chapters/bib/*.bib."""
    files = [CHAPTERS / "references.bib", *sorted((CHAPTERS / "bib").glob("*.bib"))]
    text = "\n".join(p.read_text(encoding="utf-8") for p in files)
    return set(re.findall(r"^@\w+\{([^,\s]+),", text, flags=re.MULTILINE))


def test_no_bib_key_is_defined_twice():
    files = [CHAPTERS / "references.bib", *sorted((CHAPTERS / "bib").glob("*.bib"))]
    seen: dict[str, str] = {}
    twice = []
    for path in files:
        for key in re.findall(r"^@\w+\{([^,\s]+),", path.read_text(encoding="utf-8"), re.M):
            if key.lower() in seen:
                twice.append(f"{key} ({seen[key.lower()]} and {path.name})")
            seen[key.lower()] = path.name
    assert not twice, f"bib keys defined twice: {twice}"


def cited_keys(text: str) -> set[str]:
    return {k.strip() for group in CITE.findall(text) for k in group.split(",")}


def toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = {toc["root"]}
    for part in toc.get("parts", []):
        files |= {entry["file"] for entry in part.get("chapters", [])}
    return files


def test_there_is_at_least_one_chapter():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    for i, cell in enumerate(load(path).cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"cell {i} has outputs; clear them before committing"
            assert cell.execution_count is None, f"cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_is_in_the_toc(path):
    assert f"chapters/{path.stem}" in toc_files()


def test_every_toc_entry_exists():
    for entry in toc_files():
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_setup_cell_installs_from_the_configured_repository(path):
    url = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"]
    setup = next(c for c in load(path).cells if c.cell_type == "code")
    assert "remove-input" in setup.metadata.get("tags", [])
    assert '"google.colab" in sys.modules' in setup.source
    installs = re.findall(r"git\+(\S+?)[\"'\s]", setup.source)
    assert installs == [url], f"the Colab install must use {url} from _config.yml; got {installs}"
    assert "seed_everything" in setup.source and "get_device" in setup.source


@pytest.mark.parametrize(
    "path", [*NOTEBOOKS, *sorted(CHAPTERS.glob("*.md")), ROOT / "intro.md"], ids=lambda p: p.name
)
def test_every_citation_is_in_references_bib(path):
    text = path.read_text(encoding="utf-8")
    missing = cited_keys(text) - bib_keys()
    assert not missing, f"{path.name} cites keys missing from references.bib: {sorted(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_template(path):
    nb = load(path)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith(
        ("#", "(")
    )
    assert "{admonition}" in markdown, "a myths-and-mistakes admonition is required"
    assert "## Summary" in markdown
    assert "## Exercises" in markdown
    assert "```{footbibliography}" in markdown, "a references section is required"
    assert not re.search(r"\{cite(:[a-z]+)?\}`", markdown), "chapters cite with {footcite}"
    assert cited_keys(markdown), "a chapter must cite its sources"


def test_timeline_events_are_all_cited():
    nb = load(CHAPTERS / "perceptron.ipynb")
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("EVENTS = ["))
    events = ast.literal_eval(cell.source.split("=", 1)[1].split("\n]", 1)[0] + "\n]")
    years = [year for year, _, _ in events]
    assert years == sorted(years) and years[0] == 1943 and years[-1] == 2017
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    keys = {key for _, _, key in events}
    assert keys <= bib_keys()
    assert keys <= cited_keys(markdown), f"uncited events: {sorted(keys - cited_keys(markdown))}"


def exercise_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if "nbgrader" in c.metadata]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercise_convention(path):
    nb = load(path)
    cells = exercise_cells(nb)
    solutions = [(i, c) for i, c in cells if c.metadata["nbgrader"]["solution"]]
    assert len(solutions) >= 3, "each chapter has at least 3 exercises"
    ids = [c.metadata["nbgrader"]["grade_id"] for _, c in cells]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    for i, cell in solutions:
        meta = cell.metadata["nbgrader"]
        assert meta == {
            "solution": True,
            "grade": False,
            "locked": False,
            "grade_id": meta["grade_id"],
            "schema_version": 3,
        }
        assert meta["grade_id"].startswith(f"{path.stem}-")
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
        assert "hide-input" in cell.metadata.get("tags", []), "solutions are folded in the HTML"
        check = nb.cells[i + 1]
        cmeta = check.metadata.get("nbgrader", {})
        assert cmeta.get("grade") is True and cmeta.get("locked") is True
        assert cmeta.get("solution") is False and cmeta.get("points", 0) > 0
        assert cmeta["grade_id"] == meta["grade_id"] + "-check"
        assert cmeta.get("schema_version") == 3


def test_readme_lists_exactly_the_chapters_of_the_toc():
    """The README says what the book contains: the titles of the chapters in _toc.yml, in order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- chapters:")[1].split("<!-- end chapters -->")[0]
    listed = re.findall(r"^\d+\. (.+)$", block, flags=re.MULTILINE)
    toc = re.findall(r"file: (chapters/\w+)", (ROOT / "_toc.yml").read_text(encoding="utf-8"))
    titles = []
    for entry in toc:
        path = ROOT / f"{entry}.ipynb"
        if path.exists():
            first = load(path).cells[0].source
            titles.append(re.search(r"^# (.+)$", first, flags=re.MULTILINE).group(1).strip())
    assert listed == titles
