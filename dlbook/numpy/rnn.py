"""Recurrent layers in NumPy: a tanh RNN, the LSTM, the GRU, and an embedding table.

Book: chapter "Recurrent networks" (`chapters/rnn.ipynb`), sections {ref}`sec-rnn-bptt`,
{ref}`sec-rnn-lstm` and {ref}`sec-rnn-gru`.

Shapes and layouts are torch's (`batch_first=True`): x is (N, T, D), hidden states (N, H),
w_ih is (G*H, D) and w_hh (G*H, H) with G = 1 (RNN), 4 (LSTM, gate order i, f, g, o) or
3 (GRU, gate order r, z, n). For the RNN and the LSTM, `b` is torch's `b_ih + b_hh`; the GRU
keeps both biases, because b_hh of its n gate sits inside the reset gate's product.

Step, then sequence: the part of every gate that depends only on the input, x_t w_ih^T + b, does
not depend on the hidden state, so the sequence functions compute it for all T steps in one
matrix product. The step functions take that input part, `a_x` (N, G*H), and do only what must
be sequential. The sequence functions loop over the steps, keep their caches in a NamedTuple,
walk time in reverse in the backward pass carrying dh (and dc), and sum the weight gradients.

float32 in gives float32 out; anything else is computed in float64. Never imports torch.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dlbook.checks import as_float_array, as_index_array, check_cache, shapes

__all__ = [
    "EmbeddingCache",
    "GRUCache",
    "GRUStepCache",
    "LSTMCache",
    "LSTMStepCache",
    "RNNCache",
    "RNNStepCache",
    "embedding_backward",
    "embedding_forward",
    "gru_backward",
    "gru_forward",
    "gru_step_backward",
    "gru_step_forward",
    "lstm_backward",
    "lstm_forward",
    "lstm_step_backward",
    "lstm_step_forward",
    "rnn_backward",
    "rnn_forward",
    "rnn_step_backward",
    "rnn_step_forward",
]


# ---------------------------------------------------------------------------------------------
# Vanilla (Elman) RNN


class RNNStepCache(NamedTuple):
    h_prev: np.ndarray  # (N, H)
    h_next: np.ndarray  # (N, H)
    w_hh: np.ndarray  # (H, H)


class RNNCache(NamedTuple):
    steps: tuple[RNNStepCache, ...]  # one per time step
    x: np.ndarray  # (N, T, D)
    w_ih: np.ndarray  # (H, D)


@shapes(a_x="N H", h_prev="N H", w_hh="H H")
def rnn_step_forward(
    a_x: np.ndarray, h_prev: np.ndarray, w_hh: np.ndarray
) -> tuple[np.ndarray, RNNStepCache]:
    """One step h_next = tanh(a_x + h_prev w_hh^T), a_x = x_t w_ih^T + b (N, H).

    Book: {ref}`sec-rnn-bptt`.
    """
    h_next = np.tanh(a_x + h_prev @ w_hh.T)  # eq-rnn-step
    return h_next, RNNStepCache(h_prev, h_next, w_hh)


def rnn_step_backward(
    dh_next: np.ndarray, cache: RNNStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (da_x (N, H), dh_prev (N, H), dw_hh (H, H)) given dh_next = dL/dh_next."""
    h_prev, h_next, w_hh = check_cache(cache, RNNStepCache)
    dh_next = as_float_array("dh_next", dh_next, shape=h_next.shape, dtype=h_next.dtype)
    da = dh_next * (1 - h_next**2)  # tanh'(a) = 1 - tanh(a)^2
    return da, da @ w_hh, da.T @ h_prev  # eq-rnn-jacobian: dh_prev = da w_hh


@shapes(x="N T D", h0="N H", w_ih="H D", w_hh="H H", b="H")
def rnn_forward(
    x: np.ndarray, h0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, RNNCache]:
    """A tanh RNN over x (N, T, D) from h0 (N, H); returns h_all (N, T, H) and the cache.

    Equals `torch.nn.RNN(D, H, batch_first=True)` with b = b_ih + b_hh. Book: {ref}`sec-rnn-bptt`.
    """
    a_x = x @ w_ih.T + b  # the input part of every step at once: (N, T, H)
    h, steps, h_all = h0, [], []
    for t in range(x.shape[1]):
        h, step = rnn_step_forward(a_x[:, t], h, w_hh)
        steps.append(step)
        h_all.append(h)
    return np.stack(h_all, axis=1), RNNCache(tuple(steps), x, w_ih)


