"""Networks built from the compact layer specs that the papers' architecture tables use.

A spec is a list of layer strings, each `op [width] [k<kernel>] [s<stride>] [p<pad>]
[bn] [activation]`, e.g.

    ["conv 64 k4 s2 lrelu", "conv 128 k4 s2 bn lrelu", "flatten", "fc 1024 bn lrelu"]

ops: conv, deconv (transposed conv), up (bilinear upsampling by s), fc, flatten,
reshape C H W, scale F (multiply by F); activations: relu, lrelu (slope 0.2, or lrelu0.1), tanh, sigmoid, which
may also stand alone on a line (the papers' "r-u4-..." starts with a bare relu).
`build` infers every layer's input size from the input shape, so one architecture
table is one spec, not new code.
"""

from __future__ import annotations

import contextlib
import math

from torch import nn

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "tanh": lambda: nn.Tanh(),
    "sigmoid": lambda: nn.Sigmoid(),
}


class Scale(nn.Module):
    """Multiplies its input by a constant (Metz et al.'s 2-D discriminator scales its input by 1/4)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


def _activation(token: str) -> nn.Module | None:
    if token in ACTIVATIONS:
        return ACTIVATIONS[token]()
    if token.startswith("lrelu"):
        slope = float(token[5:]) if len(token) > 5 else 0.2
        return nn.LeakyReLU(slope)
    return None


def _parse(line: str) -> tuple[str, list[int], dict[str, int], list[str]]:
    op, *tokens = line.split()
    numbers, keyed, flags = [], {}, []
    for t in tokens:
        if t.isdigit():
            numbers.append(int(t))
        elif t[0] in "ksp" and t[1:].isdigit():
            keyed[t[0]] = int(t[1:])
        else:
            flags.append(t)
    return op, numbers, keyed, flags


def build(spec: list[str], in_shape: tuple[int, ...]) -> nn.Sequential:
    """Build `spec` for inputs of shape `in_shape` (C, H, W) or (F,), batch dim excluded."""
    shape = tuple(in_shape)
    layers: list[nn.Module] = []
    for line in spec:
        op, numbers, keyed, flags = _parse(line)
        k, s = keyed.get("k", 3), keyed.get("s", 1)
        if op == "conv":
            c, h, w = shape
            p = keyed.get("p", max((k - s + 1) // 2, 0))
            layers.append(nn.Conv2d(c, numbers[0], k, s, p))
            shape = (numbers[0], (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)
        elif op == "deconv":
            c, h, w = shape
            p = keyed.get("p", max((k - s + 1) // 2, 0))
            layers.append(nn.ConvTranspose2d(c, numbers[0], k, s, p))
            shape = (numbers[0], (h - 1) * s - 2 * p + k, (w - 1) * s - 2 * p + k)
        elif op == "up":
            c, h, w = shape
            layers.append(nn.Upsample(scale_factor=s, mode="bilinear", align_corners=False))
            shape = (c, h * s, w * s)
        elif op == "fc":
            layers.append(nn.Linear(shape[0], numbers[0]))
            shape = (numbers[0],)
        elif op == "scale":
            layers.append(Scale(float(flags.pop(0))))
        elif op == "flatten":
            layers.append(nn.Flatten())
            shape = (math.prod(shape),)
        elif _activation(op) is not None or op == "bn":  # a bare activation / batchnorm line
            flags = [op, *flags]
        elif op == "reshape":
            if math.prod(numbers) != math.prod(shape):
                raise ValueError(f"{line!r}: cannot reshape {shape} to {tuple(numbers)}")
            layers.append(nn.Unflatten(1, tuple(numbers)))
            shape = tuple(numbers)
        else:
            raise ValueError(f"unknown layer op {op!r} in {line!r}")
        for flag in flags:
            if flag == "bn":
                layers.append(nn.BatchNorm2d(shape[0]) if len(shape) == 3 else nn.BatchNorm1d(shape[0]))
            elif (act := _activation(flag)) is not None:
                layers.append(act)
            else:
                raise ValueError(f"unknown flag {flag!r} in {line!r}")
    net = nn.Sequential(*layers)
    net.out_shape = shape
    return net


@contextlib.contextmanager
def batch_statistics(module: nn.Module):
    """Inside this block every BatchNorm of `module` normalises with the statistics of the
    batch it sees, as in training, but leaves its running statistics as they were (for
    models evaluated the way their authors' code ran them: BatchNorm always in train mode)."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.training, m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
             for m in norms]
    for m in norms:
        m.train(True)
        m.momentum = 0.0  # running = (1 - 0) * running + 0 * batch: unchanged
    try:
        yield
    finally:
        for m, (training, momentum, count) in zip(norms, saved):
            m.train(training)
            m.momentum = momentum
            if count is not None:
                m.num_batches_tracked.copy_(count)
