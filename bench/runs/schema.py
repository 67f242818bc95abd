"""The run record's schema: one typed model (pydantic v2), used to write every record and to
read every record back, nested fields included.

Why a schema: a record is read by `bench report`, `bench table` and `bench plot`, possibly
from a results folder someone else wrote, and its strings become file names and its
numbers become tables. So every field has a type, bounds where they mean something (a
seed in [0, 2^32 - 1], an accuracy in [0, 1]), a pattern where it names a file (method,
dataset, preset, run id: `bench.names`), and every metric is a finite number. A record
that fails is one line naming its file and the field; a run whose record would fail is
caught where it is built (`bench.runs.runner.new_record`).

The long form (readings, departures, history): docs/notes.md, `bench.runs.schema`."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
import sys
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import annotated_types as at
import pydantic
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from bench.config import INT64_MAX, SEED_MAX, TrainConfig
from bench.names import MAX_LENGTH, NAME, RUN_ID

STATUSES = ("completed", "diverged", "failed", "interrupted")
TEST_SCORES = ("accuracy", "accuracy_many_to_one", "nmi", "ari")  # what every completed run has, the tables' scores

# -- value kinds ---------------------------------------------------------------------------------
Name = Annotated[StrictStr, Field(pattern=f"^{NAME.pattern}$", max_length=MAX_LENGTH)]
RunId = Annotated[StrictStr, Field(pattern=f"^{RUN_ID.pattern}$")]
Count = Annotated[StrictInt, at.Interval(ge=0, le=INT64_MAX)]
Positive = Annotated[StrictInt, at.Interval(ge=1, le=INT64_MAX)]
Seed = Annotated[StrictInt, at.Interval(ge=0, le=SEED_MAX)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Correlation = Annotated[float, Field(ge=-1, le=1, allow_inf_nan=False)]
Scalar = StrictBool | StrictInt | Finite | StrictStr | None
Setting = Scalar | list[Scalar]  # a trainer or method setting as JSON holds it (a tuple is a list)


class Strict(BaseModel):
    """JSON types exactly (no '3' for 3, no true for 1), no unknown field."""

    model_config = ConfigDict(strict=True, extra="forbid")


# -- settings ------------------------------------------------------------------------------------
class _SettingsBase(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")
    __pydantic_extra__: dict[str, Setting]  # a setting of an earlier version, kept as it ran


@functools.cache
def _train_settings() -> type[BaseModel]:
    """`TrainConfig`'s fields with their types and bounds, each optional (a record from before
    a setting existed lacks it), plus settings since removed, as plain values."""
    hints = typing.get_type_hints(TrainConfig, include_extras=True)
    fields = {f.name: (Optional[hints[f.name]], None) for f in dataclasses.fields(TrainConfig)}
    return pydantic.create_model("TrainSettings", __base__=_SettingsBase, **fields)


TrainSettings = _train_settings()


class Config(Strict):
    """The settings a run used: the trainer's, and its method's `Config` (checked against the
    method when it is built from them, e.g. by `bench plot`)."""

    train: TrainSettings | None = None  # type: ignore[valid-type]
    method: dict[Name, Setting] | None = None


class ConfigMigrated(Strict):
    """Fields added to an old record's config after it ran, with the values it ran with."""

    fields: list[Name]
    why: StrictStr


class DatasetSource(Strict):
    """The file of an `npz:PATH` dataset, found again by `bench plot`."""

    path: StrictStr
    sha256: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]


# -- training history and clustering scores ------------------------------------------------------
class Scores(BaseModel):
    """A clustering's scores on one split (`bench.evaluation.harness.evaluate_clustering`);
    any further score is a finite number, or null where it does not apply."""

    model_config = ConfigDict(strict=True, extra="allow")
    __pydantic_extra__: dict[Name, Finite | None]

    accuracy: Fraction | None = None
    accuracy_many_to_one: Fraction | None = None
    nmi: Fraction | None = None
    ari: Correlation | None = None
    clusters_used: Count | None = None
    n: Count | None = None
    matching: list[Annotated[list[Count], at.Len(2, 2)]] | None = None  # [cluster, class] pairs
    accuracy_most_confident: Fraction | None = None


