"""dlbook.torch.models.transformer: causality, KV-cache generation, weight tying, positions,
attention weights, the windowed evaluation and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dlbook.numpy as dnp
import dlbook.torch as dtorch

V = 11


def model(positions="learned", dtype=torch.float64, **kw):
    torch.manual_seed(0)
    m = dtorch.DecoderLM(
        V, d_model=16, num_heads=4, num_layers=2, max_len=32, positions=positions, **kw
    )
    with torch.no_grad():  # larger weights than the init, so that outputs differ visibly
        for p in m.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return m.to(dtype).eval()


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_logits_shape_and_causality(positions):
    m = model(positions)
    x = torch.randint(0, V, (3, 10))
    logits = m(x)
    assert logits.shape == (3, 10, V)
    x2 = x.clone()
    x2[:, 6:] = (x2[:, 6:] + 1) % V  # change the future
    logits2 = m(x2)
    torch.testing.assert_close(logits[:, :6], logits2[:, :6])
    assert not torch.allclose(logits[:, 6:], logits2[:, 6:])


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_cached_forward_equals_full_forward(positions):
    m = model(positions)
    x = torch.randint(0, V, (2, 12))
    full = m(x)
    cache = []
    parts = [m(x[:, :5], cache), m(x[:, 5:6], cache), m(x[:, 6:], cache)]
    torch.testing.assert_close(torch.cat(parts, dim=1), full)
    assert len(cache) == 2 and cache[0][0].shape == (2, 4, 12, 4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_cached_and_uncached_generation_give_identical_tokens(positions, dtype):
    m = model(positions, dtype)
    prompt = torch.randint(0, V, (2, 4))
    greedy = [m.generate(prompt, 20, temperature=0, use_cache=c) for c in (True, False)]
    torch.testing.assert_close(greedy[0], greedy[1], rtol=0, atol=0)
    sampled = [
        m.generate(
            prompt, 20, temperature=1.0, generator=torch.Generator().manual_seed(7), use_cache=c
        )
        for c in (True, False)
    ]
    torch.testing.assert_close(sampled[0], sampled[1], rtol=0, atol=0)
    assert sampled[0].shape == (2, 24)
    torch.testing.assert_close(sampled[0][:, :4], prompt)
    assert not torch.equal(sampled[0], greedy[0])  # sampling is not greedy decoding
    top1 = m.generate(prompt, 20, top_k=1, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(top1, greedy[0], rtol=0, atol=0)


def test_generate_from_1d_prompt_and_keeps_training_mode():
    m = model().train()
    out = m.generate([1, 2, 3], 5, temperature=0.5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (8,) and out.dtype == torch.int64 and m.training


def test_weight_tying_shares_one_matrix():
    m = dtorch.DecoderLM(V, d_model=16, num_heads=2, num_layers=1, max_len=8)
    assert m.head.weight is m.tok_emb.weight
    names = [n for n, _ in m.named_parameters()]
    assert "head.weight" not in names  # counted once
    untied = sum(p.numel() for p in m.parameters()) + V * 16
    assert sum(p.numel() for p in m.parameters()) == untied - V * 16


def test_sinusoidal_positions_formula():
    pe = dtorch.sinusoidal_positions(50, 8)
    assert pe.shape == (50, 8)
    t, i = 13, 2
    assert pe[t, 2 * i].item() == pytest.approx(math.sin(t / 10000 ** (2 * i / 8)), abs=1e-6)
    assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(t / 10000 ** (2 * i / 8)), abs=1e-6)
    m = dtorch.DecoderLM(
        V, d_model=8, num_heads=2, num_layers=1, max_len=50, positions="sinusoidal"
    )
    assert "pos_emb" not in dict(m.named_parameters())  # fixed, not learned


def test_attention_weights_match_numpy_attention():
    m = model()
    x = torch.randint(0, V, (2, 7))
    w = m.attention_weights(x)
    assert w.shape == (2, 2, 4, 7, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 2, 4, 7, dtype=torch.float64))
    assert torch.all(w[..., ~torch.tensor(dnp.causal_mask(7))] == 0)
    # block 0, recomputed with dnp.attention_forward from the projected queries and keys
    block = m.blocks[0]
    h = block.norm1(m.tok_emb(x) + m.pos_emb[:7])
    q, k, v = block.attn.in_proj(h).split(16, dim=-1)
    split = lambda z: z.view(2, 7, 4, 4).transpose(1, 2).reshape(8, 7, 4).detach().numpy()  # noqa: E731
    _, cache = dnp.attention_forward(split(q), split(k), split(v), dnp.causal_mask(7))
    np.testing.assert_allclose(cache.weights.reshape(2, 4, 7, 7), w[0].numpy(), rtol=1e-10)


def test_sdpa_path_matches_written_out_attention():
    m = model()
    attn = m.blocks[1].attn
    x = torch.randn(2, 6, 16, dtype=torch.float64)
    out, _ = attn(x)
    _, _, v = attn.in_proj(x).split(16, dim=-1)
    v = v.view(2, 6, 4, 4).transpose(1, 2)
    manual = (attn.weights(x) @ v).transpose(1, 2).reshape(2, 6, 16)
    torch.testing.assert_close(out, attn.out_proj(manual))


def test_training_reduces_loss_on_a_repeating_sequence():
    torch.manual_seed(0)
    m = dtorch.DecoderLM(5, d_model=16, num_heads=2, num_layers=1, max_len=16)
    seq = torch.arange(17) % 5
    x, y = seq[:-1][None].repeat(8, 1), seq[1:][None].repeat(8, 1)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        loss = F.cross_entropy(m(x).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]
    assert m.generate([0, 1], 8, temperature=0).tolist() == [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]


def test_windowed_bits_per_char_of_a_uniform_model_is_log2_v():
    class Uniform(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.zeros(*x.shape, V) + 0 * self.p, None  # a tuple, as CharRNN returns

    ids = np.random.default_rng(0).integers(0, V, 500)
    bpc = dtorch.windowed_bits_per_char(Uniform(), ids, context=16, batch_size=7)
    assert bpc == pytest.approx(math.log2(V))


def test_windowed_bits_per_char_counts_each_scored_character_once():
    m = model()
    ids = np.random.default_rng(0).integers(0, V, 200)
    a = dtorch.windowed_bits_per_char(m, ids, context=16, batch_size=3)
    b = dtorch.windowed_bits_per_char(m, ids, context=16, batch_size=100)
    assert a == pytest.approx(b, rel=1e-10)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m(torch.zeros(2, 40, dtype=torch.int64)), "T <= max_len"),
        (lambda m: m(torch.full((1, 3), V)), r"ids in \[0, 11\)"),
        (lambda m: m(torch.zeros(3)), r"shape \(B, T\)"),
        (lambda m: m.generate([1, 2], 31), "must be <= max_len = 32"),
        (lambda m: m.generate([], 3), "prompt_ids must have shape"),
        (lambda m: m.generate([1], 3, temperature=-1.0), "temperature"),
    ],
)
def test_rejects_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(model())


def test_rejects_bad_configuration():
    with pytest.raises(ValueError, match="num_heads must divide d_model = 10"):
        dtorch.DecoderLM(V, d_model=10, num_heads=4)
    with pytest.raises(ValueError, match="positions must be one of"):
        dtorch.DecoderLM(V, positions="rotary")
