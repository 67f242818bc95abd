"""On a GPU the trainer replays its step as a CUDA graph; the replay must train what the
eager step trains, in fp32 (the default) and under bf16 autocast (`amp=True`, the speed
option), for one seed and for seeds batched as one vmapped step (`--batch-seeds`), and a
batched seed under a graph must train what its lone run trains. All run with deterministic
kernels (cuDNN's default convolution backward accumulates with atomics, so two eager runs
already differ in the last bits and a GAN amplifies that). Skipped without CUDA (CI has
none): run it on a GPU machine."""

import dataclasses
import math
import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS

import pytest  # noqa: E402
import torch  # noqa: E402

from bench import create_method, list_methods  # noqa: E402
from bench.config import TrainConfig  # noqa: E402
from bench.registry import METHODS  # noqa: E402
from bench.rng import SeedRNG, seed_everything  # noqa: E402
from bench.training import checkpoint  # noqa: E402
from bench.training.seed_batch import SeedBatchStep, batchable  # noqa: E402
from bench.training.step import TrainStep  # noqa: E402
from bench.training.trainer import RunState, Trainer  # noqa: E402
from tests.plugin import TEST_METHODS, load_toy  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
# graphable settings: the look-ahead (unroll_rule=lookahead with k > 0) steps an optimizer
# inside a loss and trains eagerly (test_lookahead_trains_eagerly)
CHEAPER = {"unrolled_infogan": {"k": 2, "unroll_rule": "adam"}, "vae_infogan": {"unroll_rule": "adam"}}
GRADIENT_METHODS = [m for m in list_methods() if m not in TEST_METHODS and METHODS.get(m).trains_by_gradient]
LOOKAHEAD = ["unrolled_infogan", "vae_gan", "vae_infogan"]
BATCHABLE = [m for m in GRADIENT_METHODS if batchable(METHODS.get(m))]
SEEDS = (0, 1)


@pytest.fixture(autouse=True)
def deterministic():
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield
    torch.use_deterministic_algorithms(False)


def build(name: str, seed: int, settings: dict | None = None):
    """`name` seeded and built as a lone run builds it, bound to random images (drawn from
    the global generator, as in every run of this file)."""
    device = torch.device("cuda")
    seed_everything(seed)
    method = create_method(name, **(CHEAPER.get(name, {}) if settings is None else settings)).to(device)
    method.bind_training_data((torch.rand(256, 1, 32, 32, device=device) * 255).to(torch.uint8))
    return method


def batches(steps: int):
    """The same real batches for every run and seed of this file."""
    g = torch.Generator(device="cuda").manual_seed(1)
    return [torch.rand(32, 1, 32, 32, device="cuda", generator=g, dtype=torch.get_default_dtype()) * 2 - 1
            for _ in range(steps)]


def train(name: str, graphs: bool, steps: int = 8, amp: bool = False, settings: dict | None = None, seed: int = 0):
    method = build(name, seed, settings)
    step = TrainStep(method, torch.device("cuda"), amp=amp, cuda_graphs=graphs)
    torch.backends.cudnn.benchmark = False  # deterministic algorithm choice
    logs = []
    for x in batches(steps):
        step([x])
        logs.append(step.read_means()[0])
    return step, method, logs


def train_seeds(name: str, graphs: bool, steps: int = 8, amp: bool = False):
    """SEEDS of `name` as one batched step (`--batch-seeds`), each seed built as its lone run
    and drawing from its own generator; (step, each seed's method, logs[step][seed])."""
    methods, rngs = [], []
    for seed in SEEDS:
        methods.append(build(name, seed))
        rngs.append(SeedRNG(torch.device("cuda")))  # the global state its lone run trains from
    step = SeedBatchStep(methods, rngs, torch.device("cuda"), amp=amp, cuda_graphs=graphs)
    torch.backends.cudnn.benchmark = False
    logs = []
    for x in batches(steps):
        step([x for _ in SEEDS])
        logs.append(step.read_means())
    step.write_back()
    return step, methods, logs


def assert_same_training(a_logs, b_logs, a_weights, b_weights, rel, abs_, w_rtol, w_atol):
    for a_row, b_row in zip(a_logs, b_logs):
        assert a_row.keys() == b_row.keys()
        for key in b_row:
            assert math.isfinite(b_row[key]), key
            assert a_row[key] == pytest.approx(b_row[key], rel=rel, abs=abs_), key
    for key in a_weights:
        assert torch.allclose(a_weights[key].double(), b_weights[key].double(), rtol=w_rtol, atol=w_atol), key


@pytest.mark.parametrize("name", GRADIENT_METHODS)
def test_graph_replay_trains_what_eager_trains(name):
    graphed, g_method, g_logs = train(name, graphs=True)
    assert graphed.mode == "cuda_graph", graphed.graph_error
    _, e_method, e_logs = train(name, graphs=False)
    for g_row, e_row in zip(g_logs, e_logs):
        for key in e_row:
            assert g_row[key] == pytest.approx(e_row[key], rel=1e-4, abs=1e-6), key
    a, b = g_method.state_dict(), e_method.state_dict()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), rtol=1e-4, atol=1e-5), key