class Validation(Strict):
    """The held-out images that labelled the clusters (the AAE paper's protocol): how many, and
    the label each cluster took."""

    n: Count
    cluster_labels: list[Count]


class Metrics(Strict):
    train: Scores | None = None
    test: Scores
    validation: Validation | None = None


Point = Annotated[list[Finite], at.Len(2, 2)]


class ModeMeasures(Strict):
    """A generator of 2-D points scored as VEEGAN does (`bench.datasets.mixtures.mode_measures`),
    with the first of its samples, to draw."""

    modes_covered: Count
    modes: Positive
    high_quality: Fraction
    kl_uniform: NonNegative | None  # None: no high-quality sample
    n: Count
    samples: list[Point]


class Evaluation(Strict):
    """A periodic evaluation during training (and, on a 2-D mixture, the generator's samples)."""

    step: Count
    train: Scores | None = None
    test: Scores
    validation: Validation | None = None
    modes: ModeMeasures | None = None


class Losses(BaseModel):
    """Mean training losses over one log window ending at `step`; null where a diverged run's
    loss was not finite."""

    model_config = ConfigDict(strict=True, extra="allow")
    __pydantic_extra__: dict[Name, float | None]

    step: Count


# -- measures: one model each, and one field of `Measures` ---------------------------------------
class Disentanglement(Strict):
    """Metrics against known factors (`bench.evaluation.run_measures.disentanglement`)."""

    backend: Name
    metrics: dict[Name, Finite]
    settings: dict[Name, dict[Name, Count]]
    seconds: NonNegative


class MorphometricScore(Strict):
    code: Count
    morphometric: Name
    spearman: Correlation | None  # None: the morphometric never changed along a sweep
    abs_spearman: Fraction | None
    n_sweeps: Count


class MorphometricGap(Strict):
    morphometric: Name
    best_code: Count | None
    best: Fraction | None
    runner_up: Fraction | None
    gap: Finite | None


class Morphometrics(Strict):
    """Code sweeps scored by Morpho-MNIST measures (`bench.evaluation.code_sweep`)."""

    scores: list[MorphometricScore]
    gaps: list[MorphometricGap]


class Tsne(Strict):
    """A 2-D t-SNE layout of test images' codes, with their labels."""

    x: list[Finite]
    y: list[Finite]
    label: list[Count]
    n: Count

    @pydantic.model_validator(mode="after")
    def _same_lengths(self):
        if not len(self.x) == len(self.y) == len(self.label) == self.n:
            raise ValueError(f"x, y and label must each hold n = {self.n} values "
                             f"(they hold {len(self.x)}, {len(self.y)}, {len(self.label)})")
        return self


class Reconstruction(Strict):
    """Test reconstruction MSE beside two baselines that reconstruct nothing."""

    mse: NonNegative
    mean_image_mse: NonNegative
    blank_mse: NonNegative


class LatentKL(Strict):
    """Average KL(q(z_j|x) || N(0, 1)) per latent j and per group of latents."""

    per_latent: list[Finite]
    groups: dict[Name, Annotated[list[Count], at.MinLen(1)]]
    group_mean: dict[Name, Finite]
    n: Count

    @pydantic.model_validator(mode="after")
    def _groups_index_latents(self):
        if set(self.groups) != set(self.group_mean):
            raise ValueError("groups and group_mean must name the same groups")
        if any(j >= len(self.per_latent) for idx in self.groups.values() for j in idx):
            raise ValueError(f"a group names a latent beyond the {len(self.per_latent)} of per_latent")
        return self


