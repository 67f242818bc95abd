"""The real datasets' loaders, each on a small file the test writes in the real format
(DeepMind's dSprites .npz, 3dshapes.h5, CIFAR-10's python batches, CelebA's folder), with the
file's own digest passed in; the registered loaders (official digests) refuse those files,
and a missing file, in one line each. And dlib's procedural dSprites variants."""

import pickle

import numpy as np
import pytest
import torch

from bench.datasets import dsprites as dsprites_module
from bench.datasets import load_dataset
from bench.datasets.dsprites import ColorDSprites, DSprites, NoisyDSprites, render
from bench.datasets.dsprites_file import FILE as DSPRITES_FILE
from bench.datasets.dsprites_file import load_dsprites_file, procedural_agreement
from bench.datasets.factor_grid import FactorGrid
from bench.datasets.shapes3d import load_shapes3d_file
from bench.datasets.torchvision_sets import load_celeba, load_cifar10
from bench.datasets.verified import md5_of
from bench.errors import BenchError

# --- dlib's procedural variants ----------------------------------------------------------


def test_color_dsprites_draws_its_colour_after_the_factors_as_dlib():
    rs, ref = np.random.RandomState(4), np.random.RandomState(4)
    factors, observations = ColorDSprites().sample(5, rs)
    assert np.array_equal(factors, DSprites().sample_factors(5, ref))
    color = ref.uniform(0.5, 1, [5, 1, 1, 3])  # dlib's draw, channel-last
    white = render(factors).numpy() > 0
    assert observations.shape == (5, 3, 64, 64)
    for i in range(5):
        sprite = observations[i][:, white[i, 0]]  # (3, sprite pixels): the image's colour everywhere
        np.testing.assert_allclose(sprite, np.broadcast_to(color[i, 0, 0][:, None], sprite.shape), rtol=1e-6)
        assert (observations[i][:, ~white[i, 0]] == 0).all()
    assert rs.randint(1 << 30) == ref.randint(1 << 30)  # the stream goes on where dlib's would


def test_noisy_dsprites_keeps_the_sprite_white_on_noise():
    rs, ref = np.random.RandomState(2), np.random.RandomState(2)
    factors, observations = NoisyDSprites().sample(3, rs)
    ref_factors = DSprites().sample_factors(3, ref)
    noise = ref.uniform(0, 1, [3, 64, 64, 3]).transpose(0, 3, 1, 2)
    white = np.repeat(render(ref_factors).numpy() > 0, 3, axis=1)
    assert np.array_equal(factors, ref_factors)
    assert (observations[white] == 1).all()
    np.testing.assert_allclose(observations[~white], noise[~white], rtol=1e-6)


@pytest.mark.parametrize("name, channels", [("color_dsprites", 3), ("noisy_dsprites", 3)])
def test_the_registered_variants_are_dsprites_sample_in_colour(name, channels, monkeypatch, tmp_path):
    small = (torch.tensor([[0, 1, 2, 3, 4], [2, 5, 39, 31, 0]]), torch.tensor([[1, 0, 0, 0, 0]]))
    monkeypatch.setattr(dsprites_module, "split_factors", lambda: small)
    data = load_dataset(name, tmp_path)
    assert data.train_x.shape == (2, channels, 64, 64) and data.train_x.dtype == torch.uint8
    assert data.train_y.tolist() == [0, 2] and data.test_y.tolist() == [1] and data.n_classes == 3
    assert data.ground_truth.observation_shape == (3, 64, 64)
    assert torch.equal(load_dataset(name, tmp_path).train_x, data.train_x)  # a fixed sample


# --- DeepMind's dSprites file ------------------------------------------------------------


def dsprites_npz(path, shift=0):
    """A small full grid in the real file's layout: imgs N x 64 x 64 in {0, 1}, latents_classes
    N x 6 (colour first), latents_values, and the pickled metadata the loader never opens."""
    grid = np.array([[0, s, a, b, x, y] for s in range(3) for a in range(2) for b in range(2)
                     for x in range(2) for y in range(2)])
    images = (render(grid[:, 1:]).numpy()[:, 0] > 0).astype(np.uint8)
    images = np.roll(images, shift, axis=2)
    np.savez(path, imgs=images, latents_classes=grid, latents_values=grid.astype(float),
             metadata=np.array({"latents_sizes": [1, 3, 6, 40, 32, 32]}, dtype=object))
    return path