def rnn_backward(
    dh_all: np.ndarray, cache: RNNCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Backpropagation through time: (dx, dh0, dw_ih, dw_hh, db) given dh_all (N, T, H)."""
    steps, x, w_ih = check_cache(cache, RNNCache)
    dh_all = as_float_array("dh_all", dh_all, shape=(*x.shape[:2], w_ih.shape[0]), dtype=x.dtype)
    da_x = np.empty_like(dh_all)
    dh = np.zeros_like(dh_all[:, 0])  # the gradient arriving from step t + 1
    dw_hh = np.zeros_like(steps[0].w_hh)
    for t in reversed(range(len(steps))):
        da_x[:, t], dh, dw = rnn_step_backward(dh_all[:, t] + dh, steps[t])  # eq-bptt
        dw_hh += dw
    n, t_len, d = x.shape
    da_flat = da_x.reshape(n * t_len, -1)
    dw_ih = da_flat.T @ x.reshape(n * t_len, d)
    return da_x @ w_ih, dh, dw_ih, dw_hh, da_flat.sum(axis=0)


# ---------------------------------------------------------------------------------------------
# LSTM (gate order i, f, g, o)


class LSTMStepCache(NamedTuple):
    h_prev: np.ndarray  # (N, H)
    c_prev: np.ndarray  # (N, H)
    gates: np.ndarray  # (N, 4H): i, f, g, o after their nonlinearities
    tanh_c: np.ndarray  # (N, H): tanh(c_next)
    w_hh: np.ndarray  # (4H, H)


class LSTMCache(NamedTuple):
    steps: tuple[LSTMStepCache, ...]
    x: np.ndarray  # (N, T, D)
    w_ih: np.ndarray  # (4H, D)


@shapes(a_x="N 4H", h_prev="N H", c_prev="N H", w_hh="4H H")
def lstm_step_forward(
    a_x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, w_hh: np.ndarray
) -> tuple[np.ndarray, np.ndarray, LSTMStepCache]:
    """One LSTM step; a_x = x_t w_ih^T + b (N, 4H). Returns (h_next, c_next, cache).

    Book: {ref}`sec-rnn-lstm`.
    """
    a = a_x + h_prev @ w_hh.T  # (N, 4H) pre-activations, gate order i, f, g, o
    H = h_prev.shape[1]
    gates = np.empty_like(a)
    # sigmoid(a) = (1 + tanh(a / 2)) / 2, which cannot overflow, for the gates i, f and o
    gates[:, : 2 * H] = 0.5 + 0.5 * np.tanh(0.5 * a[:, : 2 * H])  # input and forget gates
    gates[:, 2 * H : 3 * H] = np.tanh(a[:, 2 * H : 3 * H])  # candidate g
    gates[:, 3 * H :] = 0.5 + 0.5 * np.tanh(0.5 * a[:, 3 * H :])  # output gate
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    c_next = f * c_prev + i * g  # eq-lstm-cell
    tanh_c = np.tanh(c_next)
    return o * tanh_c, c_next, LSTMStepCache(h_prev, c_prev, gates, tanh_c, w_hh)


def lstm_step_backward(
    dh_next: np.ndarray, dc_next: np.ndarray, cache: LSTMStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (da_x (N, 4H), dh_prev, dc_prev, dw_hh) given dL/dh_next and dL/dc_next."""
    h_prev, c_prev, gates, tanh_c, w_hh = check_cache(cache, LSTMStepCache)
    dh_next, dc_next = (
        as_float_array(name, g, shape=h_prev.shape, dtype=h_prev.dtype)
        for name, g in (("dh_next", dh_next), ("dc_next", dc_next))
    )
    H = h_prev.shape[1]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    dc = dc_next + dh_next * o * (1 - tanh_c**2)  # h = o tanh(c): both paths into c
    dgates = np.concatenate([dc * g, dc * c_prev, dc * i, dh_next * tanh_c], axis=1)
    # through the nonlinearities: sigma' = s (1 - s) for i, f, o; tanh' = 1 - g^2 for g
    slope = gates * (1 - gates)
    slope[:, 2 * H : 3 * H] = 1 - g**2
    da = dgates * slope
    return da, da @ w_hh, dc * f, da.T @ h_prev  # eq-lstm-grad: dc_prev = dc * f


@shapes(x="N T D", h0="N H", c0="N H", w_ih="4H D", w_hh="4H H", b="4H")
def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b: np.ndarray,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], LSTMCache]:
    """An LSTM over x (N, T, D); returns h_all (N, T, H), (h_T, c_T) and the cache.

    Equals `torch.nn.LSTM(D, H, batch_first=True)` with b = b_ih + b_hh. Book: {ref}`sec-rnn-lstm`.
    """
    a_x = x @ w_ih.T + b  # the input part of every gate at every step: (N, T, 4H)
    h, c, steps, h_all = h0, c0, [], []
    for t in range(x.shape[1]):
        h, c, step = lstm_step_forward(a_x[:, t], h, c, w_hh)
        steps.append(step)
        h_all.append(h)
    return np.stack(h_all, axis=1), (h, c), LSTMCache(tuple(steps), x, w_ih)


