"""On a GPU the trainer replays its step as a CUDA graph; the replay must train what the
eager step trains, in fp32 (the default) and under bf16 autocast (`amp=True`, the speed
option). Both run with deterministic kernels (cuDNN's default convolution backward
accumulates with atomics, so two eager runs already differ in the last bits and a GAN
amplifies that). Skipped without CUDA (CI has none): run it on a GPU machine."""

import math
import os

os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS

import pytest  # noqa: E402
import torch  # noqa: E402

from bench import create_method, list_methods  # noqa: E402
from bench.registry import METHODS  # noqa: E402
from bench.rng import seed_everything  # noqa: E402
from bench.training.step import TrainStep  # noqa: E402
from tests.plugin import TEST_METHODS  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
# graphable settings: the look-ahead (unroll_rule=lookahead with k > 0) steps an optimizer
# inside a loss and trains eagerly (test_lookahead_trains_eagerly)
CHEAPER = {"unrolled_infogan": {"k": 2, "unroll_rule": "adam"}, "vae_infogan": {"unroll_rule": "adam"}}
GRADIENT_METHODS = [m for m in list_methods() if m not in TEST_METHODS and METHODS.get(m).trains_by_gradient]
LOOKAHEAD = ["unrolled_infogan", "vae_gan", "vae_infogan"]


@pytest.fixture(autouse=True)
def deterministic():
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield
    torch.use_deterministic_algorithms(False)


def train(name: str, graphs: bool, steps: int = 8, amp: bool = False, settings: dict | None = None):
    device = torch.device("cuda")
    seed_everything(0)
    method = create_method(name, **(CHEAPER.get(name, {}) if settings is None else settings)).to(device)
    method.bind_training_data((torch.rand(256, 1, 32, 32, device=device) * 255).to(torch.uint8))
    step = TrainStep(method, device, amp=amp, cuda_graphs=graphs)
    torch.backends.cudnn.benchmark = False  # deterministic algorithm choice
    g = torch.Generator(device=device).manual_seed(1)
    logs = []
    for _ in range(steps):
        step([torch.rand(32, 1, 32, 32, device=device, generator=g) * 2 - 1])
        logs.append(step.read_means()[0])
    return step, method, logs


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
