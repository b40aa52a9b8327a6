"""Multi-head attention, NumPy (`dlbook.numpy.attention`) against torch, forward + backward on CPU.

Both compute causal self-attention of `nn.MultiheadAttention(E, heads, batch_first=True)` on
x (N, T, E) = (16, 128, 128) with 4 heads, forward and backward (dx and the four weight
gradients) for the same upstream gradient: torch with `F.multi_head_attention_forward` +
`autograd.grad`, NumPy with `multihead_attention_forward` + `multihead_attention_backward`.
Float64 is the precision of the parity tests (goal: NumPy <= 2x torch), float32 what one trains
in. Each time is the median of `--repeats` interleaved runs after a warm-up; the ratio is NumPy
time / torch time. `--threads T` gives torch and NumPy's BLAS T threads each.

When CUDA is available it also times the training throughput (tokens per second) of
`dtorch.DecoderLM` in float32, with bf16 autocast, and with bf16 + `torch.compile`; on a CPU
that part is skipped.

Run from the repository root: `python benchmarks/attention.py [--repeats 20] [--threads 1]`.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import dlbook.numpy as dnp
import dlbook.torch as dtorch

N, T, E, HEADS = 16, 128, 128, 4


def make_inputs(dtype: np.dtype, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "x": rng.normal(size=(N, T, E)).astype(dtype),
        "in_proj_weight": (rng.normal(size=(3 * E, E)) / np.sqrt(E)).astype(dtype),
        "in_proj_bias": rng.normal(size=3 * E).astype(dtype),
        "out_proj_weight": (rng.normal(size=(E, E)) / np.sqrt(E)).astype(dtype),
        "out_proj_bias": rng.normal(size=E).astype(dtype),
        "dout": rng.normal(size=(N, T, E)).astype(dtype),
    }


def numpy_step(a: dict[str, np.ndarray], mask: np.ndarray) -> tuple:
    x = a["x"]
    weights = (a["in_proj_weight"], a["in_proj_bias"], a["out_proj_weight"], a["out_proj_bias"])
    _, cache = dnp.multihead_attention_forward(x, x, *weights, HEADS, mask)
    dx_q, dx_kv, *grads = dnp.multihead_attention_backward(a["dout"], cache)
    return (dx_q + dx_kv, *grads)


def torch_step(t: dict[str, torch.Tensor], blocked: torch.Tensor) -> tuple:
    x = t["x"].transpose(0, 1)  # (T, N, E), the functional form's layout
    out, _ = F.multi_head_attention_forward(
        x, x, x, E, HEADS, t["in_proj_weight"], t["in_proj_bias"], None, None, False, 0.0,
        t["out_proj_weight"], t["out_proj_bias"], training=True, need_weights=False,
        attn_mask=blocked,
    )  # fmt: skip
    wrt = (t["x"], t["in_proj_weight"], t["in_proj_bias"], t["out_proj_weight"], t["out_proj_bias"])
    return torch.autograd.grad(out.transpose(0, 1), wrt, t["dout"])


def to_torch(a: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).requires_grad_(k != "dout") for k, v in a.items()}


def time_cpu(dtype: np.dtype, repeats: int, rng: np.random.Generator) -> tuple[float, float, float]:
    """(median NumPy seconds, median torch seconds, largest relative gradient difference)."""
    a = make_inputs(dtype, rng)
    t = to_torch(a)
    mask = dnp.causal_mask(T)
    blocked = torch.from_numpy(~mask)  # torch's functional MHA: True = blocked
    worst = 0.0
    for ours, theirs in zip(numpy_step(a, mask), torch_step(t, blocked), strict=True):
        theirs = theirs.numpy()
        worst = max(worst, float(np.abs(ours - theirs).max() / (np.abs(theirs).max() + 1e-30)))
    numpy_times, torch_times = [], []
    for _ in range(repeats):  # interleaved, so that both see the same machine load
        start = time.perf_counter()
        numpy_step(a, mask)
        numpy_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        torch_step(t, blocked)
        torch_times.append(time.perf_counter() - start)
    return statistics.median(numpy_times), statistics.median(torch_times), worst


def time_gpu_training(steps: int = 50) -> None:
    """Tokens per second of DecoderLM training on CUDA: float32, bf16 autocast, bf16 + compile."""
    device = torch.device("cuda")
    vocab, seq, batch = 65, 256, 64
    x = torch.randint(0, vocab, (batch, seq), device=device)
    y = torch.randint(0, vocab, (batch, seq), device=device)
    print(f"\nDecoderLM training on {torch.cuda.get_device_name()}: batch {batch} x {seq} tokens")
    for label, amp, compile_model in (
        ("float32", None, False),
        ("bf16 autocast", torch.bfloat16, False),
        ("bf16 + torch.compile", torch.bfloat16, True),
    ):
        dtorch.seed_everything(0)
        model = dtorch.DecoderLM(vocab, 384, 6, 6, max_len=seq).to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
        run = torch.compile(model) if compile_model else model

        def step(run=run, opt=opt, amp=amp) -> None:
            with torch.autocast("cuda", dtype=amp, enabled=amp is not None):
                loss = F.cross_entropy(run(x).flatten(0, 1).float(), y.flatten())
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)

        try:
            for _ in range(5):  # warm-up (and compilation)
                step()
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(steps):
                step()
            torch.cuda.synchronize()
        except Exception as err:  # torch.compile needs a working compiler toolchain
            print(f"{label:22s} skipped: {type(err).__name__}: {str(err).splitlines()[0][:80]}")
            continue
        rate = steps * batch * seq / (time.perf_counter() - start)
        print(f"{label:22s} {rate:14,.0f} tokens/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads, user_api="blas")
    rng = np.random.default_rng(0)
    print(
        f"causal multi-head self-attention, N={N}, T={T}, E={E}, {HEADS} heads, forward + "
        f"backward, CPU, torch threads: {torch.get_num_threads()}"
    )
    print(
        f"{'dtype':8s} {'NumPy (ms)':>11s} {'torch (ms)':>11s} {'ratio':>7s} {'max rel. diff':>14s}"
    )
    for dtype in (np.float64, np.float32):
        t_np, t_torch, diff = time_cpu(np.dtype(dtype), args.repeats, rng)
        print(
            f"{np.dtype(dtype).name:8s} {1e3 * t_np:11.2f} {1e3 * t_torch:11.2f} "
            f"{t_np / t_torch:7.2f} {diff:14.1e}"
        )
    print("(ratio = NumPy time / torch time; goal <= 2 in float64)")
    if torch.cuda.is_available():
        time_gpu_training()
    else:
        print("\nno CUDA device: the DecoderLM training-throughput part (bf16, compile) is skipped")


if __name__ == "__main__":
    main()