def lstm_backward(
    dh_all: np.ndarray, cache: LSTMCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx, dh0, dc0, dw_ih, dw_hh, db) given dh_all = dL/dh_all (N, T, H)."""
    steps, x, w_ih = check_cache(cache, LSTMCache)
    dh_all = as_float_array(
        "dh_all", dh_all, shape=(*x.shape[:2], w_ih.shape[0] // 4), dtype=x.dtype
    )
    n, t_len, d = x.shape
    da_x = np.empty((n, t_len, w_ih.shape[0]), dtype=x.dtype)
    dh, dc = np.zeros_like(dh_all[:, 0]), np.zeros_like(dh_all[:, 0])
    dw_hh = np.zeros_like(steps[0].w_hh)
    for t in reversed(range(t_len)):
        da_x[:, t], dh, dc, dw = lstm_step_backward(dh_all[:, t] + dh, dc, steps[t])
        dw_hh += dw
    da_flat = da_x.reshape(n * t_len, -1)
    dw_ih = da_flat.T @ x.reshape(n * t_len, d)
    return da_x @ w_ih, dh, dc, dw_ih, dw_hh, da_flat.sum(axis=0)


# ---------------------------------------------------------------------------------------------
# GRU (gate order r, z, n)


class GRUStepCache(NamedTuple):
    h_prev: np.ndarray  # (N, H)
    r: np.ndarray  # (N, H) reset gate
    z: np.ndarray  # (N, H) update gate
    n: np.ndarray  # (N, H) candidate
    a_hn: np.ndarray  # (N, H): h_prev w_hn^T + b_hn, the part the reset gate scales
    w_hh: np.ndarray  # (3H, H)


class GRUCache(NamedTuple):
    steps: tuple[GRUStepCache, ...]
    x: np.ndarray  # (N, T, D)
    w_ih: np.ndarray  # (3H, D)


@shapes(a_x="N 3H", h_prev="N H", w_hh="3H H", b_hh="3H")
def gru_step_forward(
    a_x: np.ndarray, h_prev: np.ndarray, w_hh: np.ndarray, b_hh: np.ndarray
) -> tuple[np.ndarray, GRUStepCache]:
    """One GRU step; a_x = x_t w_ih^T + b_ih (N, 3H). Returns (h_next, cache).

    Book: {ref}`sec-rnn-gru`.
    """
    H = h_prev.shape[1]
    a_h = h_prev @ w_hh.T + b_hh  # (N, 3H), gate order r, z, n
    rz = 0.5 + 0.5 * np.tanh(0.5 * (a_x[:, : 2 * H] + a_h[:, : 2 * H]))  # sigmoid; eq-gru
    r, z = rz[:, :H], rz[:, H:]
    n = np.tanh(a_x[:, 2 * H :] + r * a_h[:, 2 * H :])
    h_next = (1 - z) * n + z * h_prev
    return h_next, GRUStepCache(h_prev, r, z, n, a_h[:, 2 * H :], w_hh)


def gru_step_backward(
    dh_next: np.ndarray, cache: GRUStepCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (da_x (N, 3H), dh_prev, dw_hh, db_hh) given dh_next = dL/dh_next."""
    h_prev, r, z, n, a_hn, w_hh = check_cache(cache, GRUStepCache)
    dh_next = as_float_array("dh_next", dh_next, shape=h_prev.shape, dtype=h_prev.dtype)
    dn = dh_next * (1 - z) * (1 - n**2)  # into n's pre-activation
    dz = dh_next * (h_prev - n) * z * (1 - z)  # h = n + z (h_prev - n)
    dr = dn * a_hn * r * (1 - r)
    da_x = np.concatenate([dr, dz, dn], axis=1)
    da_h = np.concatenate([dr, dz, dn * r], axis=1)  # the reset gate scales a_hn
    dh_prev = dh_next * z + da_h @ w_hh
    return da_x, dh_prev, da_h.T @ h_prev, da_h.sum(axis=0)


