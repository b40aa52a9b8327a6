"""CartPole-v1 over several seeds: REINFORCE with a learned baseline, PPO and DQN, on the CPU.

For each algorithm and seed it trains with `dlbook.torch` (one torch thread), then runs the
greedy policy for 100 evaluation episodes on seeds apart from training's, and prints the
training time (wall-clock and CPU: on a shared machine the CPU time is the fairer number), the
environment steps, the evaluation mean and minimum, and whether the policy
is "solved" (evaluation mean >= 475, the threshold of CartPole-v1). The chapter trains one seed
of REINFORCE; this script gives the spread over seeds that one run cannot show.

- REINFORCE: the chapter's settings, stopping once the last 100 training episodes average 475.
- PPO: RL Baselines3 Zoo's tuned CartPole-v1 settings, 100k steps.
- DQN: RL Baselines3 Zoo's tuned CartPole-v1 settings, 50k steps (slow: many updates).

Run from the repository root: `python benchmarks/rl.py [--algos reinforce ppo dqn]
[--seeds 0 1 2]`.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

import dlbook.torch as dtorch

# The settings the chapter uses for REINFORCE with a baseline (keep in step with rl.ipynb).
REINFORCE = {"iterations": 150, "episodes_per_batch": 16, "lr": 0.01, "gamma": 0.99}


def train(algo: str, seed: int) -> tuple[torch.nn.Module, dtorch.RLHistory]:
    if algo == "reinforce":
        return dtorch.train_reinforce(seed=seed, target=475.0, progress=False, **REINFORCE)
    if algo == "ppo":
        return dtorch.train_ppo(seed=seed, progress=False)
    if algo == "dqn":
        return dtorch.train_dqn(seed=seed, progress=False)
    raise ValueError(f"unknown algorithm {algo!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", default=["reinforce", "ppo"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--episodes", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread, CPU")
    print(
        f"{'algorithm':10s} {'seed':>4s} {'wall s':>7s} {'CPU s':>6s} {'env steps':>10s} "
        f"{'eval mean':>9s} {'eval min':>8s}  solved"
    )
    for algo in args.algos:
        rows = []
        for seed in args.seeds:
            start, cpu_start = time.perf_counter(), time.process_time()
            model, history = train(algo, seed)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            returns = dtorch.evaluate_policy(model, episodes=args.episodes)
            rows.append((seconds, cpu, history.steps[-1], returns.mean(), returns.min()))
            print(
                f"{algo:10s} {seed:4d} {seconds:7.1f} {cpu:6.1f} {history.steps[-1]:10,d} "
                f"{returns.mean():9.1f} {returns.min():8.0f}  {returns.mean() >= 475}",
                flush=True,
            )
        secs, cpus, steps, means, _ = map(np.array, zip(*rows, strict=True))
        print(
            f"{algo:10s} over {len(rows)} seeds: train {secs.mean():.1f} s wall "
            f"(min {secs.min():.1f}, max {secs.max():.1f}), {cpus.mean():.1f} s CPU "
            f"(min {cpus.min():.1f}, max {cpus.max():.1f}), eval mean "
            f"{means.mean():.1f} (min {means.min():.1f}, max {means.max():.1f}), solved "
            f"{int((means >= 475).sum())}/{len(rows)}"
        )


if __name__ == "__main__":
    main()
