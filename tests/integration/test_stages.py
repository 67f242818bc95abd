"""Methods trained in stages: phases that run in step ranges, a phase repeated on slices of
the batch, learning-rate and momentum schedules, the `refresh` hook, a pretraining prefix
shared between runs, and all of it seed-batched and resumed as a lone run would be."""

from dataclasses import dataclass

import pytest
import torch

from bench import config as config_lib
from bench.config import TrainConfig
from bench.methods.base import Method, Phase
from bench.registry import METHODS
from bench.rng import SeedRNG, seed_everything
from bench.training.step import TrainStep, scheduled_lr, scheduled_momentum
from bench.training.trainer import RunState, Trainer
from tests.helpers import final_weights, sweep
from tests.plugin import load_toy

DEC = {"pretrain_steps": 5, "update_interval": 3}  # 12 toy steps: pretraining, then 3 renewals


def build(name: str, seed: int, **overrides):
    cls = METHODS.get(name)
    _, cfg = config_lib.resolve(cls, "smoke", overrides)
    seed_everything(seed)
    return cls(cfg, image_shape=(1, 32, 32))


def train(name: str, seeds=(0,), steps=12, **overrides) -> list[RunState]:
    """Seeds of `name` through the trainer, alone or (several) as one batched step."""
    runs = []
    for seed in seeds:
        method = build(name, seed, **overrides)
        runs.append(RunState(method, seed, None, SeedRNG(torch.device("cpu")) if len(seeds) > 1 else None))
    config = TrainConfig(steps=steps, batch_size=16, log_every=2, checkpoint_every=0)
    return Trainer(config, torch.device("cpu"), progress=False).fit(runs, load_toy(None))


def test_a_phase_runs_only_in_its_steps_and_the_log_says_which_ran():
    (run,) = train("dec", **DEC)
    keys = [set(row) - {"step"} for row in run.losses]
    assert keys[0] == keys[1] == {"AE_loss"}  # steps 1-4
    assert keys[2] == {"AE_loss", "cluster_loss", "kl", "delta_label", "stopped_at"}  # steps 5-6: both
    assert all(k == {"cluster_loss", "kl", "delta_label", "stopped_at"} for k in keys[3:])


def test_refresh_runs_at_the_steps_the_method_asks_for(monkeypatch):
    seen = []
    original = METHODS.get("dec").refresh
    monkeypatch.setattr(METHODS.get("dec"), "refresh", lambda self, step, x: (seen.append(step), original(self, step, x)))
    train("dec", **DEC)
    assert seen == [5, 8, 11]


@pytest.mark.parametrize("name", ["dec", "vade"])
def test_batched_seeds_through_the_stages_equal_lone_runs(name, float64, one_thread):
    overrides = DEC if name == "dec" else {"pretrain_steps": 5}
    batched = train(name, seeds=(0, 1), **overrides)
    for s, seed in enumerate((0, 1)):
        (lone,) = train(name, seeds=(seed,), **overrides)
        for a, b in zip(lone.losses, batched[s].losses):
            assert a.keys() == b.keys()
            assert b == pytest.approx(a, rel=1e-9, abs=1e-12), seed
        mine = batched[s].method.state_dict()
        for key, value in lone.method.state_dict().items():
            torch.testing.assert_close(mine[key], value, rtol=1e-6, atol=1e-6, msg=f"seed {seed} {key}")


def test_a_run_too_short_for_its_stages_says_so(dirs):
    records, _ = sweep(["dec"], dirs, pretrain_steps=50)
    (record,) = records
    assert record["status"] == "failed"
    assert record["message"] == ("dec: phase cluster starts at step 50, after the run's 12 steps; "
                                 "give the run more steps or its stages fewer")


def test_the_stop_rule_keeps_the_weights_of_the_renewal_it_fired_at():
    (run,) = train("dec", **DEC, tol=0.9)  # fires at the second renewal (step 8) on these images
    method = run.method
    assert int(method.stopped_at) == 8 and run.losses[-1]["stopped_at"] == 8
    for a, b in zip(method.autoencoder.parameters(), method.stopped.parameters()):
        assert torch.equal(a, b)  # the trainer's after_training returned to them


