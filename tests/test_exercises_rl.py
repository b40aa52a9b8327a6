"""The exercise checks of chapter "Reinforcement learning": each passes on the book's solution
and fails on the student stub and on wrong answers a learner might write."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from conftest import CHAPTERS, exercise_pairs

from dlbook import exercises

# (text in the solution, replacement): the same format as WRONG in tests/test_exercises.py
WRONG = {
    "rl-bellman-backup": [
        ("R + gamma * np", "gamma * np"),
        ("Q.argmax(axis=1)", "Q.argmin(axis=1)"),
        ("Q.max(axis=1), Q.argmax(axis=1)", "Q.max(axis=0), Q.argmax(axis=0)"),
        ('"sat,t->sa"', '"sat,s->sa"'),
    ],
    "rl-policy-evaluation": [
        ("- gamma * P_pi", "- gamma * P_pi.T"),
        ("(policy * R).sum(axis=1)", "R.mean(axis=1)"),
        ('"sa,sat->st"', '"sa,sat->ts"'),
    ],
    "rl-baseline-unbiased": [
        ("(pi * (rewards - baseline))", "(rewards - baseline)"),
        ("np.eye(len(theta)) - pi", "np.eye(len(theta))"),
        ("pi = pi / pi.sum()", "pi = pi"),
    ],
}

PAIRS = {
    grade_id: (setup, solution, check)
    for grade_id, setup, solution, check in exercise_pairs(
        nbformat.read(CHAPTERS / "rl.ipynb", as_version=4)
    )
}


def test_the_chapter_has_three_coded_exercises():
    assert set(PAIRS) == set(WRONG)


def test_checks_give_hints():
    with pytest.raises(AssertionError, match="must return a pair"):
        exercises.check_bellman_backup(lambda P, R, V, gamma: V)
    with pytest.raises(AssertionError, match=r"V_pi .*first wrong element"):
        exercises.check_policy_evaluation(lambda P, R, policy, gamma: np.zeros(len(R)))
    with pytest.raises(AssertionError, match=r"expected gradient \(K="):
        exercises.check_expected_policy_gradient(lambda theta, rewards, b: np.zeros_like(theta))
