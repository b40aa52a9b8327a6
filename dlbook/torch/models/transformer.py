"""A small decoder-only Transformer language model (GPT-style) with a KV cache.

Book: chapter "Attention and Transformers" (`chapters/attention.ipynb`), {ref}`sec-attention-gpt`.

`DecoderLM` embeds token ids, adds positional information (learned position embeddings or the
fixed sinusoids of Vaswani et al. 2017), runs `num_layers` pre-LayerNorm blocks of causal
multi-head self-attention and an MLP, and maps the final LayerNorm's output to logits with the
token embedding matrix itself (weight tying). Attention runs through
`F.scaled_dot_product_attention`, which picks a fused kernel on a GPU.

`generate` samples a continuation. With `use_cache=True` (the default) every block keeps the
keys and values of the tokens it has seen (the KV cache), so each new token costs one query
against the cache, O(T), instead of re-running the whole prefix, O(T²) for attention.
`windowed_bits_per_char` evaluates any character model on fixed-length windows.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlbook.checks import check_choice, check_int, check_positive
from dlbook.torch.models.rnn import _check_id_range, _sample, generation_args

__all__ = [
    "CausalSelfAttention",
    "DecoderBlock",
    "DecoderLM",
    "KVCache",
    "sinusoidal_positions",
    "windowed_bits_per_char",
]

KVCache = list[tuple[torch.Tensor, torch.Tensor]]  # one (keys, values) pair per block


def sinusoidal_positions(max_len: int, dim: int) -> torch.Tensor:
    """The (max_len, dim) sinusoids of Vaswani et al. (2017): PE[t, 2i] = sin(t / 10000^(2i/dim)),
    PE[t, 2i + 1] = cos(t / 10000^(2i/dim)). Book: {ref}`sec-attention-positions`."""
    max_len, dim = check_int("max_len", max_len), check_int("dim", dim)
    t = torch.arange(max_len, dtype=torch.float64)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    pe = torch.zeros(max_len, dim, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(t * freq)
    pe[:, 1::2] = torch.cos(t * freq[: dim // 2])
    return pe.float()


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention with one packed (3E, E) projection, as in
    `nn.MultiheadAttention`, computed by `F.scaled_dot_product_attention`."""

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if d_model % num_heads:
            raise ValueError(f"num_heads must divide d_model = {d_model}; got {num_heads}")
        self.num_heads = num_heads
        self.dropout = dropout
        self.in_proj = nn.Linear(d_model, 3 * d_model)
        self.out_proj = nn.Linear(d_model, d_model)

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """x (B, T, E) -> (B, T, E), and the keys and values (B, H, T_past + T, E/H) so far.

        With `past`, the T new positions come after the cached ones: each attends to every
        cached position and to the new positions up to itself.
        """
        b, t, e = x.shape
        q, k, v = self.in_proj(x).split(e, dim=-1)
        q, k, v = (
            z.view(b, t, self.num_heads, e // self.num_heads).transpose(1, 2) for z in (q, k, v)
        )
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        t_past = k.shape[2] - t
        p = self.dropout if self.training else 0.0
        if t_past == 0:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:  # query i (at position t_past + i) may see keys 0 .. t_past + i
            pos = torch.arange(k.shape[2], device=x.device)
            allowed = pos[None, :] <= (t_past + torch.arange(t, device=x.device))[:, None]
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        return self.out_proj(out.transpose(1, 2).reshape(b, t, e)), (k, v)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """The causal attention weights (B, H, T, T) for x (B, T, E), written out, since the
        fused kernel never forms them: softmax(q kᵀ / √d) with the future masked out."""
        b, t, e = x.shape
        q, k, _ = self.in_proj(x).split(e, dim=-1)
        q, k = (z.view(b, t, self.num_heads, e // self.num_heads).transpose(1, 2) for z in (q, k))
        scores = q @ k.transpose(-2, -1) / math.sqrt(e // self.num_heads)
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        return scores.masked_fill(future, float("-inf")).softmax(dim=-1)


class DecoderBlock(nn.Module):
    """Pre-LayerNorm block: x + attn(LN(x)), then h + MLP(LN(h)) with a GELU MLP of width 4E."""

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, num_heads, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            nn.Linear(d_model, 4 * d_model),
            nn.GELU(),
            nn.Linear(4 * d_model, d_model),
            nn.Dropout(dropout),
        )

    def forward(
        self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.attn(self.norm1(x), past)
        h = x + a  # residual connections: the block only adds to the stream
        return h + self.mlp(self.norm2(h)), kv


class DecoderLM(nn.Module):
    """A GPT-style character or token language model: ids (B, T) -> logits (B, T, V).

    `positions` is "learned" (an embedding per position, as in GPT) or "sinusoidal" (fixed,
    as in Vaswani et al. 2017). The output layer reuses the token embedding (weight tying), so
    the model has one V x E matrix, not two. `max_len` is the longest context.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        max_len: int = 128,
        *,
        positions: str = "learned",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size)
        self.max_len = check_int("max_len", max_len)
        check_int("d_model", d_model)
        check_int("num_heads", num_heads)
        check_int("num_layers", num_layers)
        self.positions = check_choice("positions", positions, ["learned", "sinusoidal"])
        dropout = check_positive("dropout", dropout, allow_zero=True)
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        if positions == "learned":
            self.pos_emb = nn.Parameter(torch.zeros(max_len, d_model))
        else:
            self.register_buffer(
                "pos_emb", sinusoidal_positions(max_len, d_model), persistent=False
            )
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(
            DecoderBlock(d_model, num_heads, dropout) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # weight tying
        self.apply(self._init)
        for block in self.blocks:  # GPT-2: scale the residual branches' last layers by depth
            for layer in (block.attn.out_proj, block.mlp[2]):
                nn.init.normal_(layer.weight, std=0.02 / math.sqrt(2 * num_layers))
        if positions == "learned":
            nn.init.normal_(self.pos_emb, std=0.02)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def _check_ids(self, x: torch.Tensor, start: int) -> None:
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"x must be integer ids of shape (B, T); got {x.dtype} {tuple(x.shape)}"
            )
        if x.shape[1] == 0 or start + x.shape[1] > self.max_len:
            raise ValueError(
                f"x must have 1 <= T <= max_len - cached = {self.max_len - start}; "
                f"got T = {x.shape[1]}"
            )
        _check_id_range(x, self.vocab_size)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Logits (B, T, V) for ids x (B, T). Position t sees only positions <= t.

        With a `cache` (a list, empty at first) the positions continue after the cached ones
        and each block appends its keys and values to it, replacing its entry.
        """
        start = cache[0][0].shape[2] if cache else 0
        self._check_ids(x, start)
        h = self.drop(self.tok_emb(x) + self.pos_emb[start : start + x.shape[1]])
        for i, block in enumerate(self.blocks):
            past = cache[i] if cache is not None and len(cache) > i else None
            h, kv = block(h, past)
            if cache is not None:
                if len(cache) > i:
                    cache[i] = kv
                else:
                    cache.append(kv)
        return self.head(self.norm(h))

    @torch.no_grad()
    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """The attention weights of every block, (L, B, H, T, T), for ids x (B, T)."""
        self._check_ids(x, 0)
        h = self.drop(self.tok_emb(x) + self.pos_emb[: x.shape[1]])
        maps = []
        for block in self.blocks:
            maps.append(block.attn.weights(block.norm1(h)))
            h, _ = block(h)
        return torch.stack(maps)

    @torch.no_grad()
    def generate(
        self,
        prompt_ids: torch.Tensor | np.ndarray | list[int],
        length: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
    ) -> torch.Tensor:
        """Sample `length` ids after `prompt_ids` (P,) or (B, P); returns prompt + samples.

        `temperature=0` is greedy; `top_k` keeps the k most likely ids. With `use_cache` each
        step feeds only the newest id and reuses the cached keys and values; without it each
        step re-runs the whole sequence. Both give the same ids. The total length may not
        exceed `max_len`.
        """
        prompt, length, temperature, top_k = generation_args(
            prompt_ids, length, temperature, top_k, self.vocab_size, self.tok_emb.weight.device
        )
        if prompt.shape[-1] + length > self.max_len:
            raise ValueError(
                f"prompt length + length must be <= max_len = {self.max_len}; "
                f"got {prompt.shape[-1]} + {length}"
            )
        ids = prompt[None] if prompt.dim() == 1 else prompt
        was_training = self.training
        self.eval()
        try:
            cache: KVCache | None = [] if use_cache else None
            logits = self(ids, cache)  # the whole prompt at once
            for _ in range(length):
                nxt = _sample(logits[:, -1], temperature, top_k, generator)  # (B, 1)
                ids = torch.cat([ids, nxt], dim=1)
                logits = self(nxt, cache) if use_cache else self(ids)
        finally:
            self.train(was_training)
        return ids[0] if prompt.dim() == 1 else ids


def windowed_bits_per_char(
    model: nn.Module,
    ids: torch.Tensor | np.ndarray,
    *,
    context: int = 128,
    batch_size: int = 64,
    device: torch.device | str | None = None,
) -> float:
    """Mean -log2 p(next char) over `ids` (L,), read in windows of `context` characters.

    Windows overlap by half: each window scores only its second half, so every scored
    character sees between context/2 and context - 1 characters before it (the first window
    scores everything). The model sees each window from scratch, with no state carried over:
    the same protocol for a Transformer and a recurrent network. `model(x)` may return logits
    (B, T, V) or a tuple whose first element they are (as `CharRNN` does).
    """
    context, batch_size = (
        check_int("context", context, minimum=2),
        check_int("batch_size", batch_size),
    )
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    if len(ids) <= context:
        raise ValueError(f"ids has {len(ids)} characters; need more than context = {context}")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    half = context // 2
    starts = torch.arange(0, len(ids) - context, half)
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    try:
        for i in range(0, len(starts), batch_size):
            cols = starts[i : i + batch_size, None] + torch.arange(context)
            x, y = ids[cols].to(device), ids[cols + 1].to(device)
            out = model(x)
            logits = out[0] if isinstance(out, tuple) else out
            nll = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none").view(y.shape)
            total += nll[:, half:].double().sum()
            count += nll[:, half:].numel()
            if i == 0:  # the first window also scores its first half
                total += nll[0, :half].double().sum()
                count += half
    finally:
        model.train(was_training)
    return total.item() / count / math.log(2)
