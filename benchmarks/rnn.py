"""Time the NumPy LSTM (forward + backward) against torch.nn.LSTM on the CPU, in one run.

Run from the repository root: `python benchmarks/rnn.py` (add `--float32` for single precision).
Prints the best of several interleaved repeats of each and the ratio NumPy / torch. The goal
for the NumPy reference is a ratio of at most 2 in float64 at N=32, T=64, D=H=128. Both run on one
thread, so the ratio compares the algorithms, not the thread pools.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

import dlbook.numpy as dnp


def best_of_interleaved(fns, repeats: int) -> list[float]:
    """The best time of each function over `repeats` rounds, the functions run in turn, so that
    a change of load on the machine hits both alike."""
    for fn in fns:
        fn()  # warm-up
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--float32", action="store_true", help="single instead of double")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    N, T, D, H = 32, 64, 128, 128
    dtype, tdtype = (np.float32, torch.float32) if args.float32 else (np.float64, torch.float64)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(D, H, batch_first=True).to(tdtype)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, T, D)).astype(dtype)
    h0, c0 = np.zeros((N, H), dtype), np.zeros((N, H), dtype)
    dout = rng.normal(size=(N, T, H)).astype(dtype)
    w_ih, w_hh = (p.detach().numpy().astype(dtype) for p in (lstm.weight_ih_l0, lstm.weight_hh_l0))
    b = (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy().astype(dtype)

    def numpy_step() -> None:
        h_all, _, cache = dnp.lstm_forward(x, h0, c0, w_ih, w_hh, b)
        dnp.lstm_backward(dout, cache)

    tx, tdout = torch.tensor(x, requires_grad=True), torch.tensor(dout)

    def torch_step() -> None:
        lstm.zero_grad(set_to_none=True)
        tx.grad = None
        out, _ = lstm(tx)
        out.backward(tdout)

    with threadpool_limits(1):
        t_np, t_torch = best_of_interleaved([numpy_step, torch_step], args.repeats)
    name = "float32" if args.float32 else "float64"
    print(f"LSTM forward+backward, N={N} T={T} D={D} H={H}, {name}, 1 thread, CPU")
    print(f"  dlbook.numpy  {1e3 * t_np:8.2f} ms")
    print(f"  torch.nn.LSTM {1e3 * t_torch:8.2f} ms")
    print(f"  ratio NumPy / torch: {t_np / t_torch:.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