class ClassMeasures(Strict):
    """Samples scored by the dataset's classifier (`bench.evaluation.generation`)."""

    classes_covered: Count
    kl_uniform: NonNegative
    classifier_score: NonNegative
    frechet_distance: Finite  # the matrix square root may leave a hair below 0 for identical sets
    n: Count
    category_purity: Fraction | None = None


class ClassifierInfo(Strict):
    sha256: Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{64}$")]
    test_accuracy: Fraction


class ClassifierGeneration(ClassMeasures):
    """What an image generator draws, beside real training images scored the same way."""

    kind: Literal["classifier"]
    reference: ClassMeasures
    classifier: ClassifierInfo


class ModesGeneration(ModeMeasures):
    """What a generator of 2-D points draws at the end of training."""

    kind: Literal["modes"]


class Generation(pydantic.RootModel):
    """What a generator draws (`record["generation"]`), by kind."""

    model_config = ConfigDict(strict=True)
    root: Annotated[ClassifierGeneration | ModesGeneration, Field(discriminator="kind")]


class Measures(Strict):
    """What a completed run measures beyond clustering, where it applies (None: not measured)."""

    disentanglement: Disentanglement | None = None
    morphometrics: Morphometrics | None = None
    tsne: Tsne | None = None
    reconstruction: Reconstruction | None = None
    latent_kl: LatentKL | None = None
    generation: Generation | None = None


MEASURES: dict[str, type[BaseModel]] = {
    name: next(a for a in typing.get_args(field.annotation) if a is not type(None))
    for name, field in Measures.model_fields.items()
}


class ReusedPrefix(Strict):
    """A run whose first `steps` were another run's kept pretraining (`Method.shared_prefix`)."""

    steps: Count
    file: StrictStr
    seconds: NonNegative


class Udr(Strict):
    """UDR against the other seeds of its group (`bench udr`, Duan et al. 2020)."""

    score: Finite
    correlation: Name
    points: Count
    seed: Count
    compared_with: list[RunId]
    pair_scores: list[Finite]
    informative_latents: Count
    seconds: NonNegative


# -- the record ----------------------------------------------------------------------------------
class Record(Measures):
    """One run: what ran (identity, settings, code and hardware), how it went (status,
    history), and what it scored."""

    # what ran
    run_id: RunId
    method: Name
    dataset: Name
    seed: Seed
    preset: Name
    overrides: dict[Name, Setting]  # the `--set` settings, as typed
    config: Config | None = None
    config_migrated: ConfigMigrated | None = None
    dataset_source: DatasetSource | None = None
    device: StrictStr | None = None
    torch_version: StrictStr | None = None
    versions: dict[StrictStr, StrictStr] | None = None
    cpu: StrictStr | None = None
    gpu: StrictStr | None = None
    git_commit: StrictStr | None = None
    started_at: StrictStr | None = None
    # how it went
    status: Literal[STATUSES]  # type: ignore[valid-type]
    message: StrictStr | None = None
    traceback: StrictStr | None = None
    steps: Count | None = None
    resumed_from_step: Count | None = None
    step_mode: Literal["eager", "cuda_graph"] | None = None
    graph_error: StrictStr | None = None
    seed_batch: Count | None = None
    losses: list[Losses] | None = None
    losses_last: list[Losses] | None = None  # each loss at the last step of each log window
    evaluations: list[Evaluation] | None = None
    reused_prefix: ReusedPrefix | None = None
    n_clusters: Positive | None = None
    n_classes: Positive | None = None
    image_shape: Annotated[list[Positive], at.Len(1, 4)] | None = None
    wall_time_s: NonNegative | None = None
    finished_at: StrictStr | None = None
    checkpoint: StrictStr | None = None
    # what it scored
    metrics: Metrics | None = None
    udr: Udr | None = None
    measure_errors: dict[Name, StrictStr] | None = None

    @pydantic.model_validator(mode="after")
    def _completed_runs_are_scored(self):
        if self.status == "completed":
            if self.metrics is None:
                raise ValueError("a completed run without metrics")
            missing = [s for s in TEST_SCORES if getattr(self.metrics.test, s) is None]
            if missing:
                raise ValueError(f"a completed run without metrics.test.{missing[0]}")
        return self