def test_a_dsprites_file_is_a_dataset_with_ground_truth(tmp_path):
    path = dsprites_npz(tmp_path / DSPRITES_FILE)
    data = load_dsprites_file(path, md5=md5_of(path))
    assert len(data.train_x) + len(data.test_x) == 48 and data.train_x.shape[1:] == (1, 64, 64)
    assert set(data.train_x.unique().tolist()) == {0, 255} and data.n_classes == 3
    truth = data.ground_truth
    assert truth.factors_num_values == [3, 2, 2, 2, 2] and truth.observation_shape == (1, 64, 64)
    factors, images = truth.sample(6, np.random.RandomState(0))
    np.testing.assert_array_equal(images, render(factors).numpy() / 255.0)  # each image is its factors'


def test_the_procedural_dsprites_checks_against_a_file(tmp_path):
    exact = dsprites_npz(tmp_path / "exact.npz")
    truth = load_dsprites_file(exact, md5=md5_of(exact)).ground_truth
    assert procedural_agreement(truth, n=200)["iou"] == pytest.approx(1.0)
    shifted = dsprites_npz(tmp_path / "shifted.npz", shift=3)
    result = procedural_agreement(load_dsprites_file(shifted, md5=md5_of(shifted)).ground_truth, n=200)
    assert 0.0 < result["iou"] < 0.9 and set(result) == {"iou", "iou_square", "iou_ellipse", "iou_heart"}


def test_the_registered_dsprites_file_is_checked_by_its_digest(tmp_path):
    with pytest.raises(BenchError, match=r"no dsprites_ndarray.*put DeepMind's .*there"):
        load_dataset("dsprites_full", tmp_path)
    (tmp_path / "dsprites").mkdir()
    dsprites_npz(tmp_path / "dsprites" / DSPRITES_FILE)
    with pytest.raises(BenchError, match="damaged or not the original .*expected 7da33b31b13a06f4b04a70402ce90c2e"):
        load_dataset("dsprites_full", tmp_path)


def test_a_file_with_other_arrays_is_one_line(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, imgs=np.zeros((4, 8, 8), np.float32), latents_classes=np.zeros((4, 6), int))
    with pytest.raises(BenchError, match="expected imgs uint8"):
        load_dsprites_file(path, md5=md5_of(path))


# --- Shapes3D ------------------------------------------------------------------------------


def shapes3d_h5(path, drop=False):
    import h5py

    sizes = (2, 1, 2, 2, 3, 1)
    values = [np.linspace(0, 1, n) if n > 1 else np.zeros(1) for n in sizes]
    index = np.array(np.meshgrid(*[np.arange(n) for n in sizes], indexing="ij")).reshape(6, -1).T
    labels = np.stack([values[j][index[:, j]] for j in range(6)], axis=1)
    images = np.random.RandomState(0).randint(0, 256, size=(len(index), 64, 64, 3)).astype(np.uint8)
    with h5py.File(path, "w") as f:
        f.create_dataset("images", data=images)
        if not drop:
            f.create_dataset("labels", data=labels)
    return path, images, index


def test_a_shapes3d_file_is_a_dataset_with_ground_truth(tmp_path):
    path, images, index = shapes3d_h5(tmp_path / "3dshapes.h5")
    data = load_shapes3d_file(path, md5=md5_of(path))
    assert len(data.train_x) + len(data.test_x) == 24 and data.train_x.shape[1:] == (3, 64, 64)
    assert data.n_classes == 3  # labelled by shape
    truth = data.ground_truth
    assert truth.factors_num_values == [2, 1, 2, 2, 3, 1]
    factors, observations = truth.sample(5, np.random.RandomState(1))
    flat = [int(np.ravel_multi_index(f, (2, 1, 2, 2, 3, 1))) for f in factors]
    np.testing.assert_array_equal(observations, images[flat].transpose(0, 3, 1, 2) / np.float32(255))


def test_the_registered_shapes3d_is_checked_by_its_digest(tmp_path):
    with pytest.raises(BenchError, match="no 3dshapes.h5 at .*put DeepMind's 3dshapes.h5"):
        load_dataset("shapes3d", tmp_path)
    (tmp_path / "3dshapes").mkdir()
    shapes3d_h5(tmp_path / "3dshapes" / "3dshapes.h5")
    with pytest.raises(BenchError, match="expected 099a2078d58cec4daad0702c55d06868"):
        load_dataset("shapes3d", tmp_path)
    path, _, _ = shapes3d_h5(tmp_path / "nolabels.h5", drop=True)
    with pytest.raises(BenchError, match="cannot read .* as Shapes3D"):
        load_shapes3d_file(path, md5=md5_of(path))


