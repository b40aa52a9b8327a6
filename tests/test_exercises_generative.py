"""dlbook.exercises.generative: every check passes on a right answer and fails on wrong ones, and
on the chapter's solutions, stubs and wrong variants."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from conftest import CHAPTERS, exercise_pairs

from dlbook import exercises
from dlbook.metrics import mode_coverage


def test_optimal_discriminator_check():
    exercises.check_optimal_discriminator(lambda p, q: p / (p + q))
    with pytest.raises(AssertionError):
        exercises.check_optimal_discriminator(lambda p, q: q / (p + q))
    with pytest.raises(AssertionError):
        exercises.check_optimal_discriminator(lambda p, q: p / (q + 1))


def test_reparameterize_check():
    exercises.check_reparameterize(lambda mu, lv, eps: mu + np.exp(0.5 * lv) * eps)
    with pytest.raises(AssertionError):  # the variance instead of the std
        exercises.check_reparameterize(lambda mu, lv, eps: mu + np.exp(lv) * eps)


def test_gaussian_kl_check():
    exercises.check_gaussian_kl(lambda mu, lv: 0.5 * np.sum(mu**2 + np.exp(lv) - lv - 1, axis=-1))
    with pytest.raises(AssertionError):  # not summed
        exercises.check_gaussian_kl(lambda mu, lv: 0.5 * (mu**2 + np.exp(lv) - lv - 1))
    with pytest.raises(AssertionError):  # sign of the log term
        exercises.check_gaussian_kl(
            lambda mu, lv: 0.5 * np.sum(mu**2 + np.exp(lv) + lv - 1, axis=-1)
        )


def test_coverage_by_hand_check():
    ex = exercises.COVERAGE_EXERCISE
    assert mode_coverage(ex["samples"], ex["means"], ex["std"]) == (2, 0.4)
    exercises.check_coverage_by_hand((2, 0.4))
    for wrong in [(3, 0.4), (2, 0.6), (2, 0.2)]:
        with pytest.raises(AssertionError):
            exercises.check_coverage_by_hand(wrong)
    with pytest.raises(AssertionError, match="tuple"):
        exercises.check_coverage_by_hand(2)


WRONG = {
    "generative-optimal-d": [("p_data / (p_data + p_g)", "p_g / (p_data + p_g)")],
    "generative-reparameterize": [("np.exp(0.5 * logvar)", "np.exp(logvar)")],
    "generative-kl": [("- logvar - 1", "- logvar"), ("axis=-1", "axis=0")],
    "generative-coverage": [("answer = (2, 2 / 5)", "answer = (3, 2 / 5)")],
}
NOTEBOOK = CHAPTERS / "generative.ipynb"
PAIRS = exercise_pairs(nbformat.read(NOTEBOOK, as_version=4)) if NOTEBOOK.exists() else []


def test_the_chapter_has_its_exercises():
    assert {p[0] for p in PAIRS} == set(WRONG)
