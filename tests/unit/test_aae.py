"""The adversarial autoencoder (Makhzani et al. 2016) clusters by a probability vector over
K categories, decodes (category, style) codes to images, and trains its three phases on
the parameters each is meant to change."""

import pytest
import torch

from bench import create_method
from bench.config import TrainConfig
from bench.rng import seed_everything
from bench.training.step import make_optimizer
from tests.helpers import train_alone
from tests.plugin import load_toy

SMALL = dict(hidden=128, d_hidden=64)  # fast on a CPU; the behaviour under test is width-independent


def toy_batch(n=32):
    return load_toy(None).train_x[:n].float() / 127.5 - 1


@pytest.mark.parametrize("k", [16, 30])
def test_encoder_category_is_a_probability_vector_over_k(k):
    method = create_method("aae", n_categories=k, **SMALL).eval()
    x = toy_batch()
    with torch.no_grad():
        _, y, z = method.encode(x)
        labels = method.cluster(x)
        embedding = method.embed(x)
    assert method.n_clusters == k and method.code_spec.categorical == k
    assert y.shape == (32, k) and (y >= 0).all()
    assert torch.allclose(y.sum(dim=1), torch.ones(32))
    assert torch.equal(labels, y.argmax(dim=1)) and labels.max() < k
    assert embedding.shape == (32, k + method.config.style_dim)
    assert torch.allclose(embedding, torch.cat([y, z], dim=1))


def test_the_paper_varies_k_so_k_keeps_the_claim():
    assert "n_categories" in type(create_method("aae")).protocol_keys


def test_generate_decodes_category_and_style_to_images_in_range():
    seed_everything(0)
    method = create_method("aae", **SMALL).eval()
    codes = method.sample_codes(8, torch.Generator().manual_seed(0))
    assert codes["noise"].shape == (8, method.config.style_dim) and codes["continuous"].shape == (8, 0)
    with torch.no_grad():
        images = method.generate(codes)
        other = method.generate({**codes, "categorical": (codes["categorical"] + 1) % method.n_clusters})
        recon = method.reconstruct(toy_batch(8))
    assert images.shape == (8, 1, 32, 32) and images.min() >= -1 and images.max() <= 1
    assert recon.shape == (8, 1, 32, 32) and recon.min() >= -1 and recon.max() <= 1
    assert not torch.allclose(images, other)  # the category reaches the decoder


def test_training_reduces_the_reconstruction_error():
    seed_everything(0)
    data = load_toy(None)
    method = create_method("aae", **SMALL)
    x = data.train_x[:64].float() / 127.5 - 1

    def error():
        with torch.no_grad():
            return torch.mean((method.eval().reconstruct(x) - x) ** 2).item()

    before = error()
    config = TrainConfig(steps=40, batch_size=32, log_every=20, checkpoint_every=0)
    outcome = train_alone(method, data, config)
    assert outcome.status == "completed"
    assert error() < 0.5 * before
    logged = {"AE_loss", "D_loss", "G_loss", "d_cat", "d_gauss", "g_cat", "g_gauss"}
    assert logged <= outcome.losses[-1].keys()


def _names(method, params):
    ids = {id(p) for p in params}
    return {name for name, p in method.named_parameters() if id(p) in ids}


def test_phases_update_the_intended_networks():
    method = create_method("aae", **SMALL)
    phases = {p.name: p for p in method.training_phases()}
    assert list(phases) == ["AE", "D", "G"]
    prefixes = {name: {n.split(".")[0] for n in _names(method, p.parameters)} for name, p in phases.items()}
    assert prefixes["AE"] == {"encoder", "cat_head", "style_head", "decoder"}
    assert prefixes["D"] == {"d_cat", "d_gauss"}
    assert prefixes["G"] == {"encoder", "cat_head", "style_head"}


@pytest.mark.parametrize("phase_name, changed", [
    ("D", {"d_cat", "d_gauss"}),
    ("G", {"encoder", "cat_head", "style_head"}),
])
def test_one_phase_step_changes_only_its_networks(phase_name, changed):
    seed_everything(0)
    method = create_method("aae", **SMALL)
    (phase,) = [p for p in method.training_phases() if p.name == phase_name]
    before = {n: p.detach().clone() for n, p in method.named_parameters()}
    opt = make_optimizer(phase, torch.device("cpu"))
    out = phase.loss(toy_batch())
    opt.zero_grad(set_to_none=True)
    out["loss"].backward()
    opt.step()
    moved = {n.split(".")[0] for n, p in method.named_parameters() if not torch.equal(p, before[n])}
    assert moved == changed
    if phase_name == "D":  # the encoder's codes are detached: no gradient reaches it
        assert all(p.grad is None for net in (method.encoder, method.cat_head, method.style_head) for p in net.parameters())


def test_the_papers_optimizer_is_sgd_with_momentum_and_a_tenfold_drop():
    from bench.training.step import TrainStep

    method = create_method("aae", optimizer="sgd", momentum=0.9, lr_ae=0.01, lr_d=0.1, lr_g=0.1, lr_decay_step=5,
                           **SMALL)
    step = TrainStep(method, torch.device("cpu"))
    assert all(isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9 for opt in step.optimizers)
    step.at_step(4)
    assert [opt.param_groups[0]["lr"] for opt in step.optimizers] == [0.01, 0.1, 0.1]
    step.at_step(5)  # a pure function of the step, so a resumed run follows the same schedule
    assert [opt.param_groups[0]["lr"] for opt in step.optimizers] == pytest.approx([0.001, 0.01, 0.01])
    assert not method.cuda_graphs  # SGD and a changing rate step eagerly on a GPU


def test_a_run_labels_its_clusters_from_held_out_images_it_never_trained_on(dirs):
    from tests.helpers import sweep

    (record,), _ = sweep(["aae"], dirs, steps=2, validation_size=12)
    assert record["status"] == "completed", record.get("message")
    validation = record["metrics"]["validation"]
    assert validation["n"] == 12 and len(validation["cluster_labels"]) == record["n_clusters"]
    assert 0 <= record["metrics"]["test"]["accuracy_most_confident_validation"] <= 1
