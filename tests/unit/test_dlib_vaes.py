"""Known answers for disentanglement-lib's VAE family (methods/beta_vae.py and its variants):
each regularizer against a direct numpy reading of dlib's formula, the Bernoulli decoder,
the log-variance posterior, the capacity schedule and FactorVAE's discriminator."""

import math

import numpy as np
import pytest
import torch
from scipy.special import expit, logsumexp

from bench import config as config_lib
from bench import create_method
from bench.methods.beta_tcvae import gaussian_log_density, total_correlation
from bench.methods.dip_vae import covariance, dip_regularizer
from bench.methods.factor_vae import permute_dims
from bench.methods.vae import Posterior, gaussian_kl
from bench.registry import METHODS

DLIB_MODELS = ("factor_vae", "beta_tcvae", "dip_vae_i", "dip_vae_ii", "annealed_vae")
# Locatello et al. 2019's grid per model (unsupervised_study_v1/sweep.py): each default is one of them
STUDY_GRID = {"factor_vae": ("gamma", (10, 20, 30, 40, 50, 100)), "beta_tcvae": ("beta", (1, 2, 4, 6, 8, 10)),
              "dip_vae_i": ("lambda_od", (1, 2, 5, 10, 20, 50)), "dip_vae_ii": ("lambda_od", (1, 2, 5, 10, 20, 50)),
              "annealed_vae": ("c_max", (5, 10, 25, 50, 75, 100))}


def arrays(n=7, d=4, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=(n, d)) - 1  # z, mean, log_var


def t(a):
    return torch.tensor(a, dtype=torch.float64)


def numpy_total_correlation(z, mean, log_var):
    """dlib's `total_correlation`, written out per (j, i, l) with scipy's logsumexp."""
    n, d = z.shape
    log_q = np.empty((n, n, d))
    for j in range(n):
        for i in range(n):
            log_q[j, i] = -0.5 * ((z[j] - mean[i]) ** 2 / np.exp(log_var[i]) + log_var[i] + np.log(2 * np.pi))
    product = np.array([sum(logsumexp(log_q[j, :, k]) for k in range(d)) for j in range(n)])
    joint = np.array([logsumexp(log_q[j].sum(axis=1)) for j in range(n)])
    return float(np.mean(joint - product))


def test_total_correlation_is_dlibs_formula():
    z, mean, log_var = arrays()
    assert float(total_correlation(t(z), t(mean), t(log_var))) == pytest.approx(
        numpy_total_correlation(z, mean, log_var), rel=1e-12)


def test_total_correlation_of_one_sample_is_zero():
    """With one sample both estimates are the same sum of log densities."""
    z, mean, log_var = arrays(n=1)
    assert float(total_correlation(t(z), t(mean), t(log_var))) == pytest.approx(0.0, abs=1e-12)


def test_gaussian_log_density_is_normal_logpdf():
    z, mean, log_var = arrays()
    expected = torch.distributions.Normal(t(mean), t(np.exp(0.5 * log_var))).log_prob(t(z))
    torch.testing.assert_close(gaussian_log_density(t(z), t(mean), t(log_var)), expected)


def test_covariance_is_the_biased_batch_covariance():
    _, mean, _ = arrays(n=9)
    np.testing.assert_allclose(covariance(t(mean)).numpy(), np.cov(mean.T, bias=True), rtol=1e-12)


def test_dip_regularizer_known_answers():
    assert float(dip_regularizer(torch.eye(3, dtype=torch.float64), 10.0, 100.0)) == 0.0
    cov = t([[2.0, 0.5], [0.5, 1.0]])  # off-diagonal 0.5 twice, diagonal deviations 1 and 0
    assert float(dip_regularizer(cov, 3.0, 7.0)) == pytest.approx(3.0 * 0.5 + 7.0 * 1.0)


