"""dlbook.torch.models.rnn: CharRNN's shapes and state, sampling, bits per character."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import dlbook.torch as dtorch


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_forward_shapes_and_carried_state(cell, num_layers):
    torch.manual_seed(0)
    model = dtorch.CharRNN(11, 5, 7, cell=cell, num_layers=num_layers)
    x = torch.randint(0, 11, (3, 8))
    logits, state = model(x)
    assert logits.shape == (3, 8, 11)
    h = state[0] if cell == "lstm" else state
    assert h.shape == (num_layers, 3, 7)
    # two chunks with the state carried equal one pass over the whole sequence
    first, s = model(x[:, :5])
    second, _ = model(x[:, 5:], s)
    torch.testing.assert_close(torch.cat([first, second], dim=1), logits)


def test_detach_state_cuts_the_graph():
    model = dtorch.CharRNN(5, 3, 4)
    _, state = model(torch.zeros(2, 3, dtype=torch.int64))
    cut = dtorch.detach_state(state)
    assert all(s.grad_fn is None for s in cut) and all(s.grad_fn is not None for s in state)
    assert dtorch.detach_state(None) is None


def test_generate_is_reproducible_and_respects_top_k():
    torch.manual_seed(0)
    model = dtorch.CharRNN(13, 4, 8)
    prompt = torch.tensor([1, 2, 3])
    a = model.generate(prompt, 20, generator=torch.Generator().manual_seed(5))
    b = model.generate(prompt, 20, generator=torch.Generator().manual_seed(5))
    assert a.shape == (23,) and torch.equal(a, b) and torch.equal(a[:3], prompt)
    greedy = model.generate(prompt, 10, temperature=0)
    assert torch.equal(greedy, model.generate(prompt, 10, temperature=0))
    assert torch.equal(greedy, model.generate(prompt, 10, top_k=1))  # top-1 is greedy
    batch = model.generate(torch.tensor([[1, 2], [3, 4]]), 5, top_k=3)
    assert batch.shape == (2, 7)
    assert model.training  # restored


def test_top_k_samples_only_the_k_most_likely():
    torch.manual_seed(0)
    model = dtorch.CharRNN(20, 4, 8)
    prompt = torch.tensor([0])
    logits, _ = model(prompt[None])
    allowed = set(logits[0, -1].topk(3).indices.tolist())
    g = torch.Generator().manual_seed(0)
    firsts = {
        int(model.generate(prompt, 1, top_k=3, temperature=5.0, generator=g)[1]) for _ in range(60)
    }
    assert firsts <= allowed and len(firsts) > 1


def test_bits_per_char_of_a_uniform_model_is_log2_v():
    model = dtorch.CharRNN(16, 3, 4)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    bpc = dtorch.bits_per_char(model, np.arange(200) % 16, seq_len=7, batch_size=3)
    assert bpc == pytest.approx(math.log2(16))


def test_bits_per_char_matches_a_direct_computation():
    torch.manual_seed(0)
    model = dtorch.CharRNN(9, 3, 5)
    ids = torch.randint(0, 9, (101,))
    logits, _ = model(ids[None, :-1])
    direct = torch.nn.functional.cross_entropy(logits[0], ids[1:]).item() / math.log(2)
    assert dtorch.bits_per_char(model, ids, seq_len=30, batch_size=1) == pytest.approx(direct)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda m: m(torch.zeros(3, dtype=torch.int64)),
            r"x must be integer ids of shape \(B, T\)",
        ),
        (lambda m: m(torch.full((1, 2), 9)), r"x must hold ids in \[0, 9\)"),
        (lambda m: m(torch.tensor([[-1, 2]])), r"x must hold ids in \[0, 9\); got -1\.\.2"),
        (lambda m: m.generate([1], 3, temperature=-1.0), "temperature must be"),
        (lambda m: m.generate([1], 3, top_k=0), "top_k must be an int >= 1"),
        (lambda m: m.generate([], 3), r"prompt_ids must have shape"),
        (lambda m: dtorch.CharRNN(9, 3, 4, cell="transformer"), "cell must be one of"),
    ],
)
def test_bad_arguments(call, match):
    model = dtorch.CharRNN(9, 3, 4)
    with pytest.raises(ValueError, match=match):
        call(model)
