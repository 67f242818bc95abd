"""The reconstruction error a run records beside the two decoders that learned nothing
(issue 14: InfoAE's decoder scored no better than a blank image)."""

import pytest
import torch
from torch import nn

from bench.datasets.base import ImageDataset
from bench.evaluation.run_measures import reconstruction


class Decoder(nn.Module):
    """A stand-in autoencoder whose reconstruction is a fixed function of x."""

    reconstructs = True

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def reconstruct(self, x):
        return self.fn(x)


def data():
    # uint8 0 and 255 are -1 and 1: train images half black, half white; test images white
    train = torch.cat([torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 255.0)]).to(torch.uint8)
    test = torch.full((3, 1, 2, 2), 255, dtype=torch.uint8)
    labels = torch.zeros(4, dtype=torch.long)
    return ImageDataset("known", train, labels, test, labels[:3], n_classes=1)


def test_known_answers():
    perfect = reconstruction(Decoder(lambda x: x), data())
    assert perfect == {"mse": 0.0, "mean_image_mse": pytest.approx(1.0), "blank_mse": pytest.approx(4.0)}
    blank = reconstruction(Decoder(lambda x: -torch.ones_like(x)), data())
    assert blank["mse"] == pytest.approx(blank["blank_mse"])


def test_methods_without_a_decoder_record_nothing():
    assert reconstruction(Decoder(lambda x: x), data()) is not None
    no_decoder = Decoder(lambda x: x)
    no_decoder.reconstructs = False
    assert reconstruction(no_decoder, data()) is None
