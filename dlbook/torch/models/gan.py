"""Generative models: GANs for 2-D points and small images, an autoencoder and a VAE.

Book: chapter "Autoencoders and GANs" (`chapters/generative.ipynb`). The training steps that go
with them (`d_step`, `g_step`, `vae_step`, ...) are in `dlbook.torch.generative`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "VAE",
    "Autoencoder",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "MinibatchStd",
    "StackedLinear",
    "count_parameters",
    "stack_models",
]


def _int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}")
    return value


def _mlp(sizes: Sequence[int], act: type[nn.Module], **act_kwargs: float) -> list[nn.Module]:
    """Linear, act, Linear, act, ..., Linear through the widths `sizes` (no final activation)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act(**act_kwargs))
    return layers


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters (scalars) of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------------------------
# GANs for 2-D data. Book: {ref}`sec-gen-gan`, {ref}`sec-gen-modes`.


class MLPGenerator(nn.Sequential):
    """G: z (N, latent_dim) -> x (N, out_dim) through `depth` hidden ReLU layers of `hidden`."""

    def __init__(
        self, latent_dim: int = 2, hidden: int = 64, out_dim: int = 2, *, depth: int = 2
    ) -> None:
        for name, v in (("latent_dim", latent_dim), ("hidden", hidden), ("out_dim", out_dim)):
            _int(name, v)
        _int("depth", depth)
        super().__init__(*_mlp([latent_dim] + [hidden] * depth + [out_dim], nn.ReLU))
        self.latent_dim = latent_dim