# --- CIFAR-10 ------------------------------------------------------------------------------


def cifar_folder(root, n=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.RandomState(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"data": rng.randint(0, 256, size=(n, 3072)).astype(np.uint8), "labels": list(rng.randint(0, 10, n))}
        (folder / name).write_bytes(pickle.dumps(batch))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return {p.name: md5_of(p) for p in folder.iterdir()}


def test_a_cifar10_folder_through_torchvision(tmp_path):
    md5s = cifar_folder(tmp_path)
    data = load_cifar10(tmp_path, md5s)
    assert data.train_x.shape == (20, 3, 32, 32) and data.test_x.shape == (4, 3, 32, 32) and data.n_classes == 10
    first = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes())["data"][0]
    assert torch.equal(data.train_x[0], torch.from_numpy(first.reshape(3, 32, 32)))  # CIFAR's planes, channel-first


def test_the_registered_cifar10_uses_torchvisions_digests(tmp_path):
    with pytest.raises(BenchError, match="cifar10: no verified CIFAR-10 batches in .*put the python version"):
        load_dataset("cifar10", tmp_path)
    cifar_folder(tmp_path)
    with pytest.raises(BenchError, match="no verified CIFAR-10 batches"):  # not the real files' MD5s
        load_dataset("cifar10", tmp_path)


# --- CelebA --------------------------------------------------------------------------------


def celeba_folder(root, n=6):
    from PIL import Image

    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    rng = np.random.RandomState(0)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for name in names:
        image = rng.randint(0, 256, size=(218, 178, 3)).astype(np.uint8)  # CelebA's aligned size
        Image.fromarray(image).save(folder / "img_align_celeba" / name)
    split = [0, 0, 0, 1, 2, 2]
    attrs = ["5_o_Clock_Shadow", "Smiling", "Young"]
    smiling = [1, -1, 1, 1, -1, 1]
    lines = {
        "list_eval_partition.txt": [f"{name} {s}" for name, s in zip(names, split)],
        "identity_CelebA.txt": [f"{name} {i}" for i, name in enumerate(names)],
        "list_bbox_celeba.txt": [str(n), "image_id x_1 y_1 width height"] + [f"{name} 1 2 3 4" for name in names],
        "list_landmarks_align_celeba.txt": [str(n), " ".join(f"p{i}" for i in range(10))]
                                           + [f"{name} " + " ".join(["5"] * 10) for name in names],
        "list_attr_celeba.txt": [str(n), " ".join(attrs)] + [f"{name} -1 {s} 1" for name, s in zip(names, smiling)],
    }
    for file, rows in lines.items():
        (folder / file).write_text("\n".join(rows) + "\n")
    return {file: md5_of(folder / file) for file in lines}


def test_a_celeba_folder_through_torchvision(tmp_path):
    md5s = celeba_folder(tmp_path)
    data = load_celeba(tmp_path, 64, md5s)
    assert data.name == "celeba" and data.train_x.shape == (3, 3, 64, 64) and data.test_x.shape == (2, 3, 64, 64)
    assert data.train_y.tolist() == [1, 0, 1] and data.test_y.tolist() == [0, 1] and data.n_classes == 2  # Smiling
    cached = tmp_path / "celeba" / "bench-celeba-64x64.npz"
    assert cached.is_file()
    again = load_celeba(tmp_path, 64, md5s)
    assert torch.equal(again.train_x, data.train_x)
    small = load_celeba(tmp_path, 32, md5s, cache=False)
    assert small.name == "celeba32" and small.train_x.shape == (3, 3, 32, 32)


def test_the_registered_celeba_uses_torchvisions_digests(tmp_path):
    with pytest.raises(BenchError, match="celeba: no verified CelebA files in .*put CelebA's img_align_celeba"):
        load_dataset("celeba", tmp_path)
    celeba_folder(tmp_path)
    with pytest.raises(BenchError, match="celeba32: no verified CelebA files"):
        load_dataset("celeba32", tmp_path)


def test_factor_grid_picks_among_several_images_with_the_random_state():
    images = np.arange(4, dtype=np.uint8).reshape(4, 1, 1, 1)
    grid = FactorGrid(images, np.array([[0], [1], [1], [0]]))
    picks = {int(grid.indices([[1]], np.random.RandomState(s))[0]) for s in range(20)}
    assert picks == {1, 2}
    with pytest.raises(BenchError, match="1 of 3 factor combinations have no image"):
        FactorGrid(images[:2], np.array([[0], [2]]))
