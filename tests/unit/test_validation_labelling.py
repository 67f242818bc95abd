"""The AAE paper's labelling: each cluster takes the label of its most confident image of a
validation set, training-split images the run never trains on. Known answers for the split
and for the scores."""

import pytest
import torch
from torch import nn

from bench.datasets.base import ImageDataset
from bench.evaluation.harness import evaluate_clustering


def images(values):
    return torch.tensor(values, dtype=torch.uint8).view(-1, 1, 1, 1)


def numbered(n):
    """n one-pixel 'images' whose label is their index, so a split can be read off its labels."""
    return ImageDataset("n", images([i % 256 for i in range(n)]), torch.arange(n), images([0]), torch.tensor([0]), n)


def test_held_out_images_are_never_training_images_and_a_subset_trains_on_what_it_did():
    data = numbered(600)
    plain, held = data.subset(64, None), data.subset(64, None, validation_size=50)
    assert torch.equal(held.train_y, plain.train_y)  # a subset's training images do not change
    assert len(held.valid_y) == 50 and not set(held.valid_y.tolist()) & set(held.train_y.tolist())
    assert plain.valid_x is None


def test_a_run_on_the_whole_split_gives_up_the_held_out_images():
    full = numbered(600).subset(None, None, validation_size=50)
    assert len(full.train_y) == 550 and len(full.valid_y) == 50
    assert sorted(full.train_y.tolist() + full.valid_y.tolist()) == list(range(600))


def test_at_most_a_sixth_of_the_split_is_held_out():
    assert len(numbered(600).subset(None, None, validation_size=10000).valid_y) == 100
    assert numbered(600).subset(None, None, validation_size=0).valid_x is None


class Brightness(nn.Module):
    """Two clusters by pixel value: cluster 1 for bright images, surer the brighter."""

    soft_clusters = True

    def cluster_probabilities(self, x):
        logit = x.flatten(1)[:, 0] * 10
        return torch.stack([-logit, logit], dim=1).softmax(dim=1)

    def cluster(self, x):
        return self.cluster_probabilities(x).argmax(dim=1)


def test_clusters_are_labelled_by_their_surest_validation_image():
    data = ImageDataset("toy", images([10, 240]), torch.tensor([5, 6]), images([20, 230, 50]), torch.tensor([7, 3, 5]),
                        10, valid_x=images([0, 255, 100, 200]), valid_y=torch.tensor([7, 3, 1, 1]))
    scores = evaluate_clustering(Brightness(), data, batch_size=2)
    # validation: the darkest image (label 7) labels cluster 0, the brightest (3) cluster 1;
    # test predictions 0, 1, 0 then read 7, 3, 7 against the truth 7, 3, 5
    assert scores["validation"] == {"n": 4, "cluster_labels": [7, 3]}
    assert scores["test"]["accuracy_most_confident_validation"] == pytest.approx(2 / 3)
    # the training images' labelling (5, 6) is kept beside it
    assert scores["test"]["accuracy_most_confident"] == pytest.approx(1 / 3)


def test_without_held_out_images_there_is_no_validation_labelling():
    data = ImageDataset("toy", images([10, 240]), torch.tensor([5, 6]), images([20]), torch.tensor([7]), 10)
    scores = evaluate_clustering(Brightness(), data, batch_size=2)
    assert "validation" not in scores and "accuracy_most_confident_validation" not in scores["test"]
