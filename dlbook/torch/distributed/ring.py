"""Ring all-reduce, simulated step by step in NumPy: how DDP's gradient averaging moves data.

Book: {ref}`sec-efficient-ddp`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from dlbook.checks import as_float_array

__all__ = ["RingAllReduce", "ring_allreduce"]


class RingAllReduce(NamedTuple):
    """`results[w]`: worker w's copy of the sum; `sent`: numbers each worker sent in all;
    `steps`: messages in sequence (2 (W - 1)); `trace[s][w][c]`: the ranks whose chunk c
    is summed into worker w's copy after step s (trace[0] is the start)."""

    results: list[np.ndarray]
    sent: int
    steps: int
    trace: list[list[list[frozenset[int]]]]


def ring_allreduce(arrays: Sequence[np.ndarray]) -> RingAllReduce:
    """Sum equal-length vectors held by W workers arranged in a ring; every worker gets the sum.

    Each vector is cut into W chunks. Reduce-scatter, W - 1 steps: in step s every worker w
    sends chunk (w - s) mod W to worker w + 1, which adds it to its own; afterwards worker w
    holds the complete sum of chunk (w + 1) mod W. All-gather, W - 1 more steps: the complete
    chunks travel once around the ring, overwriting. Each worker sends 2 (W - 1) / W of the
    vector in all, whatever W is, which is why the ring scales (Patarasuk & Yuan 2009).
    """
    if len(arrays) < 1:
        raise ValueError("arrays must hold one vector per worker; got none")
    vecs = [as_float_array(f"arrays[{i}]", a, shape=("N",)).copy() for i, a in enumerate(arrays)]
    if len({len(v) for v in vecs}) != 1:
        raise ValueError(f"arrays must have equal lengths; got {[len(v) for v in vecs]}")
    w_count = len(vecs)
    bounds = np.linspace(0, len(vecs[0]), w_count + 1).astype(int)
    chunk = [slice(bounds[c], bounds[c + 1]) for c in range(w_count)]
    held = [[frozenset({w}) for _ in range(w_count)] for w in range(w_count)]
    trace = [[list(row) for row in held]]
    sent = 0
    for phase in ("reduce-scatter", "all-gather"):
        for s in range(w_count - 1):
            # every worker sends at once: read all outgoing chunks before anyone updates
            offset = s if phase == "reduce-scatter" else s - 1
            outgoing = [
                (w, (w - offset) % w_count, vecs[w][chunk[(w - offset) % w_count]].copy())
                for w in range(w_count)
            ]
            for w, c, values in outgoing:
                nxt = (w + 1) % w_count
                if phase == "reduce-scatter":
                    vecs[nxt][chunk[c]] += values
                    held[nxt][c] = held[nxt][c] | held[w][c]
                else:
                    vecs[nxt][chunk[c]] = values
                    held[nxt][c] = held[w][c]
                if w == 0:
                    sent += len(values)
            trace.append([list(row) for row in held])
    return RingAllReduce(vecs, sent, 2 * (w_count - 1), trace)