class MinibatchStd(nn.Module):
    """Append one feature that measures the diversity of the batch: h (..., N, F) -> (..., N, F+1).

    The feature is the standard deviation of each of the F features over the N rows of the batch,
    averaged over the features: s = mean_f sqrt(var_n h[n, f] + eps), the same value appended to
    every row (eq-gen-mbstd). It is the "minibatch standard deviation" of Karras et al. (2018), a
    parameter-free form of the minibatch discrimination of Salimans et al. (2016). The variance is
    the biased one, and eps keeps the gradient finite when all rows are equal. Leading axes (the
    models of `stack_models`) are kept apart. Book: {ref}`sec-gen-mbstd`.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        super().__init__()
        if not eps > 0:
            raise ValueError(f"eps must be positive; got {eps!r}")
        self.eps = float(eps)

    def forward(self, h: Tensor) -> Tensor:
        if h.ndim < 2 or h.shape[-2] < 2:
            raise ValueError(f"h must have shape (..., N, F) with N >= 2; got {tuple(h.shape)}")
        dev = h - h.mean(dim=-2, keepdim=True)
        var = (dev * dev).mean(dim=-2, keepdim=True)  # (..., 1, F): the biased variance over N
        s = torch.sqrt(var + self.eps).mean(dim=-1, keepdim=True)  # (..., 1, 1)
        return torch.cat([h, s.expand(*h.shape[:-1], 1)], dim=-1)


class MLPDiscriminator(nn.Module):
    """D: x (..., N, in_dim) -> logits (..., N // pack), LeakyReLU(0.2) hidden layers.

    With `pack` = m > 1 this is PacGAN's packed discriminator (Lin et al., 2018): each group of
    m consecutive samples, all real or all generated, is concatenated into one input of size
    m * in_dim, and D judges the group. N must be a multiple of `pack`. Book: {ref}`sec-gen-pacgan`.
    With `minibatch_std=True`, a `MinibatchStd` layer before the output layer gives D one more
    feature, the spread of the last hidden layer over the batch (Karras et al., 2018), so D can
    tell a batch of near-identical samples from a real one. D's outputs then depend on the whole
    batch: judge real and generated batches separately (as `d_step` does), each of several rows.
    Book: {ref}`sec-gen-mbstd`.
    """

    def __init__(
        self,
        in_dim: int = 2,
        hidden: int = 64,
        *,
        depth: int = 2,
        pack: int = 1,
        minibatch_std: bool = False,
    ) -> None:
        super().__init__()
        _int("in_dim", in_dim), _int("hidden", hidden), _int("depth", depth)
        if not isinstance(minibatch_std, bool):
            raise ValueError(f"minibatch_std must be a bool; got {minibatch_std!r}")
        self.in_dim, self.pack = in_dim, _int("pack", pack)
        self.minibatch_std = minibatch_std
        sizes = [in_dim * pack] + [hidden] * depth
        layers = _mlp(sizes, nn.LeakyReLU, negative_slope=0.2)
        layers.append(nn.LeakyReLU(negative_slope=0.2))  # after the last hidden layer
        if minibatch_std:
            layers += [MinibatchStd(), nn.Linear(hidden + 1, 1)]
        else:
            layers.append(nn.Linear(hidden, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[-1] != self.in_dim or x.shape[-2] % self.pack:
            raise ValueError(
                f"x must have shape (..., N, {self.in_dim}) with N a multiple of pack = "
                f"{self.pack}; got {tuple(x.shape)}"
            )
        # rows i*m .. i*m + m - 1 become one packed input (eq-gen-pack)
        packed = x.reshape(*x.shape[:-2], -1, self.pack * self.in_dim)
        return self.net(packed).squeeze(-1)


class StackedLinear(nn.Module):
    """M independent linear layers applied at once: x (M, N, in) -> (M, N, out).

    Built from M `nn.Linear` layers of one shape; layer m computes x[m] @ W_m^T + b_m, all in one
    batched matrix product. Book: {ref}`sec-gen-vanilla`.
    """

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        if not layers or len({tuple(layer.weight.shape) for layer in layers}) != 1:
            raise ValueError("layers must be a non-empty sequence of nn.Linear of one shape")
        self.weight = nn.Parameter(torch.stack([la.weight.detach().T for la in layers]).clone())
        self.bias = nn.Parameter(torch.stack([la.bias.detach() for la in layers])[:, None].clone())

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 3 or x.shape[0] != len(self.weight) or x.shape[2] != self.weight.shape[1]:
            raise ValueError(
                f"x must have shape ({len(self.weight)}, N, {self.weight.shape[1]}); "
                f"got {tuple(x.shape)}"
            )
        return torch.baddbmm(self.bias, x, self.weight)


def stack_models(models: Sequence[nn.Module]) -> nn.Module:
    """One module that runs M models of the same architecture side by side.

    Every `nn.Linear` of the first model is replaced by a `StackedLinear` holding the M models'
    weights; everything else (activations, `pack`) is the first model's. The result maps inputs
    (M, N, ...) to outputs (M, ...): slice m is what models[m] computes on x[m]. Training it
    with a loss *summed* over the M models and Adam (an elementwise update) trains the M models
    independently, in fewer, larger tensor operations. For MLPs only (layers other than
    `nn.Linear` must have no parameters).
    """
    if not models:
        raise ValueError("models must be a non-empty sequence")
    stacked = copy.deepcopy(models[0])
    named = [dict(m.named_modules()) for m in models]
    for name, module in models[0].named_modules():
        if isinstance(module, nn.Linear):
            parent, _, attr = name.rpartition(".")
            owner = stacked.get_submodule(parent) if parent else stacked
            setattr(owner, attr, StackedLinear([mods[name] for mods in named]))
        elif name and not list(module.children()) and list(module.parameters(recurse=False)):
            raise ValueError(f"cannot stack {type(module).__name__} ({name}); only nn.Linear")
    return stacked


# ---------------------------------------------------------------------------------------------
# DCGAN (Radford et al., 2016), shrunk for 8x8 or 28x28 digits. Book: {ref}`sec-gen-dcgan`.


def _image_size(size: object) -> int:
    if size not in (8, 28):
        raise ValueError(f"image_size must be 8 or 28; got {size!r}")
    return int(size)  # type: ignore[arg-type]


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, 1, S, S) in (-1, 1), S = `image_size` (8 or 28).

    As in DCGAN: a linear projection to a (2C, S/4, S/4) map, then two transposed convolutions
    (kernel 4, stride 2) that double the size each time, batch norm and ReLU between them, tanh
    at the output. C = `channels`.
    """

    def __init__(self, latent_dim: int = 16, channels: int = 32, *, image_size: int = 8) -> None:
        super().__init__()
        self.latent_dim, c = _int("latent_dim", latent_dim), _int("channels", channels)
        self.start = _image_size(image_size) // 4
        self.project = nn.Sequential(
            nn.Linear(latent_dim, 2 * c * self.start**2, bias=False),
            nn.BatchNorm1d(2 * c * self.start**2),
            nn.ReLU(),
        )
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        h = self.project(z)
        return self.net(h.view(len(z), -1, self.start, self.start))


class DCGANDiscriminator(nn.Module):
    """images (N, 1, S, S) -> logits (N,): two stride-2 convolutions with LeakyReLU(0.2) (batch
    norm on the second), no pooling, then a linear layer, as in DCGAN."""

    def __init__(self, channels: int = 32, *, image_size: int = 8) -> None:
        super().__init__()
        c, s = _int("channels", channels), _image_size(image_size) // 4
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * c),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(2 * c * s * s, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)


