"""Seeds trained as one vmapped step (`bench.training.seed_batch`) give each seed its lone run:
the same losses and weights to float tolerance, for every batchable method.

The comparison runs in float64. The batched kernels sum in a different order, which
leaves rounding noise in gradients that are zero in exact arithmetic (a conv bias just
before BatchNorm); Adam divides by the gradient's own size, so in float32 that noise
becomes a full learning-rate step (~1e-4). In float64 it stays below 1e-8, while a real
difference (another batch, other noise, another seed's weights) moves weights by ~lr."""

import shutil
import subprocess
import sys

import pytest
import torch

from bench import config as config_lib
from bench import list_methods
from bench.cli import EXIT_ERROR
from bench.datasets.base import BatchSampler, to_float
from bench.registry import METHODS
from bench.rng import SeedRNG, seed_everything
from bench.training import checkpoint
from bench.training.seed_batch import SeedBatchStep, batchable
from bench.training.step import TrainStep
from tests import helpers
from tests.helpers import final_weights
from tests.plugin import TEST_METHODS, load_toy

BATCHABLE = [m for m in list_methods() if m not in TEST_METHODS and batchable(METHODS.get(m))]
SEEDS, STEPS, BATCH = (0, 1), 3, 8


def build(name: str, seed: int):
    cls = METHODS.get(name)
    _, method_cfg = config_lib.resolve(cls, "smoke", {})
    seed_everything(seed)
    return cls(method_cfg, image_shape=(1, 32, 32)).train()


def batches(seed: int, train_x):
    sampler = BatchSampler(len(train_x), BATCH, seed)
    return [to_float(train_x[sampler.indices(i)]).to(torch.get_default_dtype()) for i in range(STEPS)]


def lone(name: str, seed: int, train_x):
    method = build(name, seed)
    step = TrainStep(method, torch.device("cpu"))
    logs = []
    for x in batches(seed, train_x):
        step([x])
        logs.append(step.read_means()[0])
    return logs, method.state_dict()


def batched(name: str, train_x, after_step=lambda step, i: None):
    """SEEDS of `name` trained STEPS steps as one SeedBatchStep; (step, methods, logs)."""
    methods, rngs = [], []
    for seed in SEEDS:
        methods.append(build(name, seed))
        rngs.append(SeedRNG(torch.device("cpu")))
    step = SeedBatchStep(methods, rngs, torch.device("cpu"))
    per_seed = [batches(seed, train_x) for seed in SEEDS]
    logs = []
    for i in range(STEPS):
        step([b[i] for b in per_seed])
        logs.append(step.read_means())
        after_step(step, i)
    return step, methods, logs


@pytest.fixture(scope="module")
def train_x():
    return load_toy(None).train_x


def test_batchable_methods_are_the_gradient_methods_without_optimizer_state():
    assert "unrolled_infogan" not in BATCHABLE  # its loss unrolls D's Adam
    assert "kmeans_pixels" not in BATCHABLE  # closed-form
    assert {"infogan", "aae", "infoae", "latentgan_ae", "ae_kmeans", "learned_prior_aae"} <= set(BATCHABLE)


@pytest.mark.parametrize("name", BATCHABLE)
def test_batched_seeds_equal_lone_runs(name, train_x, float64, one_thread):
    step, methods, logs = batched(name, train_x)
    step.write_back()
    for s, seed in enumerate(SEEDS):
        lone_logs, lone_weights = lone(name, seed, train_x)
        for batched_row, lone_row in zip(logs, lone_logs):
            assert batched_row[s].keys() == lone_row.keys()
            for key, value in lone_row.items():
                assert batched_row[s][key] == pytest.approx(value, rel=1e-9, abs=1e-12), (seed, key)
        weights = methods[s].state_dict()
        for key, value in lone_weights.items():
            torch.testing.assert_close(weights[key], value, rtol=1e-6, atol=1e-6, msg=f"seed {seed} {key}")
    assert logs[-1][0] != logs[-1][1]  # the seeds really differ


def test_a_seed_gone_to_nan_leaves_the_others_untouched(train_x, one_thread):
    @torch.no_grad()
    def poison_seed_1(step, i):
        if i == 0:
            for stacked in step.params.values():
                stacked[1].fill_(float("nan"))

    clean, poisoned = batched("infogan", train_x)[2], batched("infogan", train_x, poison_seed_1)[2]
    assert [row[0] for row in poisoned] == [row[0] for row in clean]
    assert all(v != v for v in poisoned[-1][1].values())  # seed 1 is NaN throughout


def test_a_loss_that_draws_outside_bench_rng_fails_loudly(train_x):
    class StrayDraw(METHODS.get("infogan")):
        def d_loss(self, x):
            return {k: v + 0 * torch.rand(()) for k, v in super().d_loss(x).items()}

    _, cfg = config_lib.resolve(METHODS.get("infogan"), "smoke", {})
    methods = [StrayDraw(cfg).train() for _ in SEEDS]
    step = SeedBatchStep(methods, [SeedRNG(torch.device("cpu")) for _ in SEEDS], torch.device("cpu"))
    with pytest.raises(RuntimeError, match="global generator"):
        step([batches(seed, train_x)[0] for seed in SEEDS])


# -- through the runner: records, divergence, interrupts, resume --------------------------------
SHORT = {"steps": 8, "checkpoint_every": 4, "tsne_points": 0}


