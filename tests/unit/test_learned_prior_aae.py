"""Learned-prior AAE: each training phase updates only its own networks, the fixed-prior
baseline has no code generator, and the reconstruction is measured in D_I's features."""

import pytest
import torch
import torch.nn.functional as F

from bench.config import resolve
from bench.methods.learned_prior_aae import LearnedPriorAAE
from tests.plugin import load_toy


def make(**overrides) -> LearnedPriorAAE:
    torch.manual_seed(0)
    return LearnedPriorAAE(LearnedPriorAAE.Config(**overrides), image_shape=(1, 32, 32))


def batch(n: int = 16) -> torch.Tensor:
    return load_toy(None).train_x[:n].float() / 127.5 - 1


def snapshot(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(before, module) -> bool:
    return any(not torch.equal(a, p) for a, p in zip(before, module.parameters()))


def run_phase(method, name: str, x) -> None:
    """One trainer step of the named phase: loss -> zero_grad -> backward -> Adam step."""
    phase = next(p for p in method.training_phases() if p.name == name)
    opt = torch.optim.Adam(phase.parameters, lr=1e-2, betas=phase.betas)
    out = phase.loss(x)
    opt.zero_grad(set_to_none=True)
    out["loss"].backward()
    opt.step()


def test_aae_phase_updates_the_autoencoder_and_leaves_the_code_generator_and_discriminators():
    method = make()
    cg, enc, dec = method.code_generator, method.autoencoder.encoder, method.autoencoder.decoder
    before = {m: snapshot(m) for m in (cg, enc, dec, method.di_conv, method.code_discriminator)}
    run_phase(method, "AAE", batch())
    assert changed(before[enc], enc) and changed(before[dec], dec)
    assert not changed(before[cg], cg)
    assert not changed(before[method.di_conv], method.di_conv)
    assert not changed(before[method.code_discriminator], method.code_discriminator)


def test_prior_phase_updates_code_generator_and_decoder_and_leaves_the_encoder():
    method = make()
    cg, enc, dec = method.code_generator, method.autoencoder.encoder, method.autoencoder.decoder
    before = {m: snapshot(m) for m in (cg, enc, dec, method.di_fc)}
    run_phase(method, "prior", batch())
    assert changed(before[cg], cg) and changed(before[dec], dec)
    assert not changed(before[enc], enc)
    assert not changed(before[method.di_fc], method.di_fc)


def test_fixed_prior_has_no_code_generator_and_its_code_carries_one_hot_s():
    method = make(prior="fixed")
    assert method.code_generator is None
    assert not any("code_generator" in name for name, _ in method.named_parameters())
    prior_phase = next(p for p in method.training_phases() if p.name == "prior")
    assert {id(p) for p in prior_phase.parameters} == {id(p) for p in method.autoencoder.decoder.parameters()}
    codes = method.sample_codes(8, torch.Generator().manual_seed(0))
    assert codes["noise"].shape == (8, 64 - 10) and method.code_spec.noise == 54
    z_c = method.prior_code(codes)
    assert z_c.shape == (8, 64)
    assert torch.equal(z_c[:, :10], F.one_hot(codes["categorical"], 10).float())
    assert torch.equal(z_c[:, 10:], codes["noise"])


def test_learned_prior_code_is_the_code_generator_output():
    method = make()
    codes = method.sample_codes(8, torch.Generator().manual_seed(0))
    before = method.prior_code(codes).detach().clone()
    with torch.no_grad():
        method.code_generator[-1].bias.add_(1.0)
    assert torch.allclose(method.prior_code(codes), before + 1.0, atol=1e-5)


@pytest.mark.parametrize("prior", ["learned", "fixed"])
def test_generate_returns_images_of_the_image_shape_in_range(prior):
    method = make(prior=prior).eval()
    with torch.no_grad():
        images = method.generate(method.sample_codes(5, torch.Generator().manual_seed(1)))
    assert images.shape == (5, 1, 32, 32)
    assert images.min() >= -1 and images.max() <= 1


def test_reconstruction_is_measured_in_the_image_discriminators_features():
    method = make()
    x = batch()
    first = method.aae_loss(x)
    with torch.no_grad():  # change D_I only; Enc and Dec stay as they were
        method.di_conv[0].weight.mul_(3.0)
    second = method.aae_loss(x)
    assert not torch.allclose(first["recon_feature"], second["recon_feature"])
    assert torch.equal(first["recon_pixel"], second["recon_pixel"])
    assert torch.allclose(first["loss"] - first["enc_adv"], first["recon_feature"])  # pixel weight 0


def test_pixel_weight_adds_the_pixel_error():
    plain, weighted = make(), make(pixel_weight=2.0)
    x = batch()
    a, b = plain.aae_loss(x), weighted.aae_loss(x)
    assert torch.allclose(b["loss"], a["loss"] + 2.0 * a["recon_pixel"], atol=1e-5)


def test_clusters_come_from_q_on_the_image_discriminator():
    method = make().eval()
    with torch.no_grad():
        method.q_head[-1].bias.zero_()
        method.q_head[-1].bias[7] = 1e4
    assert method.cluster(batch()).eq(7).all()


def test_prior_fixed_is_one_setting_and_smoke_refines_the_length():
    train, cfg = resolve(LearnedPriorAAE, "smoke", {"prior": "fixed"})
    assert cfg.prior == "fixed"
    assert train.steps == LearnedPriorAAE.presets["smoke"]["steps"]
    assert "prior" in LearnedPriorAAE.protocol_keys
