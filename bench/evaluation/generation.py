"""What a generator draws, judged by a small classifier of the dataset that the suite trains
once: how many classes its samples cover, how evenly (KL of the class histogram against
uniform), how confidently and diversely they classify (the classifier-score analogue of
the Inception score), how far their features lie from the test split's (the Fréchet
distance in the classifier's penultimate features, FID's construction), and, for a
categorical code, how purely each category draws one class.

The metric functions are pure functions of arrays; `measure` draws the samples and
`classifier_for` trains or loads the classifier (cached under the data root beside a
SHA-256 of its weights, retrained when missing or altered).
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import linalg
from torch import nn

from bench.datasets.base import load_dataset
from bench.datasets.mixtures import SAMPLES, PointDataset, mode_measures
from bench.errors import BenchError
from bench.files import sha256_of, write_atomic
from bench.tracking import progress

DATASETS = ("mnist", "fashion_mnist")  # the datasets a classifier is trained for
REFERENCE_IMAGES = 10_000  # real training images scored as a generator would be, for reference
MIN_SHARE = 0.1  # a class is covered when it gets at least a tenth of its fair share (N / classes)


# ---- the measures, pure functions of arrays ----------------------------------------------

def class_measures(probabilities: np.ndarray, min_share: float = MIN_SHARE) -> dict[str, float]:
    """From (N, C) class probabilities of N samples: classes covered (a class counts when at
    least `min_share` x N / C samples are classified as it), KL(class histogram || uniform) in
    nats, and the classifier score exp(E_x KL(p(y|x) || p(y)))."""
    p = np.asarray(probabilities, dtype=np.float64)
    n, classes = p.shape
    counts = np.bincount(p.argmax(axis=1), minlength=classes)
    share = counts / n
    nonzero = share > 0
    kl_uniform = float(np.sum(share[nonzero] * np.log(share[nonzero] * classes)))
    marginal = p.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0)
    score = float(np.exp(terms.sum(axis=1).mean()))
    return {"classes_covered": int(np.sum(counts >= min_share * n / classes)), "kl_uniform": kl_uniform,
            "classifier_score": score}


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two feature sets (N, D)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # features of a narrow sample (one digit) have singular covariances
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        root = linalg.sqrtm(cov_a @ cov_b)
    if not np.isfinite(root).all():  # a singular product: offset both, as FID's reference code does
        offset = np.eye(len(cov_a)) * 1e-6
        root = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    root = root.real
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(root))


def category_purity(predicted: list[np.ndarray]) -> float:
    """Mean over a code's categories of the share of that category's samples classified as
    its most frequent class (1.0: every category draws one class)."""
    shares = [np.bincount(p).max() / len(p) for p in predicted if len(p)]
    return float(np.mean(shares)) if shares else math.nan


# ---- the classifier -------------------------------------------------------------------

@dataclass(frozen=True)
class ClassifierSpec:
    """How the classifier is trained: part of its cache key, so a change retrains it."""

    epochs: int = 4
    batch_size: int = 128
    lr: float = 1e-3  # a tenth of it in the last epoch
    train_size: int | None = None  # None: the whole training split
    seed: int = 0

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]


class DomainClassifier(nn.Module):
    """conv32-pool-conv64-pool-fc128-fc(classes) on 32x32 images in [-1, 1]; `features` is
    the 128-d penultimate layer the Fréchet distance is taken in."""

    def __init__(self, classes: int = 10, channels: int = 1, size: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * (size // 4) ** 2, 128), nn.ReLU())
        self.head = nn.Linear(128, classes)
        self.size = size

    def fit_size(self, x: torch.Tensor) -> torch.Tensor:
        """Images of another size centred on a background canvas (-1), or centre-cropped: a
        generator of 28x28 digits is scored on MNIST's 32x32 padding."""
        pad_h, pad_w = self.size - x.shape[-2], self.size - x.shape[-1]
        if pad_h == 0 and pad_w == 0:
            return x
        return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=-1.0)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.fit_size(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class Classifier:
    """A trained classifier with what the record says about it."""

    net: DomainClassifier
    sha256: str
    test_accuracy: float
    dataset: str
    reference: dict  # the measures of 10,000 real training images: what an ideal generator scores


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(127.5).sub(1.0)


@torch.no_grad()
def _apply(net: DomainClassifier, x: torch.Tensor, batch: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """(probabilities, features) of images (uint8 or float in [-1, 1]) in batches, on the CPU."""
    net.eval()
    probs, feats = [], []
    for i in range(0, len(x), batch):
        part = x[i:i + batch]
        part = _to_float(part) if part.dtype == torch.uint8 else part.float()
        f = net.features(part)
        feats.append(f)
        probs.append(net.head(f).softmax(dim=1))
    return torch.cat(probs), torch.cat(feats)


def train_classifier(data, spec: ClassifierSpec) -> DomainClassifier:
    """Adam on the training split, deterministic for a machine (seeded, on the CPU)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        c, h, _ = data.image_shape
        net = DomainClassifier(data.n_classes, c, h)
        x, y = data.train_x.cpu(), data.train_y.cpu()
        if spec.train_size is not None:
            x, y = x[:spec.train_size], y[:spec.train_size]
        optimizer = torch.optim.Adam(net.parameters(), lr=spec.lr)
        steps = spec.epochs * (len(x) // spec.batch_size)
        with progress.bar(f"train the {data.name} classifier", steps, "step") as bar:
            for epoch in range(spec.epochs):
                for group in optimizer.param_groups:
                    group["lr"] = spec.lr / 10 if epoch == spec.epochs - 1 and spec.epochs > 1 else spec.lr
                order = torch.randperm(len(x))
                for i in range(len(x) // spec.batch_size):
                    idx = order[i * spec.batch_size:(i + 1) * spec.batch_size]
                    loss = F.cross_entropy(net(_to_float(x[idx])), y[idx])
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    bar.update(1)
    return net.eval()


def classifier_for(data, root: Path, spec: ClassifierSpec = ClassifierSpec()) -> Classifier:
    """The classifier of `data` (a loaded dataset, whole), from the cache under
    `root/classifiers/` when its weights match their recorded SHA-256, else trained now
    and cached (a cache that cannot be written is a one-line error)."""
    folder = Path(root) / "classifiers"
    weights = folder / f"{data.name}-{spec.key()}.pt"
    meta = weights.with_suffix(".json")
    if weights.exists() and meta.exists():
        try:
            info = json.loads(meta.read_text())
            if info.get("sha256") == sha256_of(weights):
                net = DomainClassifier(data.n_classes, data.image_shape[0], data.image_shape[1])
                net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
                return Classifier(net.eval(), info["sha256"], float(info["test_accuracy"]), data.name,
                                  dict(info["reference"]))
        except (OSError, ValueError, KeyError, RuntimeError):
            pass  # altered or unreadable: retrained below
    print(f"bench: training the {data.name} classifier for the generation measures (once; cached in {folder})")
    net = train_classifier(data, spec)
    probabilities, _ = _apply(net, data.test_x.cpu())
    accuracy = float((probabilities.argmax(dim=1) == data.test_y.cpu()).float().mean())
    write_atomic(weights, lambda tmp: torch.save(net.state_dict(), tmp))
    digest = sha256_of(weights)
    classifier = Classifier(net, digest, accuracy, data.name, {})
    classifier.reference = scores(classifier, _to_float(data.train_x[:REFERENCE_IMAGES].cpu()), data.test_x.cpu(),
                                  _real_per_class(data))
    info = {"sha256": digest, "test_accuracy": accuracy, "dataset": data.name, "spec": asdict(spec),
            "reference": classifier.reference, "torch_version": torch.__version__}
    write_atomic(meta, lambda tmp: tmp.write_text(json.dumps(info, indent=2) + "\n"))
    return classifier


def _real_per_class(data) -> list[torch.Tensor]:
    """Real training images grouped by their label: the category purity of a perfect
    categorical code (each category one class)."""
    x, y = data.train_x[:REFERENCE_IMAGES].cpu(), data.train_y[:REFERENCE_IMAGES].cpu()
    return [_to_float(x[y == c]) for c in range(data.n_classes)]


# ---- the run measure --------------------------------------------------------------------

@torch.no_grad()
def draw(method, n: int, seed: int, batch: int = 1000, category: int | None = None) -> torch.Tensor:
    """n samples of `method`'s generator (float, on the CPU), from a generator of its own seeded
    by `seed`, so a run's samples are the same whenever they are drawn; with `category`, the
    categorical code fixed at that value."""
    generator = torch.Generator(method.device).manual_seed(seed)
    was_training = method.training
    method.eval()
    out = []
    try:
        for i in range(0, n, batch):
            codes = method.sample_codes(min(batch, n - i), generator)
            if category is not None:
                codes["categorical"] = torch.full_like(codes["categorical"], category)
            out.append(method.generate(codes).float().cpu())
    finally:
        method.train(was_training)
    return torch.cat(out)


def scores(classifier: Classifier, samples: torch.Tensor, reference: torch.Tensor,
           per_category: list[torch.Tensor] | None = None) -> dict:
    """The measures of `samples` (float images in [-1, 1]) against `reference` (the test split)."""
    probabilities, features = _apply(classifier.net, samples)
    _, reference_features = _apply(classifier.net, reference)
    out = {**class_measures(probabilities.numpy()),
           "frechet_distance": frechet_distance(features.numpy(), reference_features.numpy()),
           "n": int(len(samples))}
    if per_category:
        out["category_purity"] = category_purity([_apply(classifier.net, s)[0].argmax(dim=1).numpy()
                                                  for s in per_category])
    return out


KEPT_POINTS = 500  # generated 2-D points a record keeps, for the figure of samples over training


def point_samples(method, data: PointDataset, seed: int, n: int = SAMPLES) -> dict:
    """A generator of 2-D points: VEEGAN's mode measures of n samples, and the first
    KEPT_POINTS of them (rounded) to draw."""
    samples = draw(method, n, seed).numpy()
    return {**mode_measures(samples, data.centers.numpy(), data.std),
            "samples": np.round(samples[:KEPT_POINTS], 3).tolist()}


def measure(method, data, seed: int, n: int = 10000, spec: ClassifierSpec = ClassifierSpec()) -> dict | None:
    """The generation measures of a trained method on `data` (the dataset it trained on, or
    a subset of it), or None where they do not apply: on 2-D mixtures the mode measures; on
    MNIST and Fashion-MNIST the classifier's, with the whole test split as the reference."""
    if not method.generates or n == 0:
        return None
    if isinstance(data, PointDataset):
        return {"kind": "modes", **point_samples(method, data, seed)}
    if data.name not in DATASETS:
        return None
    if data.root is None:
        raise BenchError(f"no data root to keep the {data.name} classifier in")
    whole = load_dataset(data.name, data.root)
    classifier = classifier_for(whole, data.root, spec)
    with progress.stage(f"generation: {n} samples scored by the {data.name} classifier"):
        samples = draw(method, n, seed)
        k = method.code_spec.categorical if method.code_spec is not None else 0
        per_category = [draw(method, max(n // k, 1), seed + 1 + c, category=c) for c in range(k)] if k > 1 else None
        out = scores(classifier, samples, whole.test_x, per_category)
    return {"kind": "classifier", **out, "reference": classifier.reference,
            "classifier": {"sha256": classifier.sha256, "test_accuracy": classifier.test_accuracy}}
