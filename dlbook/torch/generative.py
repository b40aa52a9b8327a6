"""Training steps for GANs, autoencoders and VAEs, and the GAN loop built from them.

Book: chapter "Autoencoders and GANs" (`chapters/generative.ipynb`). Each `*_step` takes one
optimizer step and returns its losses as detached device tensors, so a loop can sum them in an
`EpochMeter` and read the device once per block of steps, as `fit` does once per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dlbook.progress import progress_bar
from dlbook.torch import train as _train

__all__ = [
    "d_step",
    "g_step",
    "gan_losses",
    "r1_penalty",
    "recon_step",
    "rejection_sample",
    "reparameterize",
    "train_gan",
    "vae_loss",
    "vae_step",
]


def gan_losses(d_real: Tensor, d_fake: Tensor) -> tuple[Tensor, Tensor]:
    """(discriminator loss, non-saturating generator loss) from the logits D(x) and D(G(z)).

    D minimises -log sigma(D(x)) - log(1 - sigma(D(G(z)))) = softplus(-D(x)) + softplus(D(G(z)))
    (eq-gen-minimax); G minimises -log sigma(D(G(z))) = softplus(-D(G(z))), the non-saturating
    loss of Goodfellow et al. (2014) (eq-gen-nonsat). Both are means over the batch (the last
    axis) and sums over any leading axis, which indexes models trained side by side
    (`stack_models`), so that each model gets the gradient of its own mean loss.
    """
    d_loss = (F.softplus(-d_real).mean(-1) + F.softplus(d_fake).mean(-1)).sum()
    return d_loss, F.softplus(-d_fake).mean(-1).sum()


def r1_penalty(D: nn.Module, real: Tensor) -> tuple[Tensor, Tensor]:
    """(D(real), E ||grad_x D(x)||^2 over the real batch), with a graph for the double backward.

    The R1 regulariser of Mescheder et al. (2018) (eq-gen-r1) penalises the squared gradient of
    D's logit at the data. Averaged over the batch (axis -2 of `real`), summed over models; with
    a packed D the gradient is that of the packed input, so the rows of a pack are summed.
    """
    real = real.detach().requires_grad_(True)
    logits = D(real)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    pack = getattr(D, "pack", 1)
    return logits, grad.pow(2).sum(-1).mean(-1).sum() * pack


def d_step(
    G: nn.Module,
    D: nn.Module,
    opt_d: torch.optim.Optimizer,
    real: Tensor,
    z: Tensor,
    *,
    r1: float = 0.0,
) -> Tensor:
    """One discriminator update on a batch of real samples and G(z); returns D's loss (detached).

    G(z) is computed without a graph: this step moves D only. With `r1` = gamma > 0 the loss
    gets the R1 penalty gamma / 2 * E ||grad_x D(x)||^2 on the real batch (eq-gen-r1); the
    returned loss includes it.
    """
    with torch.no_grad():
        fake = G(z)
    if r1 > 0:
        d_real, penalty = r1_penalty(D, real)
        d_loss = gan_losses(d_real, D(fake))[0] + 0.5 * r1 * penalty
    else:
        d_loss, _ = gan_losses(D(real), D(fake))
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    return d_loss.detach()


def g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, z: Tensor) -> Tensor:
    """One generator update with the non-saturating loss softplus(-D(G(z))); returns it (detached).

    The gradient flows through D into G, but only G's optimizer steps (D's gradients are left
    over and cleared by the next `d_step`).
    """
    g_loss = F.softplus(-D(G(z))).mean(-1).sum()  # as in gan_losses
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    return g_loss.detach()


def _sample_z(
    shape: tuple[int, ...], latent_dim: int, device: torch.device, generator: torch.Generator | None
) -> Tensor:
    return torch.randn(*shape, latent_dim, device=device, generator=generator)


def train_gan(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    real: Tensor,
    *,
    steps: int,
    batch_size: int,
    latent_dim: int,
    log_every: int = 100,
    models: int = 1,
    r1: float = 0.0,
    generator: torch.Generator | None = None,
    scheduler: Callable[[int], float] | None = None,
    on_log: Callable[[int, nn.Module], None] | None = None,
    progress: bool | None = None,
    desc: str = "GAN",
) -> dict[str, list[float]]:
    """Alternate `d_step` and `g_step` for `steps` steps on batches drawn from `real` (N, ...).

    Each step draws batch_size * D.pack real rows (with replacement, from `generator`) and as
    many z. With `models` = M > 1, G and D are M models stacked by `stack_models`: each step
    draws M such batches, shaped (M, n, ...), and the losses are sums over the M models. `r1`
    is passed to `d_step` (the R1 penalty's gamma; 0 for none). The losses are summed on the
    device in an `EpochMeter` and read once every `log_every` steps; `on_log(step, G)` is then
    called (to record samples). `scheduler(step)`, if given, returns the factor by which both
    learning rates are multiplied at that step.
    Returns {"step", "d_loss", "g_loss"}, one entry per block. A non-finite loss raises
    `FloatingPointError` naming the step function and the block of steps where it appeared.
    """
    sizes = (("steps", steps), ("batch_size", batch_size), ("log_every", log_every))
    for name, v in (*sizes, ("models", models)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{name} must be a positive int; got {v!r}")
    device = real.device
    n = batch_size * getattr(D, "pack", 1)
    shape = (n,) if models == 1 else (models, n)
    base = [[g["lr"] for g in opt.param_groups] for opt in (opt_g, opt_d)]
    history: dict[str, list[float]] = {"step": [], "d_loss": [], "g_loss": []}
    bar = progress_bar(steps, desc=desc, unit="step", progress=progress)
    meter = _train.EpochMeter(device)
    for step in range(1, steps + 1):
        if scheduler is not None:
            factor = scheduler(step - 1)
            for opt, lrs in zip((opt_g, opt_d), base, strict=True):
                for group, lr in zip(opt.param_groups, lrs, strict=True):
                    group["lr"] = lr * factor
        idx = torch.randint(len(real), shape, device=device, generator=generator)
        z = _sample_z(shape, latent_dim, device, generator)
        meter.add("d_loss", d_step(G, D, opt_d, real[idx], z, r1=r1), n=n)
        z = _sample_z(shape, latent_dim, device, generator)
        meter.add("g_loss", g_step(G, D, opt_g, z), n=n)
        if step % log_every == 0 or step == steps:
            means = meter.read()  # the one host sync of this block
            meter.reset()
            for key in ("d_loss", "g_loss"):
                if not math.isfinite(means[key]):
                    first = step - (step - 1) % log_every
                    raise FloatingPointError(
                        f"{key[0]}_step: the {key} became {means[key]} between steps {first} and "
                        f"{step}; lower the learning rates or check the data"
                    )
            history["step"].append(step)
            history["d_loss"].append(means["d_loss"])
            history["g_loss"].append(means["g_loss"])
            if on_log is not None:
                on_log(step, G)
        bar.update(1)
    bar.close()
    return history


@torch.no_grad()
def rejection_sample(
    G: nn.Module,
    D: nn.Module,
    n: int,
    *,
    latent_dim: int,
    candidates: int = 50_000,
    models: int = 1,
    generator: torch.Generator | None = None,
) -> Tensor:
    """n samples of G filtered by its discriminator: discriminator rejection sampling.

    If D were optimal, D* = p_data / (p_data + p_g) (eq-gen-dstar), its logit would be
    log(p_data / p_g), and accepting a sample x ~ p_g with probability
    exp(logit(x) - max logit) (eq-gen-drs) would turn p_g into p_data (rejection sampling).
    This is the idea of Azadi et al. (2019), in its plain form: the maximum is taken over the
    candidates.
    Draws `candidates` samples (per model), keeps the first n accepted; returns (n, d), or
    (models, n, d) for stacked models. Raises ValueError if fewer than n are accepted.
    D must judge single samples (pack = 1).
    """
    for name, v in (("n", n), ("candidates", candidates), ("models", models)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"{name} must be a positive int; got {v!r}")
    if getattr(D, "pack", 1) != 1:
        raise ValueError("rejection_sample needs a discriminator of single samples (pack = 1)")
    device = next(G.parameters()).device
    shape = (candidates,) if models == 1 else (models, candidates)
    x = G(_sample_z(shape, latent_dim, device, generator))
    logits = D(x)
    accept_p = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
    accept = torch.rand(shape, device=device, generator=generator) < accept_p
    x, accept = (x, accept) if models > 1 else (x[None], accept[None])
    if int(accept.sum(-1).min()) < n:
        raise ValueError(f"only {int(accept.sum(-1).min())} of {candidates} accepted; need {n}")
    out = torch.stack([xm[am][:n] for xm, am in zip(x, accept, strict=True)])
    return out if models > 1 else out[0]


# ---------------------------------------------------------------------------------------------
# Autoencoders and VAEs


def recon_step(
    model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, target: Tensor | None = None
) -> Tensor:
    """One step on the mean squared reconstruction error ||model(x) - target||^2 / dim, target =
    x by default; returns the loss (detached). A denoising autoencoder corrupts x itself."""
    loss = F.mse_loss(model(x), x if target is None else target)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor | None = None) -> Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2) and eps ~ N(0, I) (eq-gen-reparam).

    z is a differentiable function of mu and logvar; the randomness sits in eps, drawn here
    unless given.
    """
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps


def vae_loss(x: Tensor, logits: Tensor, mu: Tensor, logvar: Tensor) -> tuple[Tensor, Tensor]:
    """(reconstruction, KL), each summed over dimensions and averaged over the batch.

    reconstruction = -log p(x | z) for Bernoulli pixels with the given logits;
    KL = KL(N(mu, diag sigma^2) || N(0, I)) = 1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1)
    (eq-gen-kl). The negative ELBO is their sum (eq-gen-elbo).
    """
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum() / len(x)
    return recon, kl


def vae_step(
    model: nn.Module, opt: torch.optim.Optimizer, x: Tensor, *, beta: float = 1.0
) -> tuple[Tensor, Tensor]:
    """One step on the negative ELBO recon + beta * KL; returns (recon, KL) (detached)."""
    logits, mu, logvar = model(x)
    recon, kl = vae_loss(x, logits, mu, logvar)
    opt.zero_grad(set_to_none=True)
    (recon + beta * kl).backward()
    opt.step()
    return recon.detach(), kl.detach()