def sweep(methods, dirs, seeds=(0, 1), resume=False, batch=True, **overrides):
    return helpers.sweep(methods, dirs, seeds, resume, batch_seeds=batch, **{**SHORT, **overrides})


def test_batched_seeds_are_recorded_like_their_lone_runs(tmp_path):
    lone, _ = sweep(["infogan"], (tmp_path / "lone", tmp_path / "lone_runs"), seeds=(0,), batch=False, log_every=1)
    batched, lines = sweep(["infogan"], (tmp_path / "b", tmp_path / "b_runs"), log_every=1)
    assert [line.split(":")[0] for line in lines] == ["infogan seed 0", "infogan seed 1"]
    for a, b in zip(lone, batched):
        assert a["status"] == b["status"] == "completed"
        assert b["seed_batch"] == 2 and "seed_batch" not in a
        assert [row["step"] for row in a["losses"]] == [row["step"] for row in b["losses"]]
        # float32: Adam's first steps move every weight by about lr whatever its gradient's
        # size, so rounding differences grow to percents within a few steps (the float64
        # test above shows the computation is the same). Step 1 (its G losses follow one D
        # update) still agrees to 1e-3, where another seed's batches or noise differ by percents.
        assert b["losses"][0] == pytest.approx(a["losses"][0], rel=1e-3)
        assert b["losses"][0] != pytest.approx(batched[1 - a["seed"]]["losses"][0], rel=1e-2)
        assert set(b["metrics"]["test"]) == set(a["metrics"]["test"])


def test_an_interrupted_batch_resumes_batched_or_alone(tmp_path, monkeypatch):
    reference, _ = sweep(["toy_infogan"], (tmp_path / "ref", tmp_path / "ref_runs"))
    dirs = (tmp_path / "r", tmp_path / "runs")
    monkeypatch.setenv("BENCH_TEST_INTERRUPT_AT", "4")
    records, lines = sweep(["toy_infogan"], dirs)
    assert [(r["status"], r["steps"]) for r in records] == [("interrupted", 4), ("interrupted", 4)]
    assert "rerun the same command with --resume" in lines[-1]
    monkeypatch.delenv("BENCH_TEST_INTERRUPT_AT")
    shutil.copytree(tmp_path / "runs", tmp_path / "runs_alone")

    resumed, _ = sweep(["toy_infogan"], dirs, resume=True)
    for ref, rec in zip(reference, resumed):
        assert rec["status"] == "completed" and rec["resumed_from_step"] == 4
        assert rec["losses"] == ref["losses"]  # the same batched computation, bit for bit
        a, b = final_weights(tmp_path / "ref_runs", ref["run_id"]), final_weights(dirs[1], rec["run_id"])
        assert all(torch.equal(a[k], b[k]) for k in a)

    # a batched seed's checkpoint is a lone run's: each seed can go on alone
    alone, _ = sweep(["toy_infogan"], (tmp_path / "r2", tmp_path / "runs_alone"), resume=True, batch=False)
    for ref, rec in zip(reference, alone):
        assert rec["status"] == "completed" and "seed_batch" not in rec
        assert rec["losses"][:2] == ref["losses"][:2]  # the history before the stop is kept
        assert rec["losses"][2] == pytest.approx(ref["losses"][2], rel=2e-2)


def test_a_stop_while_evaluating_a_batch_keeps_the_seeds_already_scored(tmp_path, monkeypatch):
    from bench.runs import runner

    reference, _ = sweep(["toy_infogan"], (tmp_path / "ref", tmp_path / "ref_runs"))
    dirs, scored, calls = (tmp_path / "r", tmp_path / "runs"), runner.evaluate_clustering, []

    def stop_at_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return scored(*args, **kwargs)

    monkeypatch.setattr(runner, "evaluate_clustering", stop_at_the_second)
    records, _ = sweep(["toy_infogan"], dirs)
    assert [r["status"] for r in records] == ["completed", "interrupted"]
    assert records[0]["metrics"] == reference[0]["metrics"] and "metrics" not in records[1]
    monkeypatch.setattr(runner, "evaluate_clustering", scored)
    resumed, lines = sweep(["toy_infogan"], dirs, resume=True)
    assert "already recorded" in lines[0]
    assert [r["seed"] for r in resumed] == [1] and resumed[0]["metrics"] == reference[1]["metrics"]


def test_a_diverged_batch_records_each_seed_and_keeps_its_last_good_checkpoint(dirs):
    records, _ = sweep(["nan_infogan"], dirs)
    assert [r["status"] for r in records] == ["diverged", "diverged"]
    assert all("non-finite D_loss" in r["message"] and r["steps"] == 8 for r in records)
    for r in records:
        assert checkpoint.load(dirs[1] / r["run_id"] / "checkpoint.pt")["step"] == 4


def test_batch_seeds_and_jobs_together_are_a_one_line_error():
    proc = subprocess.run([sys.executable, "-m", "bench.cli", "run", "--methods", "infogan", "--seeds", "2",
                           "--batch-seeds", "--jobs", "2"], capture_output=True, text=True)
    assert proc.returncode == EXIT_ERROR
    assert proc.stderr.strip().splitlines() == ["bench: error: --batch-seeds and --jobs N are two ways to run seeds "
                                                "together; pick one"]
