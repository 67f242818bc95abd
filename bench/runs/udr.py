"""`bench udr`: UDR (Duan et al. 2020) across the seeds of recorded runs, kept in their records.

UDR compares models trained alike, so it is a score of a run among its group: the completed
runs of one method, dataset, preset, setting and device kind (what a table row averages),
at least two seeds. Each run's model is rebuilt from its checkpoint (`--workdir`, as `bench
plot` does), all of them encode the same observations (dlib's udr.gin: 1,000, drawn 10 at a
time from seed 0; the dataset's ground-truth sampler where it has one, else its test images),
and each run's record gets `udr`: its score, the correlation used, the runs it was compared
with, its row of pair scores and how many of its latents were informative. The disentanglement
table shows it beside the other metrics. UDR reads posterior means and per-latent KLs, so it
applies to the variational methods (the VAE family); other methods are named and skipped.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from bench.datasets.base import ImageDataset, load_dataset
from bench.errors import BenchError
from bench.evaluation.disentanglement.udr import compute_udr
from bench.registry import METHODS
from bench.runs.recorded import load_trained
from bench.runs.records import load_records, read_record, write_record

GROUP = ["method", "preset", "variant", "device_kind"]
UDR_SEED = 0  # dlib's udr.gin: evaluation.random_seed = 0


class TestImages:
    """Observations for a dataset without known factors: its test images, drawn uniformly
    with the random state (`sample_observations`, as ground-truth data has it)."""

    def __init__(self, data: ImageDataset):
        self.images = data.test_x.cpu()

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        index = random_state.randint(len(self.images), size=num)
        return self.images[torch.from_numpy(index)].numpy().astype(np.float32) / 255.0


def representation(method, device: torch.device):
    """observations in [0, 1] -> (posterior means (n, D), mean KL of each latent (D,))."""

    @torch.inference_mode()
    def encode(observations: np.ndarray):
        method.eval()
        x = torch.as_tensor(observations, device=device, dtype=torch.float32) * 2 - 1
        codes = method.posterior_codes(x)
        means = torch.cat([codes["noise"], codes["continuous"]], dim=1)
        return means.double().cpu().numpy(), method.latent_kl(x).double().mean(dim=0).cpu().numpy()

    return encode


def groups(records: pd.DataFrame, dataset: str, methods: list[str]) -> tuple[list[pd.DataFrame], list[str]]:
    """The run groups of `dataset` UDR can score (variational, >= 2 completed seeds), and a
    line for each group left out."""
    if records.empty:
        return [], []
    runs = records[(records["dataset"] == dataset) & (records["status"] == "completed")
                   & records["method"].isin(methods)]
    out, skipped = [], []
    for key, group in runs.groupby(GROUP, sort=True):
        label = key[0] + (f" [{key[2]}]" if key[2] else "") + f" ({key[1]}, {key[3]})"
        if not METHODS.get(key[0]).variational:
            skipped.append(f"{label}: not variational (UDR reads posterior means and KLs)")
        elif group["seed"].nunique() < 2:
            skipped.append(f"{label}: {group['seed'].nunique()} completed seed (UDR compares at least 2)")
        else:
            out.append(group.sort_values("seed"))
    return out, skipped


def score_group(group: pd.DataFrame, data: ImageDataset, results_dir: Path, workdir: Path, device: torch.device,
                points: int = 1000, correlation: str = "lasso") -> list[dict]:
    """UDR of each run of `group` against the others; each record rewritten with it."""
    start = time.perf_counter()
    records = [read_record(results_dir, run_id) for run_id in group["run_id"]]
    models = [load_trained(record, workdir, device) for record in records]
    shapes = {tuple(m.image_shape) for m in models}
    if shapes != {tuple(data.image_shape)}:
        raise BenchError(f"{records[0]['method']}: UDR needs models of the dataset's {data.image_shape} images, "
                         f"got {sorted(shapes)}")
    sampler = data.ground_truth if data.ground_truth is not None else TestImages(data)
    result = compute_udr(sampler, [representation(m, device) for m in models], UDR_SEED,
                         num_data_points=points, correlation=correlation)
    seconds = round(time.perf_counter() - start, 2)
    for i, record in enumerate(records):
        others = [j for j in range(len(records)) if j != i]
        # its score is the median of how well each other run's latents predict its own
        record["udr"] = {"score": result["udr"][i], "correlation": correlation, "points": points, "seed": UDR_SEED,
                         "compared_with": [records[j]["run_id"] for j in others],
                         "pair_scores": [float(result["pairwise"][j, i]) for j in others],
                         "informative_latents": result["informative"][i], "seconds": seconds}
        write_record(record, results_dir)
    return records


def run_udr(dataset: str, methods: list[str], results_dir: Path, workdir: Path, data_root: Path,
            device: torch.device, points: int = 1000, correlation: str = "lasso") -> tuple[list[list[dict]], list[str]]:
    """Score every eligible group of `dataset`; (the scored records per group, the groups left out)."""
    chosen, skipped = groups(load_records(results_dir), dataset, methods)
    if not chosen:
        reasons = "; ".join(skipped) or "no completed runs"
        raise BenchError(f"no run group of {dataset} under {results_dir}/runs that UDR can score ({reasons})")
    data = load_dataset(dataset, data_root)
    return [score_group(g, data, results_dir, workdir, device, points, correlation) for g in chosen], skipped
