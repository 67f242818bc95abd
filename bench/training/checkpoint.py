"""A run's checkpoint: where it lives, what it holds, how it is written and read back.

A checkpoint is trusted only as far as it is checked: it is read with
`torch.load(weights_only=True)`, so a file holding a pickled object that would run code is
refused before anything runs; it carries a SHA-256 digest of its content, so a truncated or
altered file (one flipped bit in an Adam moment) is refused instead of resumed; and it
is written only when every weight and optimizer moment is finite, and checked for that
again when read. Every refusal is one line naming the file.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.files import write_atomic
from bench.rng import rng_state, set_rng_state

FORMAT = 1  # bumped when the layout of a checkpoint changes
NAME = "checkpoint.pt"


def path_for(workdir: Path, run_id: str) -> Path:
    return Path(workdir) / run_id / NAME


def _update(h, obj) -> None:
    """Feed `obj` (nested dicts, lists, tuples, tensors, plain values) into the hash `h`
    in a canonical order."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"tensor {t.dtype} {tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        h.update(b"{")
        for key in sorted(obj, key=repr):
            h.update(repr(key).encode() + b":")
            _update(h, obj[key])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[" if isinstance(obj, list) else b"(")
        for item in obj:
            _update(h, item)
            h.update(b",")
        h.update(b"]")
    else:
        h.update(repr(obj).encode() + b";")


def digest(state: dict) -> str:
    h = hashlib.sha256()
    _update(h, state)
    return h.hexdigest()


def non_finite(obj, where: str = "") -> list[str]:
    """Names of the floating-point tensors in `obj` that hold a NaN or an infinity."""
    if isinstance(obj, torch.Tensor):
        return [where] if obj.is_floating_point() and not bool(torch.isfinite(obj).all()) else []
    if isinstance(obj, dict):
        return [name for key, value in obj.items() for name in non_finite(value, f"{where}.{key}".lstrip("."))]
    if isinstance(obj, (list, tuple)):
        return [name for i, value in enumerate(obj) for name in non_finite(value, f"{where}[{i}]")]
    return []


def trained_state_problem(state: dict) -> str | None:
    """Why the weights and optimizer moments of `state` must not be kept, or None."""
    bad = non_finite({"method": state.get("method"), "optimizers": state.get("optimizers")})
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        return f"non-finite values in {bad[0]}{more}"
    return None


def save(state: dict, path: Path) -> None:
    """Write `state` (tensors and plain data only) atomically, with its digest."""
    problem = trained_state_problem(state)
    if problem:
        raise BenchError(f"not writing {path}: {problem}")
    payload = {**state, "format": FORMAT}
    payload["sha256"] = digest(payload)
    write_atomic(path, lambda tmp: torch.save(payload, tmp))


def _read(path: Path, **kwargs) -> dict:
    try:
        state = torch.load(path, weights_only=True, **kwargs)
    except pickle.UnpicklingError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "not plain data"
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            reason = "it holds pickled objects other than tensors and plain data, which would run code"
        raise BenchError(f"refusing checkpoint {path}: {reason}") from None
    except FileNotFoundError:
        raise BenchError(f"no checkpoint at {path}") from None
    except Exception as exc:  # a truncated zip, a foreign file, ...
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BenchError(f"checkpoint {path} is unreadable (truncated or not a checkpoint): {first}") from None
    if not isinstance(state, dict) or "sha256" not in state:
        raise BenchError(f"checkpoint {path} has no checksum: not a checkpoint written by this version of bench")
    return state


def load(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """The checked content of the checkpoint at `path` (its digest and format removed)."""
    state = _read(Path(path), map_location=map_location)
    expected = state.pop("sha256")
    if digest(state) != expected:
        raise BenchError(f"checkpoint {path} is corrupt: its content does not match its checksum")
    if state.pop("format", None) != FORMAT:
        raise BenchError(f"checkpoint {path} has another format than this version of bench writes")
    problem = trained_state_problem(state)
    if problem:
        raise BenchError(f"refusing checkpoint {path}: {problem}")
    return state


def peek_step(path: Path) -> int:
    """The step a checkpoint was written at, without reading its weights into memory
    (memory-mapped); 0 when there is none."""
    if not Path(path).exists():
        return 0
    return int(_read(Path(path), map_location="cpu", mmap=True)["step"])


# -- a run's state in a checkpoint -------------------------------------------------------------------
def run_state(run, step: int, optimizers: list[dict], log_window: dict | None, elapsed_s: float) -> dict:
    """What a checkpoint of `run` (a `bench.training.trainer.RunState`) holds at `step`:
    weights, optimizer states, every generator's state, the history so far, and the loss
    log window in progress."""
    return {
        "step": step,
        "method": run.method.state_dict(),
        "optimizers": optimizers,
        "rng": rng_state() if run.rng is None else run.rng.sync(),
        "losses": run.losses,
        "losses_last": run.losses_last,
        "evaluations": run.evaluations,
        "log_window": log_window,
        "elapsed_s": elapsed_s,
    }


def restore(run, state: dict) -> list[dict]:
    """Put a loaded checkpoint back into `run`; returns its optimizer states."""
    run.method.load_state_dict(state["method"])
    if run.rng is None:
        set_rng_state(state["rng"])
    else:
        run.rng.load(state["rng"])
    run.losses, run.evaluations = state["losses"], state["evaluations"]
    run.losses_last = state.get("losses_last", [])  # checkpoints before issue 23 did not keep it
    run.resumed_from, run.prior_seconds = state["step"], state["elapsed_s"]
    run.log_window = state["log_window"]
    return state["optimizers"]
