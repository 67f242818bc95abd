"""Every built-in adapter honours the contract the trainer and the harness rely on."""

import pytest
import torch

from bench import create_method, list_methods
from bench.config import TrainConfig
from bench.datasets.base import ImageDataset
from bench.methods.base import Method
from bench.registry import METHODS
from bench.rng import seed_everything
from tests.helpers import train_alone
from tests.plugin import TEST_METHODS, load_toy

BUILTIN = [name for name in list_methods() if name not in TEST_METHODS]
TINY = TrainConfig(steps=3, batch_size=16, log_every=1, checkpoint_every=0)
# a shorter unroll keeps the contract tests fast; k > 0 still takes the unrolled path
CHEAPER = {"unrolled_infogan": {"k": 1}, "vae_infogan": {"k": 1},
           # staged methods: each stage within the 3 steps, narrow layers
           "dec": {"pretrain": "end_to_end", "pretrain_steps": 1, "update_interval": 1, "hidden": 16},
           "idec": {"pretrain": "end_to_end", "pretrain_steps": 1, "update_interval": 1, "hidden": 16},
           "vade": {"pretrain_steps": 1, "hidden": 16}, "clustergan": {"width": 8}}


def trained(name: str, seed: int = 0):
    seed_everything(seed)
    data = load_toy(None)
    method = create_method(name, image_shape=data.image_shape, **CHEAPER.get(name, {}))
    train_alone(method, data, TINY, seed)
    return method, data


def real_batch(data: ImageDataset, n: int = 24) -> torch.Tensor:
    return data.test_x[:n].float() / 127.5 - 1


@pytest.mark.parametrize("name", BUILTIN)
def test_cluster_returns_one_label_per_image_in_range(name):
    method, data = trained(name)
    method.eval()
    with torch.no_grad():
        labels = method.cluster(real_batch(data))
    assert labels.dtype == torch.int64 and labels.shape == (24,)
    assert 0 <= labels.min() and labels.max() < method.n_clusters


@pytest.mark.parametrize("name", BUILTIN)
def test_embed_is_one_row_per_image(name):
    method, data = trained(name)
    method.eval()
    with torch.no_grad():
        z = method.embed(real_batch(data))
    assert z.ndim == 2 and z.shape[0] == 24 and torch.isfinite(z).all()


@pytest.mark.parametrize("name", BUILTIN)
def test_training_is_deterministic_at_a_seed(name):
    a, _ = trained(name, seed=5)
    b, _ = trained(name, seed=5)
    for (key, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), key


@pytest.mark.parametrize("name", BUILTIN)
def test_checkpoint_round_trip_gives_the_same_clusters(name, tmp_path):
    method, data = trained(name)
    torch.save(method.state_dict(), tmp_path / "m.pt")
    fresh = create_method(name, image_shape=data.image_shape, **CHEAPER.get(name, {}))
    fresh.load_state_dict(torch.load(tmp_path / "m.pt"))
    method.eval(), fresh.eval()
    with torch.no_grad():
        assert torch.equal(method.cluster(real_batch(data)), fresh.cluster(real_batch(data)))


@pytest.mark.parametrize("name", [n for n in BUILTIN if METHODS.get(n).generates])
def test_generator_follows_its_code_spec(name):
    method, data = trained(name)
    spec = method.code_spec
    codes = method.sample_codes(6, torch.Generator().manual_seed(0))
    # without a categorical code (categorical == 0) the index is 0 everywhere
    assert codes["categorical"].shape == (6,) and 0 <= codes["categorical"].min()
    assert codes["categorical"].max() < max(spec.categorical, 1)
    assert codes["continuous"].shape == (6, spec.continuous)
    assert codes["noise"].shape == (6, spec.noise)
    method.eval()
    with torch.no_grad():
        images = method.generate(codes)
    assert images.shape == (6, *data.image_shape)
    assert images.min() >= -1 and images.max() <= 1


@pytest.mark.parametrize("name", BUILTIN)
def test_declared_capabilities_are_what_the_method_does(name):
    method, data = trained(name)
    cls, x = type(method), real_batch(data)
    method.eval()
    with torch.no_grad():
        if cls.reconstructs:  # an encoder and a decoder: reconstructions and interpolations
            assert method.reconstruct(x).shape == x.shape
            z = method.to_latent(x)
            assert z.ndim == 2 and len(z) == len(x) and torch.isfinite(z).all()
            assert torch.allclose(method.from_latent(z), method.reconstruct(x))
            assert method.from_latent((z[:1] + z[1:2]) / 2).shape == (1, *x.shape[1:])  # a point between two codes
        else:
            pytest.raises(NotImplementedError, method.reconstruct, x)
            pytest.raises(NotImplementedError, method.to_latent, x)
        if cls.generates:
            assert method.code_spec is not None and method.generate(method.sample_codes(4)).shape == (4, *x.shape[1:])
        else:
            pytest.raises(NotImplementedError, method.sample_codes, 4)
        if cls.variational:
            kl = method.latent_kl(x)
            assert kl.ndim == 2 and kl.shape[0] == len(x) and torch.isfinite(kl).all() and (kl >= -1e-6).all()
            groups = method.latent_groups()
            assert sorted(j for idx in groups.values() for j in idx) == list(range(kl.shape[1]))
            assert torch.allclose(method.generate(method.posterior_codes(x)), method.reconstruct(x))
        else:
            for fn in (method.latent_kl, method.posterior_codes):
                pytest.raises(NotImplementedError, fn, x)
            pytest.raises(NotImplementedError, method.latent_groups)
    if cls.variational:
        assert cls.generates and cls.reconstructs  # its codes are decoded
    if cls.trains_by_gradient:
        assert [p.name for p in method.training_phases()] and all(p.betas for p in method.training_phases())
    else:
        pytest.raises(NotImplementedError, method.phases)
    if cls.soft_clusters:
        with torch.no_grad():
            probabilities = method.cluster_probabilities(x)
        assert probabilities.shape == (len(x), method.n_clusters)
        assert torch.equal(probabilities.argmax(dim=1), method.cluster(x))
    else:
        pytest.raises(NotImplementedError, method.cluster_probabilities, x)
    assert cls.reads_optimizer_state == (cls.bind_optimizers is not Method.bind_optimizers)
    assert cls.name == name  # named by its registration
