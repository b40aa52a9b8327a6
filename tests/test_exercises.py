"""Every exercise check passes on the book's solution and fails on the student stub and on
deliberately wrong answers (design: "A check must be able to fail")."""

from __future__ import annotations

import importlib

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
    "linear_models-least-squares": [
        ("np.ones((len(X), 1))", "np.zeros((len(X), 1))"),
        ("theta[:-1], theta[-1]", "theta[1:], theta[0]"),
    ],
    "linear_models-mse-gradient": [
        ("residual = X @ w + b - y", "residual = y - X @ w - b"),
        ("dw = 2 * X.T @ residual / len(y)", "dw = X.T @ residual / len(y)"),
        ("db = 2 * residual.mean()", "db = residual.mean()"),
    ],
    "linear_models-softmax-ce": [
        ("z = logits - logits.max(axis=1, keepdims=True)", "z = logits"),
        ("return loss, dlogits / n", "return loss, dlogits"),
        ("-= 1", "-= 0"),
    ],
    "linear_models-stable-lr": [
        ("2.0 / np.linalg.eigvalsh(H).max()", "1.0 / np.linalg.eigvalsh(H).max()"),
        ("eigvalsh(H).max()", "eigvalsh(H).min()"),
    ],
    "backprop-tanh-backward": [
        ("1.0 - cache.out**2", "1.0 - cache.out"),
        ("return dout * (", "return ("),
    ],
    "backprop-fix-bug": [
        ("db2 = dout.sum(axis=0)", "db2 = dout.mean(axis=0)"),
        ("dw1 = x.T @ dz1", "dw1 = x.T @ dh"),
        ("dz1 = dh * (z1 > 0)", "dz1 = dh"),
    ],
    "backprop-swish": [
        ("s + x * s * (1 - s)", "s * (1 - s)"),
        ("return x * s, (x, s)", "return s, (x, s)"),
    ],
    "backprop-value-sigmoid": [
        ("(-v).exp()", "v.exp()"),
        ("return 1 / (1 + ", "return 1 / (2 + "),
    ],
    "optimization-momentum": [
        ("momentum * velocity + g", "velocity + g"),
        ("g.copy() if velocity is None", "np.zeros_like(g) if velocity is None"),
        ("p - lr * velocity", "p - lr * g"),
    ],
    "optimization-adam": [
        ("m / (1 - beta1**t)", "m"),
        ("v / (1 - beta2**t)", "v"),
        ("np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)"),
        ("(1 - beta2) * g**2", "(1 - beta1) * g**2"),
    ],
    "optimization-soft-threshold": [
        ("np.abs(x) - t", "np.abs(x) + t"),
        ("np.maximum(np.abs(x) - t, 0.0)", "(np.abs(x) - t)"),
        ("np.sign(x) * ", ""),
    ],
    "optimization-cosine": [
        ("(1 + np.cos", "(1 - np.cos"),
        ("np.pi * step / T_max", "np.pi * step / (2 * T_max)"),
        ("eta_min + (base_lr - eta_min)", "base_lr"),
    ],
    "regularization-confusion-matrix": [
        ("cm[t, p] += 1", "cm[p, t] += 1"),
        ("cm[t, p] += 1", "cm[t, p] += int(t != p)"),
        ("zip(y_true, y_pred, strict=True)", "zip(y_true, y_true, strict=True)"),
    ],
    "regularization-batchnorm": [
        ("x.var(axis=0)", "x.var(axis=0, ddof=1)"),
        ("var * n / (n - 1)", "var"),
        ("np.sqrt(var + eps)", "np.sqrt(var) + eps"),
        ("(1 - momentum) * running_mean + momentum * mean", "momentum * running_mean + mean"),
    ],
    "regularization-auc-pairs": [
        (" + 0.5 * (pos[:, None] == neg[None, :])", ""),
        ("(pos[:, None] > neg[None, :])", "(pos[:, None] >= neg[None, :])"),
    ],
    "regularization-inverted-dropout": [
        ("x / (1 - p)", "x"),
        ("x / (1 - p)", "x * (1 - p)"),
    ],
    "cnn-output-shape": [
        ("(h + 2 * padding - kh)", "(h + padding - kh)"),
        ("return n, f, oh, ow", "return n, f, ow, oh"),
        ("- kw) // stride + 1", "- kw) // stride"),
    ],
    "cnn-maxpool-backward": [
        ("is_max * dout", "~is_max * dout"),
        ("windows == windows.max", "windows == windows.min"),
        ("dx = np.zeros_like(x)", "dx = np.ones_like(x)"),
    ],
    "cnn-lenet-params": [
        ("6 * in_channels * 5 * 5 + 6", "6 * 5 * 5 + 6"),
        ("84 * num_classes + num_classes", "84 * num_classes"),
        ("(image_size // 2 - 4) // 2", "(image_size - 4) // 4"),
    ],
    "cnn-test-loss": [
        (
            "np.sum(batch_losses * batch_sizes) / np.sum(batch_sizes)",
            "np.sum(batch_losses) / np.sum(batch_sizes)",
        ),
        ("np.sum(batch_losses * batch_sizes) / np.sum(batch_sizes)", "np.mean(batch_losses)"),
        ("/ np.sum(batch_sizes)", "/ len(batch_sizes)"),
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


def wrong_answers(grade_id: str) -> list[tuple[str, str]]:
    """The wrong answers for `grade_id`: from WRONG above (the first six chapters); a later
    chapter keeps its own WRONG table in tests/test_exercises_<slug>.py, and this file runs
    every chapter's exercises against them."""
    if grade_id in WRONG:
        return WRONG[grade_id]
    slug = grade_id.split("-")[0]
    try:
        own = importlib.import_module(f"test_exercises_{slug}")
    except ModuleNotFoundError:
        own = None
    if grade_id in getattr(own, "WRONG", {}):
        return own.WRONG[grade_id]
    pytest.fail(
        f"no wrong answers for {grade_id}: add them to a WRONG table in "
        f"tests/test_exercises_{slug}.py (see that of the rnn chapter)"
    )


@pytest.mark.parametrize(("grade_id", "setup", "solution", "check"), PAIRS)
def test_check_fails_on_wrong_answers(grade_id, setup, solution, check):
    for old, new in wrong_answers(grade_id):
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