def test_resuming_inside_the_clustering_stage_gives_the_uninterrupted_history(tmp_path, monkeypatch):
    reference, _ = sweep(["dec"], (tmp_path / "ref", tmp_path / "ref_runs"), checkpoint_every=1, **DEC)
    dirs = (tmp_path / "r", tmp_path / "runs")
    from bench.methods import dec

    calls = {"n": 0}
    original = dec.DEC.cluster_loss

    def interrupt_at_step_7(self, x):  # the 3rd clustering step: after the k-means renewal
        calls["n"] += 1
        if calls["n"] == 3:
            import os
            import signal
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, x)

    monkeypatch.setattr(dec.DEC, "cluster_loss", interrupt_at_step_7)
    (stopped,), _ = sweep(["dec"], dirs, checkpoint_every=1, **DEC)
    assert stopped["status"] == "interrupted" and stopped["steps"] == 8
    monkeypatch.setattr(dec.DEC, "cluster_loss", original)
    (resumed,), _ = sweep(["dec"], dirs, resume=True, checkpoint_every=1, **DEC)
    (ref,) = reference
    assert resumed["status"] == "completed" and resumed["resumed_from_step"] == 8
    assert resumed["losses"] == ref["losses"]
    a, b = final_weights(tmp_path / "ref_runs", ref["run_id"]), final_weights(dirs[1], resumed["run_id"])
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_log_window_that_spans_two_stages_resumes_to_the_same_means(tmp_path, monkeypatch):
    settings = {**DEC, "checkpoint_every": 1, "log_every": 4}
    reference, _ = sweep(["dec"], (tmp_path / "ref", tmp_path / "ref_runs"), **settings)
    from bench.methods import dec

    original, calls = dec.DEC.cluster_loss, {"n": 0}

    def interrupt(self, x):  # the 1st clustering step: the window of steps 5-8 holds both stages
        calls["n"] += 1
        if calls["n"] == 1:
            import os
            import signal
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, x)

    dirs = (tmp_path / "r", tmp_path / "runs")
    monkeypatch.setattr(dec.DEC, "cluster_loss", interrupt)
    (stopped,), _ = sweep(["dec"], dirs, **settings)
    assert stopped["steps"] == 6
    monkeypatch.setattr(dec.DEC, "cluster_loss", original)
    (resumed,), _ = sweep(["dec"], dirs, resume=True, **settings)
    (ref,) = reference
    assert [row.keys() for row in resumed["losses"]] == [row.keys() for row in ref["losses"]]
    for a, b in zip(resumed["losses"], ref["losses"]):
        assert a == pytest.approx(b, rel=1e-6)  # summed in another order across the two stages


@pytest.mark.parametrize("pretrain_steps", [4, 5])  # ends on a log step (2, 4, ...), and between two
def test_idec_continues_from_the_autoencoder_dec_pretrained(tmp_path, pretrain_steps):
    stages = {**DEC, "pretrain_steps": pretrain_steps}
    alone, _ = sweep(["idec"], (tmp_path / "alone", tmp_path / "alone_runs"), **stages)
    dirs = (tmp_path / "shared", tmp_path / "shared_runs")
    (dec_record,), _ = sweep(["dec"], dirs, **stages)
    (idec_record,), _ = sweep(["idec"], dirs, **stages)
    assert "reused_prefix" not in dec_record and "reused_prefix" not in alone[0]
    assert idec_record["reused_prefix"]["steps"] == pretrain_steps
    assert len(list((dirs[1] / "shared").glob("prefix-*-seed0.pt"))) == 1
    # the same run as IDEC pretraining its own autoencoder, loss history included
    assert idec_record["losses"] == alone[0]["losses"]
    a, b = final_weights(tmp_path / "alone_runs", alone[0]["run_id"]), final_weights(dirs[1], idec_record["run_id"])
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert idec_record["metrics"] == alone[0]["metrics"]
    # another seed, or other pretraining settings, pretrain their own
    (other,), _ = sweep(["idec"], dirs, **{**DEC, "pretrain_steps": 3})
    assert "reused_prefix" not in other and len(list((dirs[1] / "shared").glob("prefix-*"))) == 2


