"""InfoGAN's options that follow the authors' code (issue 14): each does what its docstring
says, and the old values stay reachable (their trajectory is pinned in tests/golden.py)."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from bench import create_method
from bench.methods.infogan import InfoGAN
from bench.rng import seed_everything


def batch_norms(method):
    return [m for m in method.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def test_the_authors_28x28_digits_are_served_when_the_data_has_them():
    config = InfoGAN.Config()
    padded = SimpleNamespace(image_shape=(1, 32, 32), native_shape=(1, 28, 28))
    assert InfoGAN.input_shape(config, padded) == (1, 28, 28)
    assert InfoGAN.input_shape(InfoGAN.Config(native_input=False), padded) == (1, 32, 32)
    assert InfoGAN.input_shape(config, SimpleNamespace(image_shape=(1, 64, 64), native_shape=None)) == (1, 64, 64)
    method = create_method("infogan", image_shape=(1, 28, 28))
    assert method.generate(method.sample_codes(3)).shape == (3, 1, 28, 28)


def test_evaluation_on_batch_statistics_leaves_the_running_statistics_alone():
    seed_everything(0)
    method = create_method("infogan", image_shape=(1, 28, 28))
    x = torch.rand(32, 1, 28, 28) * 2 - 1
    method.train()
    method.trunk(x)  # one training pass: running statistics move off their initial values
    saved = [(m.running_mean.clone(), m.running_var.clone(), int(m.num_batches_tracked)) for m in batch_norms(method)]
    method.eval()
    batch_mode = method.cluster(x)
    for m, (mean, var, count) in zip(batch_norms(method), saved):
        assert torch.equal(m.running_mean, mean) and torch.equal(m.running_var, var)
        assert int(m.num_batches_tracked) == count and not m.training
    method.config.eval_bn = "running"
    method.cluster(x)  # the running mode reads them, also without moving them
    assert all(torch.equal(m.running_mean, mean) for m, (mean, _, _) in zip(batch_norms(method), saved))
    method.train()  # batch mode is a training-mode pass on this batch (which does move them)
    with torch.no_grad():
        logits, _, _ = method.q_head.codes(method.trunk(x))
    assert torch.equal(batch_mode, logits.argmax(dim=1))


def test_the_authors_initialisation():
    seed_everything(0)
    method = create_method("infogan", image_shape=(1, 28, 28))
    convs = [m for m in method.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.weight.abs().max() <= 0.04 for m in convs)  # truncated at two std of 0.02
    linears = torch.cat([m.weight.flatten() for m in method.modules() if isinstance(m, nn.Linear)])
    assert linears.std().item() == pytest.approx(0.02, rel=0.05)
    scales = torch.cat([m.weight for m in batch_norms(method)])
    assert scales.mean().item() == pytest.approx(1.0, abs=0.01) and scales.std().item() == pytest.approx(0.02, rel=0.2)
    biases = [m.bias for m in method.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    assert all(torch.count_nonzero(b) == 0 for b in biases if b is not None)
    default = create_method("infogan", image_shape=(1, 28, 28), init="pytorch")
    assert max(m.weight.abs().max() for m in default.modules() if isinstance(m, nn.Conv2d)) > 0.04


def test_the_continuous_information_term_is_summed_over_the_codes_or_averaged():
    seed_everything(0)
    summed = create_method("infogan", image_shape=(1, 28, 28))
    averaged = create_method("infogan", image_shape=(1, 28, 28), mi_cont="mean")
    averaged.load_state_dict(summed.state_dict())
    codes = summed.sample_codes(16)
    features = summed.trunk(summed.generate(codes))
    two = summed.q_head.losses(features, codes)["q_cont"]
    one = averaged.q_head.losses(features, codes)["q_cont"]
    assert summed.config.n_continuous == 2 and torch.allclose(two, 2 * one)


def test_the_leaky_slope_reaches_every_leaky_relu():
    method = create_method("infogan", image_shape=(1, 28, 28), leaky_slope=0.1)
    slopes = {m.negative_slope for m in method.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.1}
