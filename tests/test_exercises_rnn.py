"""dlbook.exercises.rnn: every check passes on a right answer and fails on wrong ones, and on
the chapter's solutions, stubs and wrong variants."""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from conftest import CHAPTERS, exercise_pairs

from dlbook import exercises


def right_backward(dh_next, h_prev, h_next, w_hh):
    da = dh_next * (1 - h_next**2)
    return da, da @ w_hh, da.T @ h_prev


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def right_gru(x, h, w_ih, w_hh, b_ih, b_hh):
    H = h.shape[1]
    ax, ah = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    r, z = sigmoid(ax[:, :H] + ah[:, :H]), sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    n = np.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
    return (1 - z) * n + z * h


def right_count(d, h, layers):
    return 4 * h * (d + h) + 8 * h + (layers - 1) * (4 * h * 2 * h + 8 * h)


def test_checks_pass_on_right_answers(capsys):
    exercises.check_rnn_step_backward(right_backward)
    exercises.check_lstm_param_count(right_count)
    exercises.check_gru_step(right_gru)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("\u2714") for line in lines)


def test_param_count_reference_is_torchs():
    torch = pytest.importorskip("torch")
    for d, h, layers in ((3, 7, 1), (65, 256, 2), (5, 4, 3)):
        lstm = torch.nn.LSTM(d, h, layers)
        assert sum(p.numel() for p in lstm.parameters()) == right_count(d, h, layers)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda dh, hp, hn, w: (dh * (1 - hn), *right_backward(dh, hp, hn, w)[1:]),
        lambda dh, hp, hn, w: (
            right_backward(dh, hp, hn, w)[0],
            dh @ w,
            right_backward(dh, hp, hn, w)[2],
        ),
        lambda dh, hp, hn, w: (
            *right_backward(dh, hp, hn, w)[:2],
            right_backward(dh, hp, hn, w)[2].T,
        ),
        lambda dh, hp, hn, w: right_backward(dh, hp, hn, w)[:2],
    ],
)
def test_rnn_step_backward_check_fails(wrong):
    with pytest.raises(AssertionError):
        exercises.check_rnn_step_backward(wrong)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda d, h, n: 4 * h * (d + h) + 4 * h + (n - 1) * (8 * h * h + 4 * h),  # one bias
        lambda d, h, n: n * (4 * h * (d + h) + 8 * h),  # upper layers take D as input
        lambda d, h, n: 4 * h * (d + h) + 8 * h,  # one layer only
    ],
)
def test_lstm_param_count_check_fails(wrong):
    with pytest.raises(AssertionError, match="Hint"):
        exercises.check_lstm_param_count(wrong)


def wrong_gru(variant):
    def step(x, h, w_ih, w_hh, b_ih, b_hh):
        H = h.shape[1]
        ax, ah = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
        r, z = sigmoid(ax[:, :H] + ah[:, :H]), sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
        if variant == "bias outside r":
            n = np.tanh(ax[:, 2 * H :] + r * (ah[:, 2 * H :] - b_hh[2 * H :]) + b_hh[2 * H :])
        else:
            n = np.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
        if variant == "z swapped":
            return z * n + (1 - z) * h
        return (1 - z) * n + z * h

    return step


@pytest.mark.parametrize("variant", ["bias outside r", "z swapped"])
def test_gru_check_fails(variant):
    with pytest.raises(AssertionError, match="Hint"):
        exercises.check_gru_step(wrong_gru(variant))


# The chapter's own exercise cells: the solution passes, the stub and wrong variants fail.
WRONG = {
    "rnn-step-backward": [
        ("dh_next * (1 - h_next**2)", "dh_next * (1 - h_next)"),
        ("da @ w_hh", "da @ w_hh.T"),
        ("da.T @ h_prev", "h_prev.T @ da"),
    ],
    "rnn-lstm-params": [
        ("+ 2 * 4 * hidden_size", "+ 4 * hidden_size"),
        ("input_size if layer == 0 else hidden_size", "input_size"),
    ],
    "rnn-gru-step": [
        ("z * h_prev", "z * n"),
        ("r * a_h[:, 2 * H :]", "a_h[:, 2 * H :]"),
    ],
}
NOTEBOOK = CHAPTERS / "rnn.ipynb"
PAIRS = exercise_pairs(nbformat.read(NOTEBOOK, as_version=4)) if NOTEBOOK.exists() else []


def test_the_wrong_answers_cover_exactly_the_chapters_exercises():
    # tests/test_exercises.py runs every exercise of the chapter against this WRONG table
    assert {p[0] for p in PAIRS} == set(WRONG)
