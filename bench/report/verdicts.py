"""A verdict on each published claim: reproduced, not reproduced, or inconclusive and why.

The rule, written once (`RULE`, quoted by the docs and every table that carries
verdicts): only completed runs at the claim's protocol count (the `paper` preset, the
method's faithful defaults, nothing changed but what the paper itself varies). Fewer than
`MIN_SEEDS` of them: inconclusive. Otherwise the 95 % percentile-bootstrap interval of
our mean over seeds decides: *reproduced* when the claimed value lies inside it or the
whole interval is better than the claim, *not reproduced* when the whole interval is
worse. A claim that one setting beats another is judged on the interval of the
difference of their means: reproduced when it lies wholly on the claimed side of zero,
not reproduced when none of it does (zero alone is no advantage), else inconclusive.

Percentile rather than BCa: it is defined for every sample, ties included, where BCa's
acceleration term is unstable at three to five seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats

MIN_SEEDS = 3
CONFIDENCE = 0.95
RESAMPLES = 9999
SEED = 0  # the resampling is seeded: the same records give the same intervals

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
NO_RUN = "no run at the claim's protocol"

RULE = (f"Verdict: only completed runs at the claim's protocol count (the paper preset, the method's faithful "
        f"defaults). Fewer than {MIN_SEEDS} seeds: inconclusive. Else our 95 % bootstrap interval of the mean "
        "over seeds decides: reproduced when the claim lies inside it or the whole interval is better; not "
        "reproduced when the whole interval is worse. A claim that A beats B: reproduced when the interval of "
        "the difference of means lies wholly on the claimed side of 0, not reproduced when none of it does, "
        "else inconclusive.")


def bootstrap_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile-bootstrap interval of the mean of `values` (NaN, NaN for fewer than 2)."""
    data = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(data) < 2:
        return math.nan, math.nan
    if np.ptp(data) == 0:  # every resample has the same mean
        return float(data[0]), float(data[0])
    result = stats.bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=RESAMPLES,
                             method="percentile", rng=np.random.default_rng(SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def interval_of(values: Sequence[float], digits: int = 2) -> "Interval | None":
    """A table's interval cell for seeds' `values`: none for fewer than two seeds."""
    return Interval(*bootstrap_interval(values), digits) if len(values) > 1 else None


def difference_interval(a: Sequence[float], b: Sequence[float],
                        confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile-bootstrap interval of mean(a) - mean(b), each sample resampled on its own."""
    a, b = (np.asarray([v for v in x if math.isfinite(v)], dtype=float) for x in (a, b))
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return float(a[0] - b[0]), float(a[0] - b[0])
    result = stats.bootstrap((a, b), lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis),
                             confidence_level=confidence, n_resamples=RESAMPLES, method="percentile",
                             rng=np.random.default_rng(SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@dataclass(frozen=True, eq=False)
class Interval:
    """A table cell: our 95 % interval of the mean ("[3.10, 6.20]"); its CSV columns are low and high."""

    low: float
    high: float
    digits: int = 2

    def numbers(self) -> dict[str, float]:
        return {"low": self.low, "high": self.high}

    def __str__(self) -> str:
        if math.isnan(self.low):
            return "—"
        return f"[{self.low:.{self.digits}f}, {self.high:.{self.digits}f}]"


@dataclass(frozen=True, eq=False)
class Verdict:
    """A table cell that says what became of a claim; it also carries what `bench verdicts`
    lists: the claim in words, its source, our mean, interval and number of seeds."""

    status: str
    reason: str = ""
    claim: str = ""
    source: str = ""
    runs: str = ""  # which runs "ours" is ("paper, cuda"), "" when none
    ours: str = ""  # our number as the table shows it ("47.78 ± 0.74"), "" when none
    low: float = math.nan
    high: float = math.nan
    n: int = 0
    digits: int = 2

    def __str__(self) -> str:
        return f"{self.status} ({self.reason})" if self.reason else self.status

    def interval(self) -> Interval:
        return Interval(self.low, self.high, self.digits)

    def brief(self) -> str:
        """The verdict in a few words, for a terminal: "inconclusive (smoke preset)"."""
        reason = "no run" if self.reason == NO_RUN else self.reason.split(",")[0]
        return f"{self.status} ({reason})" if reason else self.status


def judge(values: Sequence[float], claimed: float, better: str, *, absent: str = NO_RUN,
          claim: str = "", source: str = "", runs: str = "", ours: str = "", digits: int = 2) -> Verdict:
    """The verdict on "the value is `claimed`" from the protocol seeds' `values`;
    `better` is "lower" or "higher"; `absent` says why there are no such seeds."""
    values = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    context = dict(claim=claim, source=source, runs=runs, ours=ours, n=len(values), digits=digits)
    if not values:
        return Verdict(INCONCLUSIVE, absent, **context)
    low, high = bootstrap_interval(values)
    context.update(low=low, high=high)
    if len(values) < MIN_SEEDS:
        return Verdict(INCONCLUSIVE, f"{len(values)} seed{'s' if len(values) > 1 else ''}; "
                                     f"{MIN_SEEDS} needed", **context)
    reached = low <= claimed if better == "lower" else high >= claimed  # inside, or wholly better
    return Verdict(REPRODUCED if reached else NOT_REPRODUCED, **context)


def judge_comparison(a: Sequence[float], b: Sequence[float], better: str, *, absent: str = NO_RUN,
                     claim: str = "", source: str = "", runs: str = "", ours: str = "", digits: int = 2) -> Verdict:
    """The verdict on "A is better than B" (`better`: "lower" or "higher" is better) from
    the protocol seeds of each."""
    a = [float(v) for v in a if v is not None and math.isfinite(float(v))]
    b = [float(v) for v in b if v is not None and math.isfinite(float(v))]
    context = dict(claim=claim, source=source, runs=runs, ours=ours, n=min(len(a), len(b)), digits=digits)
    if not a or not b:
        return Verdict(INCONCLUSIVE, absent, **context)
    low, high = difference_interval(a, b)
    context.update(low=low, high=high)
    if min(len(a), len(b)) < MIN_SEEDS:
        return Verdict(INCONCLUSIVE, f"{min(len(a), len(b))} seed(s) on one side; {MIN_SEEDS} needed", **context)
    claimed_side = high < 0 if better == "lower" else low > 0
    other_side = low >= 0 if better == "lower" else high <= 0
    if claimed_side:
        return Verdict(REPRODUCED, **context)
    if other_side:
        return Verdict(NOT_REPRODUCED, **context)
    return Verdict(INCONCLUSIVE, "the interval of the difference contains 0", **context)


def not_its_protocol(preset: str, values: Sequence[float] = (), **context) -> Verdict:
    """A row of runs beside a claim but not at its protocol (e.g. a smoke run): its seeds and
    interval are shown, but they decide nothing."""
    low, high = bootstrap_interval(values)
    return Verdict(INCONCLUSIVE, f"{preset} preset, not the claim's protocol", low=low, high=high, n=len(values),
                   **context)
