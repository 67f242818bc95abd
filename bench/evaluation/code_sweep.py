"""Which continuous code drives which morphometric (in the spirit of Morpho-MNIST's
disentanglement analysis), for any generator that exposes `code_spec` and `sample_codes`.

Draw `n` base codes with a fixed seed; for each continuous code j, sweep it over `steps`
evenly spaced values across `code_spec.continuous_range` with everything else held fixed,
generate, and measure (bench.evaluation.morphometrics). Scores:

The long form (readings, departures, history): docs/notes.md, `bench.evaluation.code_sweep`."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from bench.errors import BenchError
from bench.evaluation.morphometrics import MORPHOMETRICS, measure
from bench.tracking import progress


class SweepScores(NamedTuple):
    scores: pd.DataFrame  # long: code, morphometric, spearman, abs_spearman, n_sweeps
    gaps: pd.DataFrame  # one row per morphometric: best_code, best, runner_up, gap
    samples: pd.DataFrame  # every generated image: code, base, value, and its morphometrics


def _device(method) -> torch.device:
    try:
        return next(method.parameters()).device
    except StopIteration:  # a parameter-free generator
        return torch.device("cpu")


def sweep_spearman(values: np.ndarray, measured: np.ndarray) -> float:
    """Spearman rho of one sweep; 0 where the measurement never changes, NaN with < 3 points."""
    ok = np.isfinite(measured)
    if ok.sum() < 3:
        return float("nan")
    values, measured = values[ok], measured[ok]
    if np.ptp(measured) == 0:
        return 0.0
    return float(spearmanr(values, measured).statistic)


@torch.no_grad()
def _generate(method, codes: dict[str, torch.Tensor], batch_size: int) -> torch.Tensor:
    n = len(codes["continuous"])
    parts = [method.generate({k: v[i : i + batch_size] for k, v in codes.items()}).float().cpu()
             for i in range(0, n, batch_size)]
    return torch.cat(parts)


def sweep_images(method, n: int, steps: int, seed: int, batch_size: int):
    """Yield (code j, swept values (n * steps,), base index (n * steps,), images) per continuous code."""
    spec = method.code_spec
    device = _device(method)
    g = torch.Generator(device=device).manual_seed(seed)
    base = method.sample_codes(n, generator=g)
    values = torch.linspace(*spec.continuous_range, steps, device=device)
    for j in range(spec.continuous):
        codes = {k: v.repeat_interleave(steps, 0) for k, v in base.items()}  # base i -> rows i*steps..
        codes["continuous"][:, j] = values.repeat(n).to(codes["continuous"].dtype)
        yield j, values.repeat(n).cpu().numpy(), np.repeat(np.arange(n), steps), _generate(method, codes, batch_size)


def code_sweep(method, n: int = 64, steps: int = 9, seed: int = 0, batch_size: int = 500) -> SweepScores:
    """Score how strongly each continuous code drives each Morpho-MNIST morphometric.

    Raises BenchError (one line) for a method with no continuous codes: the caller records
    "not applicable".
    """
    spec = getattr(method, "code_spec", None)
    if spec is None or spec.continuous == 0:
        raise BenchError(f"{getattr(method, 'name', '') or type(method).__name__} has no continuous codes to sweep")
    if n < 1 or steps < 3:
        raise BenchError(f"code sweep needs n >= 1 base codes and steps >= 3, got n={n}, steps={steps}")
    was_training = method.training
    method.eval()
    try:
        frames = []
        with progress.bar(f"morphometrics of {spec.continuous} code sweeps", total=spec.continuous * n * steps,
                          unit="img") as bar:
            for j, values, bases, images in sweep_images(method, n, steps, seed, batch_size):
                frame = measure(images)
                frame.insert(0, "value", values)
                frame.insert(0, "base", bases)
                frame.insert(0, "code", j)
                frames.append(frame)
                bar.update(len(frame))
    finally:
        method.train(was_training)
    samples = pd.concat(frames, ignore_index=True)

    rows = []
    for (j, _), sweep in samples.groupby(["code", "base"], sort=True):
        v = sweep["value"].to_numpy()
        rows += [(j, m, sweep_spearman(v, sweep[m].to_numpy())) for m in MORPHOMETRICS]
    per_sweep = pd.DataFrame(rows, columns=["code", "morphometric", "rho"])
    scores = (per_sweep.groupby(["code", "morphometric"], sort=False)["rho"]
              .agg(spearman="mean", n_sweeps="count").reset_index())  # mean/count skip NaN sweeps
    scores.insert(3, "abs_spearman", scores["spearman"].abs())
    return SweepScores(scores, gaps(scores), samples)


def gaps(scores: pd.DataFrame) -> pd.DataFrame:
    """Per morphometric: the code with the largest abs_spearman, it, the runner-up, and their gap."""
    rows = []
    for m in MORPHOMETRICS:
        col = scores[scores["morphometric"] == m].set_index("code")["abs_spearman"].dropna()
        if col.empty:
            rows.append((m, None, np.nan, np.nan, np.nan))
            continue
        ranked = col.sort_values(ascending=False)
        best = float(ranked.iloc[0])
        runner_up = float(ranked.iloc[1]) if len(ranked) > 1 else 0.0
        rows.append((m, int(ranked.index[0]), best, runner_up, best - runner_up))
    out = pd.DataFrame(rows, columns=["morphometric", "best_code", "best", "runner_up", "gap"])
    out["best_code"] = out["best_code"].astype("Int64")
    return out


__all__ = ["SweepScores", "code_sweep", "gaps", "sweep_images", "sweep_spearman"]