def test_permute_dims_shuffles_each_column_on_its_own():
    torch.manual_seed(0)
    z = torch.arange(64, dtype=torch.float64).reshape(16, 4) + torch.tensor([0.0, 100, 200, 300])
    out = permute_dims(z)
    for j in range(4):  # every column is a permutation of itself
        assert torch.equal(out[:, j].sort().values, z[:, j])
    orders = [tuple(((out[:, j] - 100 * j) // 4).long().tolist()) for j in range(4)]
    assert len(set(orders)) > 1  # not one permutation for all columns (chance 1 in (16!)^3)


def test_log_variance_posterior_kl_is_dlibs():
    _, mean, log_var = arrays()
    expected = 0.5 * (mean**2 + np.exp(log_var) - log_var - 1)
    np.testing.assert_allclose(gaussian_kl(t(mean), t(np.exp(0.5 * log_var)), t(log_var)).numpy(), expected,
                               rtol=1e-12)
    post = Posterior(t(mean), t(np.exp(0.5 * log_var)), None)  # a softplus encoder's: from its scale
    np.testing.assert_allclose(post.log_variance().numpy(), log_var, rtol=1e-12)


@pytest.fixture
def float64():
    """float64, no autograd: the losses are compared as numbers."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    with torch.no_grad():
        yield
    torch.set_default_dtype(previous)


def test_bernoulli_decoder_loss_and_images(float64):
    torch.manual_seed(0)
    method = create_method("beta_tcvae")  # dlib's defaults: Bernoulli decoder, log-variance posterior
    assert method.logits_decoder and method.log_var_posterior
    x = torch.rand(5, 1, 32, 32) * 2 - 1
    z = torch.randn(5, 10)
    logits = method.decode_logits(z).numpy()
    p, target = expit(logits), (x.numpy() + 1) / 2
    expected = -(target * np.log(p) + (1 - target) * np.log(1 - p)).reshape(5, -1).sum(axis=1).mean()
    assert float(method.reconstruction_loss(x, z)) == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(method.decode(z).numpy(), 2 * p - 1, atol=1e-12)  # the Bernoulli mean, in [-1, 1]
    post = method.posterior(x)
    torch.testing.assert_close(post.std, torch.exp(0.5 * post.log_var))


def test_beta_vae_keeps_the_authors_decoder_and_posterior():
    method = create_method("beta_vae")
    assert not method.logits_decoder and not method.log_var_posterior
    assert isinstance(method.decoder[-1], torch.nn.Tanh)


def test_annealed_capacity_follows_dlibs_schedule(float64):
    method = create_method("annealed_vae", c_max=10.0, iteration_threshold=4, gamma=2.0)
    x = torch.rand(6, 1, 32, 32) * 2 - 1
    capacities = [float(method.vae_loss(x)["capacity"]) for _ in range(7)]
    assert capacities == [0.0, 2.5, 5.0, 7.5, 10.0, 10.0, 10.0]  # min(c_max, c_max * step / threshold)
    out = method.vae_loss(x)
    assert float(out["loss"]) == pytest.approx(float(out["recon"] + 2.0 * (out["kl"] - 10.0).abs()))
    fresh = create_method("annealed_vae", c_max=10.0, iteration_threshold=4, gamma=2.0)
    fresh.load_state_dict(method.state_dict())  # a checkpoint carries the step: resume continues the ramp
    assert int(fresh.step) == 8


def test_annealed_presets_keep_a_third_of_training_for_the_ramp():
    for preset, steps in (("smoke", 500), ("quick", 2000), ("paper", 300_000)):
        cfg = create_method("annealed_vae", preset=preset).config
        assert cfg.iteration_threshold == steps // 3 or (preset == "paper" and cfg.iteration_threshold == 100_000)


def test_factor_vae_losses_with_a_constant_discriminator(float64):
    """D's last layer set to zero weights and bias (b0, b1): TC = b0 - b1 and D's loss is
    -(0.5 log p0 + 0.5 log p1) with p = softmax(b)."""
    torch.manual_seed(0)
    method = create_method("factor_vae", gamma=3.0)
    last = method.discriminator[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([0.7, -0.2]))
    x = torch.rand(8, 1, 32, 32) * 2 - 1
    out = method.vae_loss(x)
    assert float(out["tc"]) == pytest.approx(0.9)
    assert float(out["loss"]) == pytest.approx(float(out["recon"] + out["kl"] + 3.0 * 0.9))
    p = np.exp([0.7, -0.2]) / np.exp([0.7, -0.2]).sum()
    assert float(method.discriminator_loss(x)["loss"]) == pytest.approx(-(0.5 * math.log(p[0]) + 0.5 * math.log(p[1])))


def test_factor_vae_trains_the_discriminator_with_its_own_adam():
    method = create_method("factor_vae")
    vae, d = method.training_phases()
    assert vae.betas == (0.9, 0.999) and d.betas == (0.5, 0.9) and d.lr == 1e-4
    assert {id(p) for p in d.parameters} == {id(p) for p in method.discriminator.parameters()}
    assert not {id(p) for p in vae.parameters} & {id(p) for p in d.parameters}


@pytest.mark.parametrize("name", DLIB_MODELS)
def test_defaults_are_dlibs_study_settings(name):
    cfg = create_method(name).config
    assert (cfg.reconstruction, cfg.posterior, cfg.latent, cfg.lr, cfg.beta1, cfg.beta2) == (
        "bernoulli", "log_var", 10, 1e-4, 0.9, 0.999)
    key, grid = STUDY_GRID[name]
    assert getattr(cfg, key) in grid
    train, _ = config_lib.resolve(METHODS.get(name), "paper", {})
    assert (train.steps, train.batch_size) == (300_000, 64)


@pytest.mark.parametrize("name", ["dip_vae_i", "dip_vae_ii"])
def test_dip_types_use_their_covariance(name, float64):
    torch.manual_seed(1)
    method = create_method(name)
    x = torch.rand(8, 1, 32, 32) * 2 - 1
    torch.manual_seed(2)
    out = method.vae_loss(x)
    post = method.posterior(x)
    cov = covariance(post.mean)
    if name == "dip_vae_ii":
        cov = cov + torch.diag(post.log_var.exp().mean(dim=0))
    cfg = method.config
    expected = dip_regularizer(cov, cfg.lambda_od, cfg.lambda_d_factor * cfg.lambda_od)
    assert float(out["dip"]) == pytest.approx(float(expected), rel=1e-10)
    assert float(out["loss"]) == pytest.approx(float(out["recon"] + out["kl"] + out["dip"]), rel=1e-12)
