"""dlbook.exercises.efficient: each check passes on a right answer and fails on wrong ones."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import CHAPTERS, exercise_pairs

from dlbook import exercises


def good_distillation(s, t, y, temperature, alpha):
    log_p = F.log_softmax(s / temperature, dim=1)
    q = F.softmax(t.detach() / temperature, dim=1)
    kl = (q * (q.log() - log_p)).sum(1).mean()
    return alpha * temperature**2 * kl + (1 - alpha) * F.cross_entropy(s, y)


def no_t_squared(s, t, y, temperature, alpha):
    return good_distillation(s, t, y, temperature, alpha) - alpha * (temperature**2 - 1) * (
        good_distillation(s, t, y, temperature, 1.0) / temperature**2
    )


def summed_not_mean(s, t, y, temperature, alpha):
    return good_distillation(s, t, y, temperature, alpha) * len(s)


def good_fgsm(model, x, y, eps):
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x.detach() + eps * g.sign()).clamp(0, 1)


def unclamped_fgsm(model, x, y, eps):
    x = x.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return x.detach() + eps * g.sign()


def descending_fgsm(model, x, y, eps):
    return good_fgsm(model, x, y, -eps).clamp(0, 1) if eps else x.clone()


def good_mask(w, sparsity):
    keep = np.ones(w.size, dtype=bool)
    keep[np.argsort(np.abs(w).ravel())[: round(sparsity * w.size)]] = False
    return keep.reshape(w.shape)


def signed_mask(w, sparsity):
    keep = np.ones(w.size, dtype=bool)
    keep[np.argsort(w.ravel())[: round(sparsity * w.size)]] = False
    return keep.reshape(w.shape)


def floor_mask(w, sparsity):
    keep = np.ones(w.size, dtype=bool)
    keep[np.argsort(np.abs(w).ravel())[: int(sparsity * w.size) + 1]] = False
    return keep.reshape(w.shape)


def test_checks_pass_on_right_answers(capsys):
    exercises.check_distillation(good_distillation)
    exercises.check_fgsm_step(good_fgsm)
    exercises.check_magnitude_mask(good_mask)
    assert capsys.readouterr().out.count("\u2714") == 3


@pytest.mark.parametrize(
    ("check", "wrong"),
    [
        (exercises.check_distillation, no_t_squared),
        (exercises.check_distillation, summed_not_mean),
        (exercises.check_fgsm_step, unclamped_fgsm),
        (exercises.check_fgsm_step, descending_fgsm),
        (exercises.check_magnitude_mask, signed_mask),
        (exercises.check_magnitude_mask, floor_mask),
    ],
)
def test_checks_fail_on_wrong_answers(check, wrong):
    with pytest.raises(AssertionError):
        check(wrong)


def test_checks_fail_on_the_student_stub():
    def stub(*args):
        raise NotImplementedError()

    for check in (
        exercises.check_distillation,
        exercises.check_fgsm_step,
        exercises.check_magnitude_mask,
    ):
        with pytest.raises(NotImplementedError):
            check(stub)


# The chapter's own exercise cells: the solution passes, the stub and wrong variants fail.
WRONG = {
    "efficient-distillation": [
        ("alpha * t**2 * kl", "alpha * kl"),
        (".sum(dim=1).mean()", ".sum()"),
        ("student_logits / t, dim=1)", "student_logits, dim=1)"),
    ],
    "efficient-fgsm": [
        (".clamp(0, 1)", ""),
        ("x.detach() + eps", "x.detach() - eps"),
        ("eps * grad.sign()", "eps * grad"),
    ],
    "efficient-prune-mask": [
        ("np.abs(w).ravel()", "w.ravel()"),
        ("round(sparsity * w.size)", "int(sparsity * w.size) + 1"),
    ],
}
NOTEBOOK = CHAPTERS / "efficient.ipynb"
PAIRS = exercise_pairs(nbformat.read(NOTEBOOK, as_version=4)) if NOTEBOOK.exists() else []


def test_the_wrong_answers_cover_exactly_the_chapters_exercises():
    # tests/test_exercises.py runs every exercise of the chapter against this WRONG table
    assert {p[0] for p in PAIRS} == set(WRONG)