@pytest.mark.parametrize("name", GRADIENT_METHODS)
def test_amp_runs_in_bf16_and_its_graph_replay_trains_what_its_eager_step_trains(name):
    graphed, g_method, g_logs = train(name, graphs=True, amp=True)
    assert graphed.amp and graphed.mode == "cuda_graph", graphed.graph_error
    _, e_method, e_logs = train(name, graphs=False, amp=True)
    for g_row, e_row in zip(g_logs, e_logs):
        for key in e_row:
            assert math.isfinite(e_row[key]), key
            assert g_row[key] == pytest.approx(e_row[key], rel=1e-3, abs=1e-4), key
    _, _, fp32_logs = train(name, graphs=False, steps=1)
    # bf16 really ran: the first step's losses move, by far less than a different model would
    assert e_logs[0] != fp32_logs[0]
    assert e_logs[0] == pytest.approx(fp32_logs[0], rel=0.1, abs=0.05)


@pytest.mark.parametrize("name", LOOKAHEAD)
def test_lookahead_trains_eagerly(name):
    step, method, logs = train(name, graphs=True, steps=4, settings={"k": 2, "unroll_rule": "lookahead"})
    assert not method.cuda_graphs and step.mode == "eager"
    assert all(math.isfinite(v) for row in logs for v in row.values())


def test_two_eager_runs_agree_under_deterministic_kernels():
    """The control for the test above: without it, a mismatch could be the kernels'."""
    _, a, a_logs = train("infogan", graphs=False)
    _, b, b_logs = train("infogan", graphs=False)
    assert a_logs == b_logs


@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "amp"])
@pytest.mark.parametrize("name", BATCHABLE)
def test_batched_seeds_graph_replay_trains_what_their_eager_batched_step_trains(name, amp):
    graphed, g_methods, g_logs = train_seeds(name, graphs=True, amp=amp)
    assert graphed.mode == "cuda_graph", graphed.graph_error
    assert graphed.amp == amp
    _, e_methods, e_logs = train_seeds(name, graphs=False, amp=amp)
    rel, abs_ = (1e-3, 1e-4) if amp else (1e-4, 1e-6)
    for s in range(len(SEEDS)):
        assert_same_training([row[s] for row in g_logs], [row[s] for row in e_logs], g_methods[s].state_dict(),
                             e_methods[s].state_dict(), rel, abs_, 1e-3 if amp else 1e-4, 1e-4 if amp else 1e-5)
    assert g_logs[-1][0] != g_logs[-1][1]  # the seeds really differ


@pytest.mark.parametrize("name", BATCHABLE)
def test_a_batched_seed_under_a_graph_trains_what_its_lone_run_trains(name, float64):
    """In float64, as tests/integration/test_seed_batch.py on the CPU: in float32 Adam turns the
    rounding noise of batched kernels in zero gradients into steps of ~lr."""
    graphed, methods, logs = train_seeds(name, graphs=True, steps=4)
    assert graphed.mode == "cuda_graph", graphed.graph_error
    for s, seed in enumerate(SEEDS):
        _, lone, lone_logs = train(name, graphs=True, steps=4, seed=seed)
        assert_same_training([row[s] for row in logs], lone_logs, methods[s].state_dict(), lone.state_dict(),
                             1e-7, 1e-10, 1e-6, 1e-6)


@pytest.mark.parametrize("seeds", [1, 2], ids=["alone", "batched"])
def test_the_trainer_trains_under_amp_and_graphs_checkpoints_in_fp32_and_resumes(tmp_path, seeds):
    """amp=True through the trainer (the path `--set amp=true` takes), alone and with
    `--batch-seeds`: replayed as a graph, finite losses, fp32 checkpoints that resume."""
    device = torch.device("cuda")
    data = load_toy(None).to(device)
    config = TrainConfig(steps=8, batch_size=16, log_every=2, checkpoint_every=4, amp=True)

    def runs() -> list[RunState]:
        out = []
        for seed in range(seeds):
            seed_everything(seed)
            method = create_method("infogan", image_shape=data.image_shape)
            out.append(RunState(method, seed, tmp_path / f"s{seed}" / checkpoint.NAME,
                                SeedRNG(device) if seeds > 1 else None))
        return out

    first = Trainer(dataclasses.replace(config, steps=4), device, progress=False).fit(runs(), data)
    for run in first:
        assert run.status == "completed" and run.step_mode == "cuda_graph", run.graph_error
        assert all(math.isfinite(v) for row in run.losses for k, v in row.items() if k != "step")
        state = checkpoint.load(run.checkpoint)
        assert state["step"] == 4
        assert all(t.dtype == torch.float32 for t in state["method"].values() if t.is_floating_point())
    resumed = Trainer(config, device, progress=False).fit(runs(), data, resume=True)
    for run in resumed:
        assert run.status == "completed" and run.resumed_from == 4 and run.steps == 8
        assert run.step_mode == "cuda_graph", run.graph_error
