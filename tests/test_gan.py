"""dlbook.torch.models.gan and dlbook.torch.generative: shapes, losses, steps, the GAN loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import dlbook.torch as dtorch
from dlbook.torch.generative import (
    d_step,
    g_step,
    gan_losses,
    r1_penalty,
    recon_step,
    rejection_sample,
    reparameterize,
    train_gan,
    vae_loss,
    vae_step,
)
from dlbook.torch.models.gan import (
    VAE,
    Autoencoder,
    DCGANDiscriminator,
    DCGANGenerator,
    MinibatchStd,
    MLPDiscriminator,
    MLPGenerator,
    StackedLinear,
    count_parameters,
    stack_models,
)


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    # tiny networks: one thread is fastest, and many threads thrash on a shared machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def changed(before, model):
    return [not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)]


def test_exports():
    for name in ("MLPGenerator", "VAE", "d_step", "g_step", "train_gan", "vae_loss"):
        assert hasattr(dtorch, name)


def test_mlp_generator_and_discriminator_shapes():
    G, D = MLPGenerator(3, 16), MLPDiscriminator(2, 16)
    x = G(torch.randn(10, 3))
    assert x.shape == (10, 2) and D(x).shape == (10,)
    assert count_parameters(G) == (3 * 16 + 16) + (16 * 16 + 16) + (16 * 2 + 2)


def test_packed_discriminator_judges_concatenated_groups():
    D = MLPDiscriminator(2, 8, pack=3)
    x = torch.randn(12, 2)
    out = D(x)
    assert out.shape == (4,)
    group = torch.cat([x[3], x[4], x[5]])[None]  # the second packed input
    torch.testing.assert_close(out[1], D.net(group)[0, 0])
    with pytest.raises(ValueError, match="multiple of pack = 3"):
        D(torch.randn(10, 2))
    with pytest.raises(ValueError, match="pack"):
        MLPDiscriminator(pack=0)


@pytest.mark.parametrize("size", [8, 28])
def test_dcgan_shapes_and_range(size):
    G, D = DCGANGenerator(8, 4, image_size=size), DCGANDiscriminator(4, image_size=size)
    img = G(torch.randn(5, 8))
    assert img.shape == (5, 1, size, size)
    assert img.abs().max() <= 1
    assert D(img).shape == (5,)


def test_dcgan_rejects_other_sizes():
    with pytest.raises(ValueError, match="image_size"):
        DCGANGenerator(image_size=16)


def test_linear_autoencoder_is_affine_and_nonlinear_one_is_not():
    x1, x2 = torch.randn(4, 6), torch.randn(4, 6)
    lin = Autoencoder(6, 2, hidden=(), linear=True).eval()
    torch.testing.assert_close(lin(0.3 * x1 + 0.7 * x2), 0.3 * lin(x1) + 0.7 * lin(x2))
    relu = Autoencoder(6, 2, hidden=(16,)).eval()
    assert not torch.allclose(relu(-x1) + relu(x1), 2 * relu(torch.zeros(4, 6)), atol=1e-4)


def test_denoising_noise_only_in_training_mode():
    ae = Autoencoder(6, 2, hidden=(8,), noise_std=0.5)
    x = torch.randn(3, 6)
    assert not torch.equal(ae(x), ae(x))  # fresh noise each call
    ae.eval()
    assert torch.equal(ae(x), ae(x))
    with pytest.raises(ValueError, match="noise_std"):
        Autoencoder(noise_std=-1.0)


def test_vae_forward_shapes_and_eval_uses_the_mean():
    vae = VAE(10, 3, 16)
    logits, mu, logvar = vae(torch.rand(4, 10))
    assert logits.shape == (4, 10) and mu.shape == logvar.shape == (4, 3)
    vae.eval()
    x = torch.rand(4, 10)
    logits, mu, _ = vae(x)
    torch.testing.assert_close(logits, vae.decoder(mu))


def test_gan_losses_at_the_fixed_point_and_against_bce():
    zero = torch.zeros(5)
    d_loss, g_loss = gan_losses(zero, zero)
    assert d_loss.item() == pytest.approx(2 * math.log(2))  # D = 1/2 everywhere
    assert g_loss.item() == pytest.approx(math.log(2))
    dr, df = torch.randn(7), torch.randn(7)
    d_loss, g_loss = gan_losses(dr, df)
    want_d = F.binary_cross_entropy_with_logits(
        dr, torch.ones(7)
    ) + F.binary_cross_entropy_with_logits(df, torch.zeros(7))
    torch.testing.assert_close(d_loss, want_d)
    torch.testing.assert_close(g_loss, F.binary_cross_entropy_with_logits(df, torch.ones(7)))


def test_d_step_moves_only_d_and_g_step_moves_only_g():
    G, D = MLPGenerator(2, 8), MLPDiscriminator(2, 8)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    g0, d0 = params(G), params(D)
    loss = d_step(G, D, opt_d, torch.randn(16, 2), torch.randn(16, 2))
    assert not loss.requires_grad
    assert all(changed(d0, D)) and not any(changed(g0, G))
    d1 = params(D)
    g_step(G, D, opt_g, torch.randn(16, 2))
    assert all(changed(g0, G)) and not any(changed(d1, D))


def test_g_step_lowers_the_generator_loss_on_a_fixed_batch():
    G, D = MLPGenerator(2, 8), MLPDiscriminator(2, 8)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.05)
    z = torch.randn(64, 2)
    first = g_step(G, D, opt_g, z)
    for _ in range(5):
        last = g_step(G, D, opt_g, z)
    assert last < first


def test_train_gan_history_and_callback():
    real = torch.randn(200, 2)
    G, D = MLPGenerator(2, 8), MLPDiscriminator(2, 8, pack=2)
    seen = []
    hist = train_gan(
        G,
        D,
        torch.optim.Adam(G.parameters(), 1e-3),
        torch.optim.Adam(D.parameters(), 1e-3),
        real,
        steps=25,
        batch_size=8,
        latent_dim=2,
        log_every=10,
        generator=torch.Generator().manual_seed(0),
        on_log=lambda step, g: seen.append(step),
        progress=False,
    )
    assert hist["step"] == seen == [10, 20, 25]
    assert all(math.isfinite(v) for v in hist["d_loss"] + hist["g_loss"])


def test_train_gan_scheduler_sets_learning_rates():
    G, D = MLPGenerator(2, 4), MLPDiscriminator(2, 4)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-2), torch.optim.Adam(D.parameters(), 1e-3)
    train_gan(G, D, opt_g, opt_d, torch.randn(50, 2), steps=4, batch_size=4, latent_dim=2,
              scheduler=lambda s: 0.5, progress=False)  # fmt: skip
    assert opt_g.param_groups[0]["lr"] == pytest.approx(5e-3)
    assert opt_d.param_groups[0]["lr"] == pytest.approx(5e-4)


def test_train_gan_stops_on_nan_and_names_the_step():
    real = torch.randn(100, 2)
    real[::2] = float("nan")
    G, D = MLPGenerator(2, 8), MLPDiscriminator(2, 8)
    with pytest.raises(FloatingPointError, match=r"d_step.*between steps 1 and 5"):
        train_gan(
            G,
            D,
            torch.optim.Adam(G.parameters(), 1e-3),
            torch.optim.Adam(D.parameters(), 1e-3),
            real,
            steps=20,
            batch_size=16,
            latent_dim=2,
            log_every=5,
            progress=False,
        )


def test_train_gan_rejects_bad_sizes():
    G, D = MLPGenerator(2, 4), MLPDiscriminator(2, 4)
    opt = torch.optim.SGD(G.parameters(), 0.1)
    with pytest.raises(ValueError, match="steps"):
        train_gan(G, D, opt, opt, torch.randn(5, 2), steps=0, batch_size=2, latent_dim=2)


def test_reparameterize_gradients():
    mu = torch.tensor([0.5, -1.0], requires_grad=True)
    logvar = torch.tensor([0.2, -0.4], requires_grad=True)
    eps = torch.tensor([1.5, -0.3])
    z = reparameterize(mu, logvar, eps)
    z.sum().backward()
    torch.testing.assert_close(z.detach(), mu.detach() + torch.exp(0.5 * logvar.detach()) * eps)
    torch.testing.assert_close(mu.grad, torch.ones(2))
    torch.testing.assert_close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps)


def test_reparameterized_samples_have_the_right_moments():
    mu, logvar = torch.full((200_000,), 1.5), torch.full((200_000,), math.log(0.25))
    z = reparameterize(mu, logvar)
    assert z.mean().item() == pytest.approx(1.5, abs=0.01)
    assert z.std().item() == pytest.approx(0.5, abs=0.01)


def test_vae_loss_terms_match_torch_distributions():
    x = torch.rand(6, 5)
    logits, mu, logvar = torch.randn(6, 5), torch.randn(6, 3), torch.randn(6, 3)
    recon, kl = vae_loss(x, logits, mu, logvar)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    torch.testing.assert_close(kl, torch.distributions.kl_divergence(q, p).sum(1).mean())
    want = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1).mean()
    torch.testing.assert_close(recon, want)
    assert vae_loss(x, logits, torch.zeros(6, 3), torch.zeros(6, 3))[1].item() == 0


def test_vae_and_recon_steps_lower_their_losses():
    x = torch.rand(64, 10)
    vae = VAE(10, 2, 16)
    opt = torch.optim.Adam(vae.parameters(), 1e-2)
    first = sum(vae_step(vae, opt, x))
    for _ in range(30):
        last = sum(vae_step(vae, opt, x))
    assert last < first
    ae = Autoencoder(10, 3, hidden=(16,))
    opt = torch.optim.Adam(ae.parameters(), 1e-2)
    first = recon_step(ae, opt, x)
    for _ in range(30):
        last = recon_step(ae, opt, x)
    assert last < first


def test_gan_learns_a_shifted_gaussian():
    # a sanity check that the pieces fit: G should move its mean from ~0 to the data's 3
    real = torch.randn(2000, 2) * 0.5 + 3.0
    G, D = MLPGenerator(2, 16), MLPDiscriminator(2, 16)
    train_gan(
        G,
        D,
        torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999)),
        torch.optim.Adam(D.parameters(), 2e-3, betas=(0.5, 0.999)),
        real,
        steps=400,
        batch_size=64,
        latent_dim=2,
        generator=torch.Generator().manual_seed(0),
        progress=False,
    )
    with torch.no_grad():
        mean = G(torch.randn(2000, 2)).mean(0)
    np.testing.assert_allclose(mean.numpy(), [3.0, 3.0], atol=0.3)


# ---------------------------------------------------------------------------------------------
def test_minibatch_std_appends_the_mean_feature_std_by_hand():
    h = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])  # stds over rows: sqrt(8/3) and 0
    out = MinibatchStd(eps=1e-12)(h)
    assert out.shape == (3, 3)
    torch.testing.assert_close(out[:, :2], h)
    torch.testing.assert_close(out[:, 2], torch.full((3,), math.sqrt(8 / 3) / 2))


def test_minibatch_std_matches_numpy_and_keeps_stacked_models_apart():
    h = torch.randn(3, 7, 5, dtype=torch.float64)
    out = MinibatchStd()(h)
    ref = np.sqrt(h.numpy().var(axis=1) + 1e-8).mean(axis=1)  # one value per model
    assert out.shape == (3, 7, 6)
    np.testing.assert_allclose(out[..., -1].numpy(), np.repeat(ref[:, None], 7, axis=1))


def test_minibatch_std_gradient_is_finite_when_the_batch_collapses():
    h = torch.ones(4, 3, dtype=torch.float64, requires_grad=True)  # four identical rows
    MinibatchStd()(h)[:, -1].sum().backward()
    assert torch.isfinite(h.grad).all()
    hd = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: MinibatchStd()(x), (hd,))


def test_minibatch_std_bad_input():
    with pytest.raises(ValueError, match="N >= 2"):
        MinibatchStd()(torch.randn(1, 4))
    with pytest.raises(ValueError, match="N >= 2"):
        MinibatchStd()(torch.randn(4))
    with pytest.raises(ValueError, match="eps"):
        MinibatchStd(eps=0.0)
    with pytest.raises(ValueError, match="minibatch_std"):
        MLPDiscriminator(2, 8, minibatch_std=1)


def test_a_minibatch_std_discriminator_sees_a_collapsed_batch():
    torch.manual_seed(0)
    D = MLPDiscriminator(2, 8, minibatch_std=True)
    plain = MLPDiscriminator(2, 8)
    assert count_parameters(D) == count_parameters(plain) + 1  # one more input to the output
    assert isinstance(D.net[-2], MinibatchStd)
    x = torch.randn(6, 2)
    one = D(x)
    assert one.shape == (6,)
    # the logit of a row depends on the other rows of the batch: ...
    other = D(torch.cat([x[:1], 0 * x[1:]]))
    assert not torch.allclose(one[:1], other[:1])
    # ... through the appended feature alone: the feature's weight set to 0 removes it
    with torch.no_grad():
        D.net[-1].weight[:, -1] = 0.0
    torch.testing.assert_close(D(x)[:1], D(torch.cat([x[:1], 0 * x[1:]]))[:1])


def test_stacked_minibatch_std_discriminators_equal_their_members():
    Ds = []
    for seed in range(3):
        torch.manual_seed(seed)
        Ds.append(MLPDiscriminator(2, 8, minibatch_std=True))
    D = stack_models(Ds)
    x = torch.randn(3, 10, 2)
    out = D(x)
    for m in range(3):
        torch.testing.assert_close(out[m], Ds[m](x[m]))


def test_a_minibatch_std_gan_trains_and_samples_with_drs():
    torch.manual_seed(0)
    G, D = MLPGenerator(2, 16), MLPDiscriminator(2, 16, minibatch_std=True)
    real = torch.randn(256, 2)
    gen = torch.Generator().manual_seed(0)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    before = params(D)
    hist = train_gan(
        G,
        D,
        opt_g,
        opt_d,
        real,
        steps=5,
        batch_size=16,
        latent_dim=2,
        generator=gen,
        log_every=5,
        progress=False,
    )
    assert all(changed(before, D)) and math.isfinite(hist["d_loss"][-1])
    x = rejection_sample(G, D, 20, latent_dim=2, candidates=2000, generator=gen)
    assert x.shape == (20, 2)


# Models side by side, the R1 penalty, discriminator rejection sampling


def _members(n=3, hidden=8, pack=1):
    Gs, Ds = [], []
    for seed in range(n):
        torch.manual_seed(seed)
        Gs.append(MLPGenerator(2, hidden))
        Ds.append(MLPDiscriminator(2, hidden, pack=pack))
    return Gs, Ds


@pytest.mark.parametrize("pack", [1, 2])
def test_stacked_models_compute_what_each_member_computes(pack):
    Gs, Ds = _members(pack=pack)
    G, D = stack_models(Gs), stack_models(Ds)
    assert D.pack == pack and isinstance(G[0], StackedLinear)
    z = torch.randn(3, 10, 2)
    x, logits = G(z), D(G(z))
    assert x.shape == (3, 10, 2) and logits.shape == (3, 10 // pack)
    for m in range(3):
        torch.testing.assert_close(x[m], Gs[m](z[m]))
        torch.testing.assert_close(logits[m], Ds[m](x[m]))


def test_a_stacked_training_step_equals_separate_steps():
    # summed losses and Adam (elementwise) make one stacked step = three independent steps
    Gs, Ds = _members()
    G, D = stack_models(Gs), stack_models(Ds)
    real, z, z2 = torch.randn(3, 16, 2), torch.randn(3, 16, 2), torch.randn(3, 16, 2)
    opt_d, opt_g = torch.optim.Adam(D.parameters(), 1e-2), torch.optim.Adam(G.parameters(), 1e-2)
    d_loss = d_step(G, D, opt_d, real, z, r1=0.1)
    g_loss = g_step(G, D, opt_g, z2)
    d_sum = g_sum = 0.0
    for m in range(3):
        od = torch.optim.Adam(Ds[m].parameters(), 1e-2)
        og = torch.optim.Adam(Gs[m].parameters(), 1e-2)
        d_sum += d_step(Gs[m], Ds[m], od, real[m], z[m], r1=0.1).item()
        g_sum += g_step(Gs[m], Ds[m], og, z2[m]).item()
        for i, layer in ((0, 0), (2, 2), (4, 4)):
            torch.testing.assert_close(G[i].weight[m], Gs[m][layer].weight.T)
            torch.testing.assert_close(D.net[i].weight[m], Ds[m].net[layer].weight.T)
    assert d_loss.item() == pytest.approx(d_sum, rel=1e-5)
    assert g_loss.item() == pytest.approx(g_sum, rel=1e-5)


def test_stack_models_rejects_what_it_cannot_stack():
    with pytest.raises(ValueError, match="non-empty"):
        stack_models([])
    with pytest.raises(ValueError, match="BatchNorm1d"):
        stack_models([torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))] * 2)
    with pytest.raises(ValueError, match="one shape"):
        StackedLinear([torch.nn.Linear(2, 3), torch.nn.Linear(3, 3)])
    with pytest.raises(ValueError, match=r"\(2, N, 2\)"):
        StackedLinear([torch.nn.Linear(2, 3)] * 2)(torch.randn(3, 4, 2))


def test_gan_losses_sum_over_stacked_models():
    d_real, d_fake = torch.randn(3, 5), torch.randn(3, 5)
    d_loss, g_loss = gan_losses(d_real, d_fake)
    per_model = [gan_losses(d_real[m], d_fake[m]) for m in range(3)]
    torch.testing.assert_close(d_loss, sum(d for d, _ in per_model))
    torch.testing.assert_close(g_loss, sum(g for _, g in per_model))


class _LinearD(torch.nn.Module):
    """logit a(x) = w . x (x packed `pack` rows at a time), so grad_x a = w, known by hand."""

    def __init__(self, w, pack=1):
        super().__init__()
        self.w, self.pack = torch.nn.Parameter(torch.tensor(w)), pack

    def forward(self, x):
        return x.reshape(-1, self.pack * 2) @ self.w


def test_r1_penalty_by_hand():
    # a linear D has the gradient w everywhere: E ||grad||^2 = |w|^2 = 9 + 16 = 25
    real = torch.randn(6, 2)
    logits, penalty = r1_penalty(_LinearD([3.0, 4.0]), real)
    assert penalty.item() == pytest.approx(25.0)
    torch.testing.assert_close(logits, real @ torch.tensor([3.0, 4.0]))
    # packed pairs: the gradient of a pair's logit is all of w, |w|^2 = 1 + 4 + 4 + 16 = 25 again
    _, penalty = r1_penalty(_LinearD([1.0, 2.0, 2.0, 4.0], pack=2), real)
    assert penalty.item() == pytest.approx(25.0)


def test_d_step_with_r1_adds_half_gamma_times_the_penalty():
    D, G = _LinearD([3.0, 4.0]), MLPGenerator(2, 4)
    real, z = torch.randn(8, 2), torch.randn(8, 2)
    with torch.no_grad():
        plain = gan_losses(D(real), D(G(z)))[0].item()
    loss = d_step(G, D, torch.optim.SGD(D.parameters(), 0.0), real, z, r1=0.2)
    assert loss.item() == pytest.approx(plain + 0.1 * 25.0, rel=1e-6)
    # the penalty's gradient 0.2 / 2 * d|w|^2/dw = 0.2 * w joins the gradient of D's loss
    D2 = _LinearD([3.0, 4.0])
    d_step(G, D2, torch.optim.SGD(D2.parameters(), 0.0), real, z, r1=0.0)
    torch.testing.assert_close(D.w.grad - D2.w.grad, 0.2 * torch.tensor([3.0, 4.0]))


def test_rejection_sampling_turns_p_g_into_p_data():
    # G(z) = z ~ N(0, I); with the logit log N(x; 0, s^2 I) / N(x; 0, I) + const, the
    # accepted samples are N(0, s^2 I)
    s = 0.5
    G = torch.nn.Linear(2, 2)
    with torch.no_grad():
        G.weight.copy_(torch.eye(2)), G.bias.zero_()

    class D(torch.nn.Module):
        def forward(self, x):
            return -0.5 * (x**2).sum(-1) * (1 / s**2 - 1) + 7.0

    x = rejection_sample(G, D(), 20_000, latent_dim=2, candidates=200_000,
                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert x.shape == (20_000, 2)
    np.testing.assert_allclose(x.std(0).numpy(), [s, s], rtol=0.03)
    np.testing.assert_allclose(x.mean(0).numpy(), [0, 0], atol=0.02)
    with pytest.raises(ValueError, match="accepted"):
        rejection_sample(G, D(), 20_000, latent_dim=2, candidates=30_000)
    with pytest.raises(ValueError, match="pack = 1"):
        rejection_sample(G, MLPDiscriminator(2, 4, pack=2), 10, latent_dim=2)
    with pytest.raises(ValueError, match="candidates"):
        rejection_sample(G, D(), 10, latent_dim=2, candidates=0)


def test_rejection_sample_of_stacked_models_and_train_gan_with_models():
    Gs, Ds = _members()
    G, D = stack_models(Gs), stack_models(Ds)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    hist = train_gan(G, D, opt_g, opt_d, torch.randn(100, 2), steps=6, batch_size=8,
                     latent_dim=2, log_every=3, models=3, r1=0.1, progress=False)  # fmt: skip
    assert hist["step"] == [3, 6] and all(math.isfinite(v) for v in hist["d_loss"])
    x = rejection_sample(G, D, 50, latent_dim=2, candidates=2000, models=3)
    assert x.shape == (3, 50, 2)
    with pytest.raises(ValueError, match="models"):
        train_gan(G, D, opt_g, opt_d, torch.randn(5, 2), steps=1, batch_size=2, latent_dim=2,
                  models=0)  # fmt: skip