@shapes(x="N T D", h0="N H", w_ih="3H D", w_hh="3H H", b_ih="3H", b_hh="3H")
def gru_forward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray,
    b_hh: np.ndarray,
) -> tuple[np.ndarray, GRUCache]:
    """A GRU over x (N, T, D) from h0 (N, H); returns h_all (N, T, H) and the cache.

    Equals `torch.nn.GRU(D, H, batch_first=True)`. Book: {ref}`sec-rnn-gru`.
    """
    a_x = x @ w_ih.T + b_ih  # (N, T, 3H) for all steps at once
    h, steps, h_all = h0, [], []
    for t in range(x.shape[1]):
        h, step = gru_step_forward(a_x[:, t], h, w_hh, b_hh)
        steps.append(step)
        h_all.append(h)
    return np.stack(h_all, axis=1), GRUCache(tuple(steps), x, w_ih)


def gru_backward(
    dh_all: np.ndarray, cache: GRUCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (dx, dh0, dw_ih, dw_hh, db_ih, db_hh) given dh_all = dL/dh_all (N, T, H)."""
    steps, x, w_ih = check_cache(cache, GRUCache)
    dh_all = as_float_array(
        "dh_all", dh_all, shape=(*x.shape[:2], w_ih.shape[0] // 3), dtype=x.dtype
    )
    n, t_len, d = x.shape
    da_x = np.empty((n, t_len, w_ih.shape[0]), dtype=x.dtype)
    dh = np.zeros_like(dh_all[:, 0])
    dw_hh, db_hh = np.zeros_like(steps[0].w_hh), np.zeros(w_ih.shape[0], dtype=x.dtype)
    for t in reversed(range(t_len)):
        da_x[:, t], dh, dw, db = gru_step_backward(dh_all[:, t] + dh, steps[t])
        dw_hh += dw
        db_hh += db
    da_flat = da_x.reshape(n * t_len, -1)
    dw_ih = da_flat.T @ x.reshape(n * t_len, d)
    return da_x @ w_ih, dh, dw_ih, dw_hh, da_flat.sum(axis=0), db_hh


# ---------------------------------------------------------------------------------------------
# Embedding


class EmbeddingCache(NamedTuple):
    idx: np.ndarray  # (N, T) int64
    w_shape: tuple[int, int]  # (V, D)
    dtype: np.dtype


@shapes(idx="int: N T", w="V D")
def embedding_forward(idx: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, EmbeddingCache]:
    """Look up rows: out[n, t] = w[idx[n, t]], out (N, T, D); equals `F.embedding(idx, w)`.

    Book: {ref}`sec-rnn-charlm`.
    """
    idx = as_index_array("idx", idx, high=w.shape[0])
    return w[idx], EmbeddingCache(idx, w.shape, w.dtype)


def embedding_backward(dout: np.ndarray, cache: EmbeddingCache) -> np.ndarray:
    """dw (V, D) given dout (N, T, D): each row of w collects the gradients of its lookups."""
    idx, w_shape, dtype = check_cache(cache, EmbeddingCache)
    dout = as_float_array("dout", dout, shape=(*idx.shape, w_shape[1]), dtype=dtype)
    dw = np.zeros(w_shape, dtype=dtype)
    np.add.at(dw, idx.ravel(), dout.reshape(-1, w_shape[1]))  # repeated ids add up
    return dw
