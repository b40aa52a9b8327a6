"""dlbook.assign: student versions, validation that names the notebook and the cell, nothing
written on failure, and student versions in which every check fails."""

from __future__ import annotations

import copy
import subprocess
import sys

import nbformat
import pytest
from conftest import CHAPTERS, exercise_pairs, run_exercise
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from dlbook.assign import AssignError, assign, check_notebook, main, student_notebook

SOLUTION = {"solution": True, "grade": False, "locked": False, "schema_version": 3}
CHECK = {"solution": False, "grade": True, "locked": True, "points": 1, "schema_version": 3}


def exercise_nb(**overrides) -> nbformat.NotebookNode:
    """A minimal valid notebook with one exercise; `overrides` replace whole cells by index."""
    cells = [
        new_markdown_cell("# A chapter\nThe marker `### BEGIN SOLUTION` in prose is left alone."),
        new_code_cell("import numpy as np"),
        new_code_cell(
            "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
            metadata={"nbgrader": {**SOLUTION, "grade_id": "ch-f"}},
        ),
        new_code_cell(
            "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS",
            metadata={"nbgrader": {**CHECK, "grade_id": "ch-f-check"}},
        ),
    ]
    for index, cell in overrides.items():
        cells[int(index.lstrip("c"))] = cell
    nb = new_notebook(cells=cells)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="old output")]
    nb.cells[1].execution_count = 3
    return nb


def write(folder, name, nb):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def test_student_notebook_transforms_only_what_it_should():
    nb = exercise_nb()
    student = student_notebook(nb, "ch.ipynb")
    assert student.cells[2].source == (
        "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    assert student.cells[3].source == "assert f(1) == 2"
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert student.cells[0] == nb.cells[0]  # markdown, markers in prose included, unchanged
    assert [c.metadata for c in student.cells] == [c.metadata for c in nb.cells]
    assert nb.cells[2].source.count("BEGIN SOLUTION") == 1  # the input is not modified


def test_assign_writes_student_versions_of_every_chapter(tmp_path):
    written = assign(CHAPTERS, tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in CHAPTERS.glob("*.ipynb"))
    for path in written:
        book = nbformat.read(CHAPTERS / path.name, as_version=4)
        student = nbformat.read(path, as_version=4)
        assert len(student.cells) == len(book.cells)
        for original, cell in zip(book.cells, student.cells, strict=True):
            assert cell.metadata == original.metadata
            if "nbgrader" not in cell.metadata:
                assert cell.source == original.source
            assert "### BEGIN SOLUTION" not in cell.source or cell.cell_type == "markdown"
            assert "HIDDEN TESTS" not in cell.source or cell.cell_type == "markdown"
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize("path", sorted(CHAPTERS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_check_fails_in_the_generated_student_version(tmp_path, path):
    (student_path,) = assign(path, tmp_path)
    pairs = exercise_pairs(nbformat.read(student_path, as_version=4))
    assert len(pairs) >= 3
    for grade_id, setup, solution, check in pairs:
        assert "raise NotImplementedError()" in solution, grade_id
        with pytest.raises((NotImplementedError, AssertionError)):
            run_exercise(setup, solution, check)


BAD_CASES = {
    "missing END": (
        {
            "c2": new_code_cell(
                "### BEGIN SOLUTION\nx = 1", metadata={"nbgrader": {**SOLUTION, "grade_id": "ch-f"}}
            )
        },
        r"cell 2: BEGIN SOLUTION on line 1 has no END SOLUTION",
    ),
    "solution region in a plain cell": (
        {"c1": new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")},
        r"cell 1: a SOLUTION region in a cell not marked as a solution cell",
    ),
    "hidden tests in a solution cell": (
        {
            "c2": new_code_cell(
                "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n"
                "### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS",
                metadata={"nbgrader": {**SOLUTION, "grade_id": "ch-f"}},
            )
        },
        r"cell 2: a HIDDEN TESTS region in a cell that is not a check cell",
    ),
    "duplicate grade_id": (
        {"c3": new_code_cell("assert True", metadata={"nbgrader": {**CHECK, "grade_id": "ch-f"}})},
        r"cell 3 \(ch-f\): grade_id also used by cell 2",
    ),
    "no check cell": (
        {"c3": new_code_cell("print(f(1))")},
        r"cell 2 \(ch-f\): no check cell follows this solution cell",
    ),
    "no points": (
        {
            "c3": new_code_cell(
                "assert f(1) == 2",
                metadata={"nbgrader": {**CHECK, "points": 0, "grade_id": "ch-f-c"}},
            )
        },
        r"cell 3 \(ch-f-c\): a check cell needs points > 0",
    ),
    "no solution region": (
        {
            "c2": new_code_cell(
                "def f(x):\n    return 2 * x",
                metadata={"nbgrader": {**SOLUTION, "grade_id": "ch-f"}},
            )
        },
        r"cell 2 \(ch-f\): a solution cell without a BEGIN/END SOLUTION region",
    ),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_malformed_notebooks_are_named_and_nothing_is_written(tmp_path, case):
    overrides, message = BAD_CASES[case]
    src = tmp_path / "src"
    write(src, "a_good.ipynb", exercise_nb())
    write(src, "b_bad.ipynb", exercise_nb(**copy.deepcopy(overrides)))
    out = tmp_path / "out"
    with pytest.raises(AssignError, match="b_bad.ipynb, " + message) as err:
        assign(src, out)
    assert "a_good" not in str(err.value)
    assert not out.exists()  # the good notebook was not written either


def test_the_valid_notebook_has_no_problems():
    assert check_notebook(exercise_nb(), "ch.ipynb") == []


def test_unreadable_and_missing_sources(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "broken.ipynb").write_text("{not json")
    with pytest.raises(AssignError, match="broken.ipynb: cannot be read as a notebook"):
        assign(tmp_path / "src", tmp_path / "out")
    with pytest.raises(AssignError, match="not a notebook or a folder of notebooks"):
        assign(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(AssignError, match="no .ipynb notebooks in this folder"):
        assign(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(AssignError, match="OUT must differ"):
        assign(write(tmp_path / "same", "n.ipynb", exercise_nb()).parent, tmp_path / "same")


def test_command_line(tmp_path, capsys):
    src = tmp_path / "src"
    write(src, "n.ipynb", exercise_nb())
    assert main(["--check", str(src)]) == 0
    assert "follows the exercise convention" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()
    assert main([str(src), str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "n.ipynb").exists()
    assert main([str(src)]) == 2  # OUT is required without --check
    assert main(["--bogus", str(src), str(tmp_path / "o")]) == 2
    write(src, "z.ipynb", exercise_nb(c3=new_code_cell("pass")))
    assert main([str(src), str(tmp_path / "out2")]) == 1
    assert "z.ipynb, cell 2" in capsys.readouterr().err


def test_runs_as_a_module(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "dlbook.assign", str(CHAPTERS), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "wrote" in out.stdout and list(tmp_path.glob("*.ipynb"))