# -- checking, reading, writing ------------------------------------------------------------------
class Invalid(ValueError):
    """A record that does not fit the schema; its message is one line: 'field: why'."""


def where(loc: tuple) -> str:
    """('metrics', 'test', 'nmi') -> 'metrics.test.nmi'; list positions in brackets."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _one_line(exc: pydantic.ValidationError, content: Any) -> str:
    """The first error as 'field: why (got value)'."""
    errors = exc.errors(include_url=False)
    error = errors[0]
    loc, value = _located(error["loc"], content)
    message = error["msg"] or error["type"]
    message = (message[0].lower() + message[1:]).removeprefix("value error, ")
    if sum(_located(e["loc"], content)[0] == loc for e in errors) > 1:  # every branch of a union failed
        message = "not one of the kinds of value allowed here"
    message = re.sub(r" or instance of \w+", "", message)
    if error["type"] == "missing":
        return f"no {where(loc)!r}"
    if error["loc"][-1:] == ("[key]",):  # a key of a mapping, not its value
        key = error["loc"][-2]
        return f"{where(loc[:-1]) or 'the record'}: key {json.dumps(key, default=str)[:60]}: {message}"
    got = "" if isinstance(value, (dict, list)) else f" (got {json.dumps(value, default=str)[:60]})"
    return f"{where(loc) or 'the record'}: {message}{got}"


def _located(loc: tuple, content: Any) -> tuple[tuple, Any]:
    """The error's location in the record, found by walking the record, without the names
    pydantic gives the branches of a union it tried ('int', 'list[...]'); and the value there."""
    kept, node = [], content
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part.isidentifier() and part not in _BRANCHES:
            node = None  # a field the record lacks
        else:
            continue  # a union's branch
        kept.append(part)
    return tuple(kept), node


_BRANCHES = {"int", "float", "str", "bool", "none", "constrained-int", "constrained-float", "constrained-str"}


def check(content: Any) -> dict:
    """`content` if it is a valid record (a dict), else `Invalid` with one line."""
    if not isinstance(content, dict):
        kind = "null" if content is None else {list: "list", str: "string", bool: "boolean"}.get(
            type(content), "number")
        raise Invalid(f"a JSON {kind}, not an object")
    try:
        Record.model_validate(content)
    except pydantic.ValidationError as exc:
        raise Invalid(_one_line(exc, content)) from None
    return content


def check_measure(name: str, value: Any) -> None:
    """Raise `Invalid` (one line) unless `value` fits the model of measure `name`."""
    try:
        MEASURES[name].model_validate(value)
    except pydantic.ValidationError as exc:
        raise Invalid(_one_line(exc, value)) from None


def to_json(content: dict) -> str:
    """A checked record as the JSON text of its file: sorted keys, indented, standard JSON
    (a non-finite value, which only a diverged run's losses may hold, is written as null)."""
    return json.dumps(_finite_or_null(check(content)), indent=2, sort_keys=True, allow_nan=False) + "\n"


def _finite_or_null(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value


def nan_as_null(value):
    """`value` (JSON-like) with every NaN, an undefined number (a correlation along a sweep
    that never changed), as None; infinities stay, and are refused where a number must be finite."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: nan_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nan_as_null(v) for v in value]
    return value


def json_schema() -> str:
    """The record's JSON Schema, as `docs/record.schema.json` holds it."""
    schema = Record.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = ("A bench run record (results/runs/<run_id>.json), as bench.runs.schema.Record "
                             "checks it when it writes and reads one.")
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # python -m bench.runs.schema docs/record.schema.json
    target = sys.argv[1] if len(sys.argv) > 1 else None
    if target:
        Path(target).write_text(json_schema())
    else:
        sys.stdout.write(json_schema())
