"""On a GPU the trainer replays its step as a CUDA graph; the replay must train what the
eager step trains. Skipped without CUDA (CI has none): run it on a GPU machine."""

import pytest
import torch

from bench.device import seed_everything
from bench.registry import create_method, list_methods
from bench.train_step import TrainStep
from methods.base import Method

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
CHEAPER = {"unrolled_infogan": {"k": 2}}


def train(name: str, graphs: bool, steps: int = 8):
    device = torch.device("cuda")
    seed_everything(0)
    method = create_method(name, **CHEAPER.get(name, {})).to(device)
    step = TrainStep(method, device, amp=False, cuda_graphs=graphs)
    g = torch.Generator(device=device).manual_seed(1)
    logs = []
    for _ in range(steps):
        step(torch.rand(32, 1, 32, 32, device=device, generator=g) * 2 - 1)
        logs.append(step.read_means())
    return step, method, logs


@pytest.mark.parametrize("name", [m for m in list_methods() if create_method(m).phases.__func__ is not Method.phases])
def test_graph_replay_trains_what_eager_trains(name):
    graphed, g_method, g_logs = train(name, graphs=True)
    assert graphed.mode == "cuda_graph", graphed.graph_error
    _, e_method, e_logs = train(name, graphs=False)
    for g_row, e_row in zip(g_logs, e_logs):
        for key in e_row:
            assert g_row[key] == pytest.approx(e_row[key], rel=1e-3, abs=1e-5), key
    a, b = g_method.state_dict(), e_method.state_dict()
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), rtol=1e-3, atol=1e-4), key
