"""A character-level recurrent language model, and the helpers to train and evaluate it.

Book: chapter "Recurrent networks" (`chapters/rnn.ipynb`), section {ref}`sec-rnn-charlm`.

`CharRNN` embeds character ids, runs them through an LSTM (or a GRU, or a tanh RNN) and maps
every hidden state to logits over the vocabulary. `forward(x, state)` returns the new state,
so that a long text can be processed in chunks with the state carried over (truncated
backpropagation through time; `detach_state` cuts the graph between chunks). `generate`
samples a continuation at a temperature, optionally from the top-k characters only.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from dlbook.checks import check_choice, check_int, check_positive

__all__ = ["CharRNN", "bits_per_char", "detach_state"]

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None
_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _check_id_range(x: torch.Tensor, vocab_size: int) -> None:
    """ValueError unless every id in x lies in [0, vocab_size).

    The smallest and largest id come back to the host in one transfer (on a GPU, one wait per
    call). While torch.compile traces a model the check is skipped, since a traced graph cannot
    branch on tensor values; the eager model checks every call.
    """
    is_compiling = getattr(torch.compiler, "is_compiling", lambda: False)
    if x.numel() == 0 or is_compiling():
        return
    lo, hi = torch.stack(torch.aminmax(x)).tolist()
    if lo < 0 or hi >= vocab_size:
        raise ValueError(f"x must hold ids in [0, {vocab_size}); got {lo}..{hi}")


class CharRNN(nn.Module):
    """Embedding (V -> E), a recurrent stack (E -> H, `num_layers` deep), a linear head (H -> V).

    `cell` is "lstm" (default), "gru" or "rnn" (tanh). `dropout` applies between stacked
    layers, as in `nn.LSTM`. Inputs are int64 ids (B, T); outputs logits (B, T, V).
    """

    def __init__(
        self,
        vocab_size: int,
        embed_dim: int,
        hidden_size: int,
        *,
        cell: str = "lstm",
        num_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size)
        self.cell = check_choice("cell", cell, list(_CELLS))
        check_int("embed_dim", embed_dim)
        check_int("hidden_size", hidden_size)
        check_int("num_layers", num_layers)
        dropout = check_positive("dropout", dropout, allow_zero=True)
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = _CELLS[cell](
            embed_dim,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: torch.Tensor, state: State = None) -> tuple[torch.Tensor, State]:
        """Logits (B, T, V) for ids x (B, T), and the state after the last step.

        `state` is None (zeros) or what the previous call returned: h (layers, B, H) for a GRU
        or RNN, (h, c) for an LSTM.
        """
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"x must be integer ids of shape (B, T); got {x.dtype} {tuple(x.shape)}"
            )
        _check_id_range(x, self.vocab_size)
        out, state = self.rnn(self.embed(x), state)
        return self.head(out), state

    @torch.no_grad()
    def generate(
        self,
        prompt_ids: torch.Tensor | np.ndarray | list[int],
        length: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Sample `length` ids after `prompt_ids` (P,) or (B, P); returns prompt + samples.

        Each next id is drawn from softmax(logits / temperature), restricted to the `top_k`
        most likely ids when `top_k` is given. `temperature=0` picks the most likely id (greedy).
        Pass a seeded `torch.Generator` (on the model's device) for reproducible samples.
        """
        prompt, length, temperature, top_k = generation_args(
            prompt_ids, length, temperature, top_k, self.vocab_size, next(self.parameters()).device
        )
        squeeze = prompt.dim() == 1
        ids = prompt[None] if squeeze else prompt
        was_training = self.training
        self.eval()
        try:
            logits, state = self(ids)  # read the whole prompt once
            new = []
            for _ in range(length):
                nxt = _sample(logits[:, -1], temperature, top_k, generator)  # (B, 1)
                new.append(nxt)
                logits, state = self(nxt, state)
        finally:
            self.train(was_training)
        out = torch.cat([ids, *new], dim=1)
        return out[0] if squeeze else out


def generation_args(
    prompt_ids: object,
    length: object,
    temperature: object,
    top_k: object,
    vocab_size: int,
    device: torch.device,
) -> tuple[torch.Tensor, int, float, int | None]:
    """Check the arguments of a language model's `generate`; shared by CharRNN and DecoderLM."""
    prompt = torch.as_tensor(prompt_ids, dtype=torch.int64, device=device)
    if prompt.dim() not in (1, 2) or prompt.shape[-1] == 0:
        raise ValueError(
            f"prompt_ids must have shape (P,) or (B, P), P >= 1; got {tuple(prompt.shape)}"
        )
    length = check_int("length", length, minimum=0)
    temperature = check_positive("temperature", temperature, allow_zero=True)
    if top_k is not None:
        top_k = min(check_int("top_k", top_k), vocab_size)
    return prompt, length, temperature, top_k


def _sample(
    logits: torch.Tensor, temperature: float, top_k: int | None, generator: torch.Generator | None
) -> torch.Tensor:
    """One id per row of logits (B, V): greedy at temperature 0, else sampled."""
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits.float() / temperature
    if top_k is not None:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.multinomial(F.softmax(logits, dim=-1), 1, generator=generator)


def detach_state(state: State) -> State:
    """The same state cut from the graph that produced it (truncated BPTT between chunks)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)  # type: ignore[return-value]
    return state.detach()


@torch.no_grad()
def bits_per_char(
    model: nn.Module,
    ids: torch.Tensor | np.ndarray,
    *,
    seq_len: int = 256,
    batch_size: int = 16,
    device: torch.device | str | None = None,
) -> float:
    """Mean -log2 p(next char) over `ids` (L,), read as `batch_size` streams with carried state.

    `model(x, state)` must return (logits (B, T, V), state); the state is carried from chunk to
    chunk, as in training. The last few characters that do not fill a chunk are left out.
    """
    seq_len, batch_size = check_int("seq_len", seq_len), check_int("batch_size", batch_size)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    ids = torch.as_tensor(np.asarray(ids), dtype=torch.int64)
    stream = (len(ids) - 1) // batch_size
    if stream < 1:
        raise ValueError(f"ids has {len(ids)} characters; need more than batch_size {batch_size}")
    rows = torch.arange(batch_size)[:, None] * stream
    was_training = model.training
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    count, state = 0, None
    try:
        for start in range(0, stream, seq_len):
            cols = rows + start + torch.arange(min(seq_len, stream - start))
            x, y = ids[cols].to(device), ids[cols + 1].to(device)
            logits, state = model(x, state)
            total += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").double()
            count += y.numel()
    finally:
        model.train(was_training)
    return total.item() / count / math.log(2)  # nats -> bits