def test_schedules_are_functions_of_the_step():
    phase = Phase("p", [], lambda x: {}, 0.1, decay_every=10, lr_decay=0.5, lr_floor=0.02, steps=(100, None),
                  momentum=0.9, momentum_burnin=4)
    assert [scheduled_lr(phase, s) for s in (100, 109, 110, 125, 200)] == [0.1, 0.1, 0.05, 0.025, 0.02]
    assert [scheduled_momentum(phase, s) for s in (100, 101, 103, 104, 500)] == pytest.approx([0, 0.225, 0.675, 0.9, 0.9])
    assert scheduled_lr(Phase("q", [], lambda x: {}, 1.0, decay_at=5), 5) == 0.1


class Repeated(Method):
    """One parameter; its phase runs 3 times a step and records the slices it saw."""

    @dataclass
    class Config:
        beta1: float = 0.9
        beta2: float = 0.999

    def __init__(self, config, image_shape=(1, 32, 32)):
        super().__init__(config, image_shape)
        self.w = torch.nn.Parameter(torch.zeros(()))
        self.seen = []

    def loss(self, x):
        self.seen.append(x[:, 0, 0, 0].tolist())
        return {"loss": (self.w - x.mean()).square(), "size": torch.tensor(float(len(x)))}

    def phases(self):
        return [Phase("R", [self.w], self.loss, 0.1, optimizer="sgd", repeat=3)]


def test_a_repeated_phase_steps_once_per_slice_of_the_batch():
    method = Repeated(Repeated.Config())
    step = TrainStep(method, torch.device("cpu"))
    x = torch.arange(7.0)[:, None, None, None].expand(7, 1, 32, 32).contiguous()
    step.at_step(0)
    step([x])
    assert method.seen == [[0, 1, 2], [3, 4], [5, 6]]
    assert float(method.w.detach()) != 0 and step.read_means() == [{"R_loss": pytest.approx(step_losses(method)),
                                                            "size": pytest.approx(7 / 3)}]


def step_losses(method) -> float:
    """The mean of the three updates' losses, replayed: w after each SGD step of lr 0.1."""
    w, total = 0.0, 0.0
    for mean in (1.0, 3.5, 5.5):
        total += (w - mean) ** 2
        w -= 0.1 * 2 * (w - mean)
    return total / 3


def test_bench_speed_times_the_stage_running_at_a_step():
    from bench.speed.measure import measure
    from bench.speed.reference_loop import ReferenceStep

    data = load_toy(None)
    for loop in ("ours", "reference"):
        row = measure("dec", loop, data, torch.device("cpu"), "smoke", {**DEC, "batch_size": 16}, warmup=1, steps=2,
                      repeats=1, at_step=5)
        assert row["at_step"] == 5 and row["cpu_ms_per_step"] > 0
    assert [p.name for p in ReferenceStep(build("dec", 0, **DEC), torch.device("cpu"), at_step=5).phases] == ["cluster"]


def test_each_training_stage_is_announced_by_a_line_where_progress_shows(capsys):
    """Progress on, on a stderr that is no terminal (pytest's): each stage starts with a line."""
    method = build("dec", 0, **DEC)
    config = TrainConfig(steps=12, batch_size=16, log_every=2, checkpoint_every=0)
    Trainer(config, torch.device("cpu"), progress=True, desc="dec s0").fit([RunState(method, 0, None)], load_toy(None))
    stages = [line for line in capsys.readouterr().err.splitlines() if ": training " in line]
    pretraining = [p.name for p in method.training_phases() if p.active(0)]
    assert stages == [f"dec s0 · step 0: training {', '.join(pretraining)}", "dec s0 · step 5: training cluster"]
