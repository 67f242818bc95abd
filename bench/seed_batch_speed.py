"""`python -m bench.seed_batch_speed [--seeds S] [--device D] METHOD ...`: seconds per
training step of S seeds trained one after another (S lone `TrainStep`s) against the
same S seeds as one `SeedBatchStep`, at the smoke preset's batch and widths on MNIST.
A measurement for the README, not a benchmark with repeats: 3 timed steps after one
warm-up step (CUDA graph capture needs `bench speed`'s longer warm-up)."""

from __future__ import annotations

import argparse
import time

import torch

from bench import config as config_lib
from bench.data import BatchSampler, default_data_root, load_dataset, to_float
from bench.device import choose_device, seed_everything
from bench.registry import METHODS, load_builtins
from bench.seed_batch import SeedBatchStep
from bench.seed_rng import SeedRNG
from bench.train_step import TrainStep

STEPS = 3


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_step(step, batches, device) -> float:
    step(batches[0])
    _sync(device)
    start = time.perf_counter()
    for x in batches[1:]:
        step(x)
    _sync(device)
    return (time.perf_counter() - start) / (len(batches) - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="+")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    load_builtins()
    device = choose_device(args.device)
    data = load_dataset("mnist", default_data_root(None))
    train_x = data.train_x.to(device)
    for name in args.methods:
        cls = METHODS.get(name)
        train_cfg, method_cfg = config_lib.resolve(cls, "smoke", {})

        def build(seed):
            seed_everything(seed)
            return cls(method_cfg).to(device).train()

        xs = [[to_float(train_x[BatchSampler(len(train_x), train_cfg.batch_size, s, device).indices(i)])
               for i in range(STEPS + 1)] for s in range(args.seeds)]
        lone = [TrainStep(build(s), device) for s in range(args.seeds)]
        sequential = sum(seconds_per_step(step, x, device) for step, x in zip(lone, xs))
        methods, rngs = [], []
        for s in range(args.seeds):
            methods.append(build(s))
            rngs.append(SeedRNG(device))
        batched_step = SeedBatchStep(methods, rngs, device)
        batched = seconds_per_step(batched_step, [torch.stack(b) for b in zip(*xs)], device)
        print(f"{name}: {args.seeds} seeds one after another {sequential:.3f} s/step, as one batched "
              f"step {batched:.3f} s/step ({sequential / batched:.2f}x), {device}, "
              f"{torch.get_num_threads()} threads", flush=True)


if __name__ == "__main__":
    main()
