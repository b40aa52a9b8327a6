"""Forward + backward time of the NumPy convolution (`dlbook.numpy.conv`) against torch's, on CPU.

Both compute the two convolutions of LeNet on one batch of 64 MNIST-sized images: conv1 with 6
filters of 5x5 on 64x1x28x28 (padding 2), then conv2 with 16 filters of 5x5 on 64x6x14x14, each
forward and backward (dx, dw, db) with the same upstream gradient. torch runs
`F.conv2d` + `autograd.grad` on the CPU; NumPy runs `conv2d_forward` + `conv2d_backward`
(im2col, one matrix product, col2im). Both run in float32, what one normally trains in, and in
float64, the precision of the parity tests. Each time is the median of `--repeats` interleaved
runs after a warm-up; the ratio is NumPy time / torch time (the goal is <= 3 in float32).
`--threads T` gives torch and NumPy's BLAS T threads each (default: the libraries' defaults).

Run from the repository root: `python benchmarks/conv.py [--batch 64] [--repeats 50] [--threads 1]`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import dlbook.numpy as dnp

# (in channels, filters, image size, padding) of LeNet's two convolutions, kernels 5x5
LAYERS = ((1, 6, 28, 2), (6, 16, 14, 0))


def make_inputs(batch: int, dtype: np.dtype, rng: np.random.Generator) -> list[tuple]:
    """(x, w, b, dout, padding) per layer, as NumPy arrays of `dtype`."""
    cases = []
    for c, f, size, pad in LAYERS:
        x = rng.normal(size=(batch, c, size, size)).astype(dtype)
        w = (rng.normal(size=(f, c, 5, 5)) / np.sqrt(25 * c)).astype(dtype)
        b = rng.normal(size=f).astype(dtype)
        out = size + 2 * pad - 4
        dout = rng.normal(size=(batch, f, out, out)).astype(dtype)
        cases.append((x, w, b, dout, pad))
    return cases


def numpy_step(cases: list[tuple]) -> None:
    for x, w, b, dout, pad in cases:
        _, cache = dnp.conv2d_forward(x, w, b, padding=pad)
        dnp.conv2d_backward(dout, cache)


def torch_step(cases: list[tuple]) -> None:
    for x, w, b, dout, pad in cases:
        out = F.conv2d(x, w, b, padding=pad)
        torch.autograd.grad(out, (x, w, b), dout)


def to_torch(cases: list[tuple]) -> list[tuple]:
    return [
        (
            torch.from_numpy(x).requires_grad_(),
            torch.from_numpy(w).requires_grad_(),
            torch.from_numpy(b).requires_grad_(),
            torch.from_numpy(dout),
            pad,
        )
        for x, w, b, dout, pad in cases
    ]


def check_agreement(cases: list[tuple], tcases: list[tuple]) -> float:
    """Largest relative difference between the two implementations' dx, dw and db."""
    worst = 0.0
    for (x, w, b, dout, pad), (xt, wt, bt, doutt, _) in zip(cases, tcases, strict=True):
        _, cache = dnp.conv2d_forward(x, w, b, padding=pad)
        ours = dnp.conv2d_backward(dout, cache)
        theirs = torch.autograd.grad(F.conv2d(xt, wt, bt, padding=pad), (xt, wt, bt), doutt)
        for a, t in zip(ours, theirs, strict=True):
            t = t.numpy()
            worst = max(worst, float(np.abs(a - t).max() / (np.abs(t).max() + 1e-30)))
    return worst


def median_times(cases: list[tuple], tcases: list[tuple], repeats: int) -> tuple[float, float]:
    numpy_step(cases), torch_step(tcases)  # warm-up
    t_np, t_torch = [], []
    for _ in range(repeats):  # interleaved, so that both see the same machine state
        start = time.perf_counter()
        numpy_step(cases)
        t_np.append(time.perf_counter() - start)
        start = time.perf_counter()
        torch_step(tcases)
        t_torch.append(time.perf_counter() - start)
    return statistics.median(t_np), statistics.median(t_torch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for torch and for NumPy's BLAS"
    )
    args = parser.parse_args()
    if args.threads is not None:  # the same number for both, so that the ratio is fair
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads, user_api="blas")
    print(
        f"LeNet convolutions, batch {args.batch}: conv1 6@5x5 on {args.batch}x1x28x28 (padding 2), "
        f"conv2 16@5x5 on {args.batch}x6x14x14; forward + backward; torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads, numpy {np.__version__}"
    )
    for dtype in (np.float32, np.float64):
        cases = make_inputs(args.batch, dtype, np.random.default_rng(args.seed))
        tcases = to_torch(cases)
        diff = check_agreement(cases, tcases)
        t_np, t_torch = median_times(cases, tcases, args.repeats)
        print(
            f"{np.dtype(dtype).name}: numpy {1e3 * t_np:.2f} ms, torch {1e3 * t_torch:.2f} ms, "
            f"ratio numpy/torch = {t_np / t_torch:.2f}x (max relative difference {diff:.1e})"
        )


if __name__ == "__main__":
    main()
