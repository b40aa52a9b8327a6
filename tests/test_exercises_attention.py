"""dlbook.exercises.attention: every check passes on a right answer and fails on wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

import dlbook.numpy as dnp
from dlbook import exercises


def right_attention(q, k, v, mask=None):
    s = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    return (w / w.sum(axis=-1, keepdims=True)) @ v


def right_step(q_t, k_t, v_t, cache):
    k, v = (
        (k_t, v_t)
        if cache is None
        else (np.concatenate([cache[0], k_t], 1), np.concatenate([cache[1], v_t], 1))
    )
    return right_attention(q_t, k, v), (k, v)


def right_count(e, f):
    return 4 * e * e + 4 * e + 2 * e * f + f + e + 4 * e


def test_checks_pass_on_right_answers(capsys):
    exercises.check_causal_mask(lambda t: np.tril(np.ones((t, t), dtype=bool)))
    exercises.check_attention(right_attention)
    exercises.check_block_param_count(right_count)
    exercises.check_kv_cache_step(right_step)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(line.startswith("\u2714") for line in lines)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda t: np.tril(np.ones((t, t))),  # not boolean
        lambda t: np.tril(np.ones((t, t), dtype=bool), -1),  # diagonal excluded
        lambda t: np.triu(np.ones((t, t), dtype=bool)),  # the future, not the past
        lambda t: np.ones((t, t + 1), dtype=bool),
    ],
)
def test_causal_mask_check_fails(wrong):
    with pytest.raises(AssertionError):
        exercises.check_causal_mask(wrong)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda q, k, v, mask=None: right_attention(
            q * np.sqrt(q.shape[-1]), k, v, mask
        ),  # no scale
        lambda q, k, v, mask=None: right_attention(
            q * np.sqrt(q.shape[-1] / v.shape[-1]), k, v, mask
        ),  # 1/sqrt(dv)
        lambda q, k, v, mask=None: right_attention(q, k, v, None),  # mask ignored
        lambda q, k, v, mask=None: right_attention(q, k, v, mask).transpose(0, 2, 1),
    ],
)
def test_attention_check_fails(wrong):
    with pytest.raises(AssertionError):
        exercises.check_attention(wrong)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda e, f: 4 * e * e + 2 * e * f,  # biases and norms forgotten
        lambda e, f: right_count(e, f) - 2 * e,  # one LayerNorm
        lambda e, f: 3 * e * e + 3 * e + 2 * e * f + f + e + 4 * e,  # no output projection
    ],
)
def test_param_count_check_fails(wrong):
    with pytest.raises(AssertionError):
        exercises.check_block_param_count(wrong)


def test_kv_step_check_fails_without_the_cache():
    def forgets(q_t, k_t, v_t, cache):  # attends to the newest position only
        return right_attention(q_t, k_t, v_t), None

    def overwrites(q_t, k_t, v_t, cache):  # keeps the first keys and values only
        cache = (k_t, v_t) if cache is None else cache
        return right_attention(q_t, *cache), cache

    for wrong in (forgets, overwrites):
        with pytest.raises(AssertionError):
            exercises.check_kv_cache_step(wrong)


def test_reference_count_matches_torch():
    torch = pytest.importorskip("torch")
    layer = torch.nn.TransformerEncoderLayer(16, 4, 64)
    assert sum(p.numel() for p in layer.parameters()) == right_count(16, 64)
    assert len(dnp.BLOCK_PARAMS) == len(dict(layer.named_parameters()))


# ---------------------------------------------------------------------------------------------
# The notebook's exercise cells: solution passes, student stub and wrong answers fail

import nbformat  # noqa: E402
from conftest import CHAPTERS, exercise_pairs  # noqa: E402

WRONG = {
    "attention-scaled-dot-product": [
        (" / np.sqrt(q.shape[-1])", ""),
        ("scores = np.where(mask, scores, -np.inf)", "pass"),
        ("weights = weights / weights.sum(axis=-1, keepdims=True)", "pass"),
    ],
    "attention-causal-mask": [
        ("return j <= i", "return j < i"),
        ("return j <= i", "return j >= i"),
        ("return j <= i", "return (j <= i).astype(int)"),
    ],
    "attention-block-params": [
        ("4 * e * e + 4 * e", "4 * e * e"),
        ("norms = 2 * 2 * e", "norms = 2 * e"),
        ("e * f + f + f * e + e", "2 * e * f"),
    ],
    "attention-kv-cache": [
        ("return out_t, (keys, values)", "return out_t, cache"),
        (
            "keys = np.concatenate([cache[0], k_t], axis=1)\n"
            "        values = np.concatenate([cache[1], v_t], axis=1)",
            "keys, values = k_t, v_t",
        ),
    ],
}

PAIRS = exercise_pairs(nbformat.read(CHAPTERS / "attention.ipynb", as_version=4))


def test_the_chapter_has_the_exercises_listed_here():
    assert sorted(g for g, *_ in PAIRS) == sorted(WRONG)
