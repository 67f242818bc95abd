"""Seconds per training step of one method on the current device: `python -m
bench.step_time --method unrolled_infogan --set k=5`. Random [-1, 1] batches (the time
does not depend on the pixels), one warm-up step, then the median of `--repeats` timed
steps, synchronising CUDA before reading the clock."""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from bench import config as config_lib
from bench.device import choose_device, seed_everything
from bench.errors import BenchError
from bench.registry import create_method
from bench.trainer import make_optimizer


def seconds_per_step(method_name: str, overrides: dict, batch_size: int, repeats: int, device) -> float:
    seed_everything(0)
    method = create_method(method_name, **overrides).to(device)
    phases = method.phases()
    optimizers = [make_optimizer(p, device) for p in phases]
    method.bind_optimizers({p.name: opt for p, opt in zip(phases, optimizers)})
    x = torch.rand(batch_size, *method.image_shape, device=device) * 2 - 1
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for phase, opt in zip(phases, optimizers):
            opt.zero_grad(set_to_none=True)
            phase.loss(x)["loss"].backward()
            opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", required=True)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    try:
        device = choose_device(args.device)
        overrides = config_lib.parse_overrides(args.set)
        seconds = seconds_per_step(args.method, overrides, args.batch_size, args.repeats, device)
    except BenchError as exc:
        raise SystemExit(f"step_time: error: {exc}") from None
    print(f"{args.method} {' '.join(args.set)}: {seconds:.3f} s/step at batch {args.batch_size} "
          f"on {device} ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
