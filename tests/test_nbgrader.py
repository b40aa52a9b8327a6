"""The real nbgrader round trip on a chapter: generate_assignment, then autograde a solved and an
unsolved submission. The solved one must score full marks, the unsolved one zero."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import CHAPTERS

from dlbook.assign import student_notebook

CHAPTER = "perceptron"
ASSIGNMENT = "ps1"


def nbgrader(course: Path, *args: str) -> None:
    # nbgrader runs `alembic` as a subprocess, so the environment's scripts must be on PATH.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--force"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def solved(release: nbformat.NotebookNode, book: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The release notebook with each solution cell answered by the book's solution."""
    answers = {
        c.metadata["nbgrader"]["grade_id"]: "\n".join(
            line for line in c.source.splitlines() if "### " not in line
        )
        for c in book.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    nb = nbformat.from_dict(release)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = answers[meta["grade_id"]]
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("course")
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        'c.CourseDirectory.course_id = "dlbook"\n'
        "c.ExecutePreprocessor.timeout = 300\n"
    )
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    shutil.copy(CHAPTERS / f"{CHAPTER}.ipynb", source)
    nbgrader(root, "generate_assignment", ASSIGNMENT)
    book = nbformat.read(source / f"{CHAPTER}.ipynb", as_version=4)
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{CHAPTER}.ipynb", as_version=4)
    for student, nb in (("solver", solved(release, book)), ("blank", release)):
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{CHAPTER}.ipynb")
    nbgrader(root, "autograde", ASSIGNMENT)
    return root


def scores(course: Path, student: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        return {g.name: (g.score, g.max_score) for nb in submission.notebooks for g in nb.grades}


def test_release_matches_dlbook_assign(course):
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{CHAPTER}.ipynb", as_version=4)
    ours = student_notebook(nbformat.read(CHAPTERS / f"{CHAPTER}.ipynb", as_version=4))
    assert [c.source for c in release.cells] == [c.source for c in ours.cells]


def test_solved_submission_scores_full_marks(course):
    grades = scores(course, "solver")
    assert len(grades) >= 3
    assert all(score == maximum > 0 for score, maximum in grades.values()), grades


def test_unsolved_submission_scores_zero(course):
    grades = scores(course, "blank")
    assert len(grades) >= 3
    assert all(score == 0 for score, _ in grades.values()), grades
