import pytest
import torch

from bench.methods.nets import build


def test_conv_spec_infers_sizes_and_output_shape():
    net = build(["conv 64 k4 s2 lrelu", "conv 128 k4 s2 bn lrelu", "flatten", "fc 1024 bn lrelu"], (1, 32, 32))
    assert net.out_shape == (1024,)
    assert net(torch.zeros(3, 1, 32, 32)).shape == (3, 1024)
    assert isinstance(net[1], torch.nn.LeakyReLU) and net[1].negative_slope == 0.2


def test_generator_spec_with_reshape_deconv_and_upsampling():
    net = build(
        ["fc 512 relu", "reshape 32 4 4", "deconv 16 k4 s2 bn relu", "up s2", "conv 1 k3 s1 tanh"], (20,)
    )
    assert net.out_shape == (1, 16, 16)
    out = net(torch.randn(2, 20))
    assert out.shape == (2, 1, 16, 16) and out.abs().max() <= 1


def test_lrelu_slope_and_errors():
    assert build(["fc 4 lrelu0.1"], (3,))[1].negative_slope == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown layer op"):
        build(["pool 2"], (1, 8, 8))
    with pytest.raises(ValueError, match="unknown flag"):
        build(["fc 4 swish"], (3,))
    with pytest.raises(ValueError, match="cannot reshape"):
        build(["reshape 3 3 3"], (10,))


@pytest.mark.parametrize("name", ["table2_mnist32", "table3_chairs64", "table4_rgb32"])
def test_latentgan_tables_are_one_spec_each(name):
    from bench.methods.autoencoder import ARCHITECTURES, ConvAutoencoder

    arch = ARCHITECTURES[name]
    ae = ConvAutoencoder(arch)
    x = torch.zeros(2, *arch.image_shape)
    assert ae.encoder(x).shape == (2, arch.latent)
    assert ae.decoder(ae.encoder(x)).shape == (2, *arch.image_shape)
    assert build(arch.generator_spec(), (5,)).out_shape == (arch.latent,)
    assert build(arch.d_trunk_spec(), (arch.latent,)).out_shape == (arch.d_widths[-1],)
