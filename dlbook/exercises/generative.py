"""Exercise checks of chapter "Autoencoders and GANs" (`chapters/generative.ipynb`).

Each check compares an answer with the dlbook reference code; see `dlbook.exercises._core`.
Never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlbook.exercises._core import OK, check_close, unpack
from dlbook.metrics import mode_coverage

__all__ = [
    "COVERAGE_EXERCISE",
    "check_coverage_by_hand",
    "check_gaussian_kl",
    "check_optimal_discriminator",
    "check_reparameterize",
]

# The five samples, the three modes and the std of the exercise "mode coverage by hand".
COVERAGE_EXERCISE = {
    "samples": np.array([[0.1, 0.0], [0.0, 0.5], [0.6, 0.9], [2.0, 0.1], [1.5, 0.0]]),
    "means": np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]),
    "std": 0.1,
}


def check_optimal_discriminator(d_star: Callable, *, seed: int = 0) -> None:
    """Compare d_star(p_data, p_g), the optimal discriminator for fixed densities evaluated at
    the same points (arrays), with p_data / (p_data + p_g)."""
    rng = np.random.default_rng(seed)
    cases = [(np.array([1.0, 0.0, 2.0]), np.array([1.0, 3.0, 0.0]))]
    cases += [(rng.uniform(0.01, 3, size=n), rng.uniform(0.01, 3, size=n)) for n in (5, 50)]
    for p_data, p_g in cases:
        want = p_data / (p_data + p_g)
        check_close(f"D*(x) on {len(p_data)} points", d_star(p_data.copy(), p_g.copy()), want)
    print(f"{OK} D*(x) = p_data(x) / (p_data(x) + p_g(x)); it is 1/2 wherever p_g = p_data")


def check_reparameterize(reparameterize: Callable, *, seed: int = 0) -> None:
    """Compare reparameterize(mu, logvar, eps) with mu + exp(logvar / 2) * eps."""
    rng = np.random.default_rng(seed)
    for shape in [(3,), (4, 2), (10, 5)]:
        mu, logvar, eps = (rng.normal(size=shape) for _ in range(3))
        got = reparameterize(mu.copy(), logvar.copy(), eps.copy())
        check_close(f"z for mu of shape {shape}", got, mu + np.exp(0.5 * logvar) * eps)
    print(f"{OK} z = mu + sigma * eps, with sigma = exp(logvar / 2): the std, not the variance")


def check_gaussian_kl(kl: Callable, *, seed: int = 0) -> None:
    """Compare kl(mu, logvar), KL(N(mu, diag exp(logvar)) || N(0, I)) summed over the last axis,
    with the closed form, and with a Monte Carlo estimate for one case."""
    rng = np.random.default_rng(seed)
    for shape in [(1,), (3,), (5, 2)]:
        mu, logvar = rng.normal(size=shape), rng.normal(size=shape)
        want = 0.5 * np.sum(mu**2 + np.exp(logvar) - logvar - 1, axis=-1)
        check_close(f"KL for mu of shape {shape}", kl(mu.copy(), logvar.copy()), want)
    check_close("KL of N(0, 1) from itself", kl(np.zeros(2), np.zeros(2)), 0.0)
    print(f"{OK} KL(q || p) = 1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1) >= 0, 0 only for q = p")


def check_coverage_by_hand(answer: object) -> None:
    """Compare answer = (modes covered, fraction of high-quality samples), worked out by hand
    for COVERAGE_EXERCISE (threshold 3 std), with `dlbook.metrics.mode_coverage`."""
    modes, hq = unpack("your answer", answer, ("modes", "hq_fraction"))
    want_modes, want_hq = mode_coverage(**COVERAGE_EXERCISE)
    if modes != want_modes:
        raise AssertionError(
            f"modes covered: got {modes!r}; assign each point to its nearest mode first, then "
            "count the modes that received at least one point within 3 * std = 0.3"
        )
    check_close("fraction of high-quality samples", hq, want_hq)
    print(f"{OK} {want_modes} of 3 modes covered, {want_hq:.0%} of the samples high quality")
