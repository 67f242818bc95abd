"""VAE-GAN and the hybrid, where they follow the author's code: f(x) read before D's update
(`train_vaegan.py`) or after it, and the first-order look-ahead shared with unrolled
InfoGAN (one implementation: D advanced k optimizer steps on fresh batches, restored within
the decoder's step, its optimizer left advanced)."""

import pytest
import torch

from bench import create_method
from bench.methods.gan import gan_bce
from bench.methods.lookahead import LookAhead
from bench.rng import seed_everything
from tests.plugin import load_toy


def built(name="vae_gan", **settings):
    seed_everything(0)
    data = load_toy(None)
    method = create_method(name, image_shape=(1, 32, 32), **settings).double().train()
    phases = method.training_phases()
    optimizers = {p.name: torch.optim.Adam(p.parameters, lr=p.lr, betas=p.betas) for p in phases}
    method.bind_optimizers(optimizers)
    method.bind_training_data(data.train_x)
    return method, phases, optimizers, data.train_x[:16].double() / 127.5 - 1


def step(phase, optimizer, x):
    out = phase.loss(x)
    optimizer.zero_grad(set_to_none=True)
    out["loss"].backward()
    optimizer.step()
    return out


@pytest.mark.parametrize("when", ["before_d", "after_d"])
def test_feature_target_is_read_before_or_after_ds_update(float64, when):
    method, (dis, dec, enc), optimizers, x = built(real_features=when)
    with torch.no_grad():
        before = method.d_features(x)
    step(dis, optimizers["Dis"], x)
    with torch.no_grad():
        after = method.d_features(x)
    assert not torch.allclose(before, after)  # D's update moved its features
    assert torch.equal(method.feature_target(x), before if when == "before_d" else after)
    step(dec, optimizers["Dec"], x)
    step(enc, optimizers["Enc"], x)
    assert method._f_real is None  # the next step reads its own Dis phase's features


@pytest.mark.parametrize("name", ["unrolled_infogan", "vae_gan", "vae_infogan"])
def test_one_lookahead_serves_the_three_unrolled_methods(name):
    method = create_method(name, image_shape=(1, 32, 32), k=2, unroll_rule="lookahead")
    assert type(method.lookahead) is LookAhead and not method.cuda_graphs  # it steps an optimizer: eager
    assert create_method(name, image_shape=(1, 32, 32), k=0, unroll_rule="lookahead").cuda_graphs


@pytest.mark.parametrize("name", ["vae_gan", "vae_infogan"])
def test_lookahead_restores_d_within_the_decoders_step_and_keeps_its_optimizer_advanced(float64, name):
    method, (dis, dec, _), optimizers, x = built(name, k=2, unroll_rule="lookahead")
    step(dis, optimizers["Dis"], x)
    before = [p.detach().clone() for p in dis.parameters]
    steps_before = optimizers["Dis"].state[dis.parameters[0]]["step"].item()
    step(dec, optimizers["Dec"], x)
    ahead = list(method.lookahead.ahead.values())
    d_params = [p for part in ("d_features", "d_rest", "d_head") for p in getattr(method, part).parameters()]
    assert len(ahead) == len(d_params)
    assert any(not torch.equal(a, b) for a, b in zip(ahead, before))  # the decoder saw a look-ahead D
    assert all(torch.equal(p, b) for p, b in zip(dis.parameters, before))  # D's weights are back
    assert optimizers["Dis"].state[dis.parameters[0]]["step"].item() == steps_before + 2


def test_lookahead_decoder_gradient_is_first_order(float64):
    method, (dis, dec, _), optimizers, x = built(k=1, unroll_rule="lookahead", lambda_feature=0.0)
    step(dis, optimizers["Dis"], x)
    torch.manual_seed(3)
    out = dec.loss(x)
    grads = torch.autograd.grad(out["dec_gan"], list(method.decoder.parameters()))
    # the same GAN loss with D's modules holding the look-ahead weights as constants
    named = method._d_named()
    current = {k: p.detach().clone() for k, p in named.items()}
    with torch.no_grad():
        for k, p in named.items():
            p.copy_(method.lookahead.ahead[k])
    torch.manual_seed(3)
    method.lookahead.fresh_batch(16)  # the same draws as the look-ahead step took
    with torch.no_grad():
        method.fakes(x)
    post = method.posterior(x)
    z, c = method.sample_posterior(post)
    z_p, c_p, _ = method.prior_sample(16)
    recon, prior = method.decode(z.detach(), c), method.decode(z_p, c_p)
    gan = gan_bce(method.d_head(method.trunk(recon)[1]), True) + gan_bce(method.d_head(method.trunk(prior)[1]), True)
    fixed = torch.autograd.grad(gan, list(method.decoder.parameters()))
    with torch.no_grad():
        for k, p in named.items():
            p.copy_(current[k])
    for g, f in zip(grads, fixed):
        assert torch.allclose(g, f, rtol=1e-9, atol=1e-12)