# ---------------------------------------------------------------------------------------------
# Autoencoders. Book: {ref}`sec-gen-ae`, {ref}`sec-gen-denoising`, {ref}`sec-gen-vae`.


class Autoencoder(nn.Module):
    """x (N, in_dim) -> code (N, code_dim) -> reconstruction (N, in_dim).

    `hidden` lists the widths of the encoder's hidden layers (the decoder mirrors them), with
    ReLU between layers; `hidden=()` and `linear=True` give the linear autoencoder, whose
    optimum spans the same subspace as PCA. `noise_std` > 0 makes it a denoising autoencoder:
    in training mode Gaussian noise of that size is added to the input (Vincent et al., 2008);
    in eval mode the input passes unchanged.
    """

    def __init__(
        self,
        in_dim: int = 64,
        code_dim: int = 8,
        hidden: Sequence[int] = (128,),
        *,
        linear: bool = False,
        noise_std: float = 0.0,
    ) -> None:
        super().__init__()
        _int("in_dim", in_dim), _int("code_dim", code_dim)
        hidden = [_int("hidden", h) for h in hidden]
        if noise_std < 0:
            raise ValueError(f"noise_std must be >= 0; got {noise_std!r}")
        act = nn.Identity if linear else nn.ReLU
        self.encoder = nn.Sequential(*_mlp([in_dim, *hidden, code_dim], act))
        self.decoder = nn.Sequential(*_mlp([code_dim, *hidden[::-1], in_dim], act))
        self.noise_std = float(noise_std)

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)  # corrupt, then reconstruct the clean x
        return self.decoder(self.encoder(x))


class VAE(nn.Module):
    """A variational autoencoder (Kingma & Welling, 2014) for x (N, in_dim) in [0, 1].

    The encoder gives the mean and log-variance (N, latent_dim) of q(z | x) = N(mu, diag
    exp(logvar)); the decoder gives the logits (N, in_dim) of Bernoulli pixels p(x | z).
    `forward` returns (logits, mu, logvar), z drawn with the reparameterization trick in
    training mode and z = mu in eval mode. Book: {ref}`sec-gen-vae`.
    """

    def __init__(self, in_dim: int = 64, latent_dim: int = 2, hidden: int = 128) -> None:
        super().__init__()
        _int("in_dim", in_dim), _int("latent_dim", latent_dim), _int("hidden", hidden)
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU())
        self.to_mu, self.to_logvar = nn.Linear(hidden, latent_dim), nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(*_mlp([latent_dim, hidden, in_dim], nn.ReLU))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        return self.decoder(z), mu, logvar
