"""Every exercise check passes on the book's solution and fails on the student stub and on
deliberately wrong answers (design: "A check must be able to fail")."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from conftest import CHAPTERS, exercise_pairs
from conftest import run_exercise as run

from dlbook import exercises
from dlbook.assign import MarkerError, student_source

# Wrong answers a learner might write: (grade_id, text in the solution, replacement).
WRONG = {
    "perceptron-update": [
        ("<= 0", "< 0"),
        ("w + lr * y * x", "w - lr * y * x"),
        ("b + lr * y, True", "b, True"),
    ],
    "perceptron-mp-gates": [
        ("threshold=0, inhibitory=[0, 1]", "threshold=1, inhibitory=[0, 1]"),
        ("inhibitory=[1]", "inhibitory=[0]"),
    ],
    "perceptron-bound": [
        ("np.ones((len(X), 1))", "np.zeros((len(X), 1))"),
        ("(radius / gamma) ** 2", "radius / gamma"),
    ],
    "perceptron-xnor": [
        ("b1 = np.array([-1.5, 0.5])", "b1 = np.array([-0.5, 0.5])"),
        ("-0.5  # output", "-1.5  # output"),
    ],
}


def pairs():
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        for grade_id, setup, solution, check in exercise_pairs(nbformat.read(path, as_version=4)):
            yield pytest.param(grade_id, setup, solution, check, id=grade_id)


PAIRS = list(pairs())


@pytest.mark.parametrize(("grade_id", "setup", "solution", "check"), PAIRS)
def test_check_passes_on_the_solution(grade_id, setup, solution, check):
    printed = run(setup, solution, check)
    assert printed.startswith("\u2714"), printed


@pytest.mark.parametrize(("grade_id", "setup", "solution", "check"), PAIRS)
def test_check_fails_on_the_student_stub(grade_id, setup, solution, check):
    stub = student_source(solution)
    assert "raise NotImplementedError()" in stub and "BEGIN SOLUTION" not in stub
    with pytest.raises((NotImplementedError, AssertionError)):
        run(setup, stub, student_source(check))


@pytest.mark.parametrize(("grade_id", "setup", "solution", "check"), PAIRS)
def test_check_fails_on_wrong_answers(grade_id, setup, solution, check):
    assert grade_id in WRONG, f"add wrong answers for {grade_id} to WRONG"
    for old, new in WRONG[grade_id]:
        assert old in solution, f"{old!r} not found in the solution of {grade_id}"
        with pytest.raises(AssertionError):
            run(setup, solution.replace(old, new, 1), check)


def test_check_close_hint_names_shape_and_first_wrong_element():
    with pytest.raises(AssertionError, match=r"expected shape \(3,\), got shape \(2,\)"):
        exercises.check_close("v", np.ones(2), np.ones(3))
    with pytest.raises(AssertionError, match=r"index \(1,\).*relative error 5\.00e-01"):
        exercises.check_close("v", [1.0, 1.5, 3.0], [1.0, 1.0, 3.0])
    exercises.check_close("v", [1.0, 2.0], [1.0, 2.0 + 1e-14])


def test_student_source_keeps_indentation_and_drops_hidden_tests():
    src = (
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
        "check()\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS"
    )
    assert student_source(src) == (
        "def f():\n    # YOUR CODE HERE\n    raise NotImplementedError()\ncheck()"
    )


@pytest.mark.parametrize(
    ("src", "match"),
    [
        ("### BEGIN SOLUTION\nx = 1", "has no END SOLUTION"),
        ("x = 1\n### END SOLUTION", "without a matching BEGIN"),
        ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n", "inside the SOLUTION region"),
        ("### BEGIN HIDDEN TESTS\n### END SOLUTION", "without a matching BEGIN"),
    ],
)
def test_student_source_rejects_malformed_markers(src, match):
    with pytest.raises(MarkerError, match=match):
        student_source(src, where="nb.ipynb, cell 3")
