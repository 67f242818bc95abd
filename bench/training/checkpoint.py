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
import os
import pickle
import shutil
from pathlib import Path

import torch

from bench.errors import BenchError
from bench.files import write_atomic
from bench.rng import rng_state, set_rng_state

FORMAT = 1  # bumped when the layout of a checkpoint changes
NAME = "checkpoint.pt"
# `bench run --keep-checkpoints`: last (the one file, replaced at each checkpoint step), all
# (also a copy per checkpoint step), none (deleted once its run is recorded completed)
KEEP_CHECKPOINTS = ("last", "all", "none")


def path_for(workdir: Path, run_id: str) -> Path:
    return Path(workdir) / run_id / NAME


def step_copy(path: Path, step: int) -> Path:
    """Where `--keep-checkpoints all` keeps the checkpoint written at `step`, beside `path`."""
    return Path(path).with_name(f"checkpoint-step{step}.pt")


def keep_copy(path: Path, step: int) -> None:
    """Keep the checkpoint just written at `path` as its step's copy: a hard link (the next
    write replaces `path` by a rename, so the link keeps this content), else a copy."""
    copy = step_copy(path, step)
    copy.unlink(missing_ok=True)
    try:
        os.link(path, copy)
    except OSError:  # a file system without hard links
        write_atomic(copy, lambda tmp: shutil.copyfile(path, tmp))


def discard(path: Path) -> None:
    """Delete a run's checkpoint and its step copies (`--keep-checkpoints none`)."""
    path = Path(path)
    path.unlink(missing_ok=True)
    for copy in path.parent.glob("checkpoint-step*.pt"):
        copy.unlink(missing_ok=True)


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


def _shape(value) -> str:
    if not isinstance(value, torch.Tensor):
        return f"a {type(value).__name__}"
    return f"{'x'.join(map(str, value.shape)) or 'scalar'} {str(value.dtype).removeprefix('torch.')}"


def check_weights(weights, method, path: Path) -> None:
    """Refuse, in one line naming the file, weights that do not fit `method`: the names,
    shapes and dtypes of its state dict. Checked before loading, so a checkpoint of another
    configuration is never half-loaded and never a multi-line size-mismatch error."""
    own = method.state_dict()
    if not isinstance(weights, dict):
        raise BenchError(f"refusing checkpoint {path}: its weights are {_shape(weights)}, not a state dict")
    missing, unexpected = sorted(set(own) - set(weights), key=str), sorted(set(weights) - set(own), key=str)
    if missing or unexpected:
        more = len(missing) + len(unexpected) - 1
        what = (f"lacks {missing[0]!r}, which {method.name} has" if missing
                else f"holds {unexpected[0]!r}, which {method.name} does not have")
        raise BenchError(f"refusing checkpoint {path}: it {what}" + (f" (and {more} more differences)" if more else ""))
    for key, mine in own.items():
        theirs = weights[key]
        if isinstance(mine, torch.Tensor) and (not isinstance(theirs, torch.Tensor) or theirs.shape != mine.shape
                                              or theirs.dtype != mine.dtype):
            raise BenchError(f"refusing checkpoint {path}: {key} is {_shape(theirs)}, {method.name} has {_shape(mine)} "
                             "(a checkpoint of other settings?)")


def check_resumable(state: dict, method, path: Path, max_step: int) -> None:
    """Refuse, in one line naming the file, a checkpoint that cannot continue this run: its
    weights do not fit the method, its step is not a whole number in [0, max_step], or its
    history is not what the trainer writes."""
    step = state.get("step")
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= max_step:
        raise BenchError(f"refusing checkpoint {path}: its step {step!r} is not in 0..{max_step} (the run's steps)")
    elapsed = state.get("elapsed_s")
    if not isinstance(elapsed, (int, float)) or isinstance(elapsed, bool) or not 0 <= elapsed < float("inf"):
        raise BenchError(f"refusing checkpoint {path}: its elapsed_s {elapsed!r} is not a time")
    for key in ("losses", "evaluations"):
        if not isinstance(state.get(key), list) or not all(isinstance(row, dict) for row in state[key]):
            raise BenchError(f"refusing checkpoint {path}: its {key} are not a list of rows")
    if not isinstance(state.get("optimizers"), list):
        raise BenchError(f"refusing checkpoint {path}: its optimizer states are not a list")
    check_weights(state.get("method"), method, path)


def check_optimizers(states: list, optimizers: list, path: Path, stacked: bool = False) -> None:
    """Refuse, in one line naming the file, optimizer states that do not fit `optimizers`:
    their number, their parameter groups, and the shape of each moment against its
    parameter's (`stacked`: the optimizers hold S seeds' parameters stacked on a first axis)."""
    def refuse(why: str) -> BenchError:
        return BenchError(f"refusing checkpoint {path}: {why}")

    if len(states) != len(optimizers):
        raise refuse(f"it holds {len(states)} optimizer states, the method trains with {len(optimizers)}")
    for k, (state, opt) in enumerate(zip(states, optimizers)):
        groups = state.get("param_groups") if isinstance(state, dict) else None
        sizes = [len(g["params"]) if isinstance(g, dict) and isinstance(g.get("params"), list) else -1
                 for g in groups] if isinstance(groups, list) else None
        if sizes != [len(g["params"]) for g in opt.param_groups]:
            raise refuse(f"optimizer {k}'s parameter groups do not fit the method's")
        params = [p for g in opt.param_groups for p in g["params"]]
        shapes = {i: (p.shape[1:] if stacked else p.shape) for i, p in zip((i for g in groups for i in g["params"]), params)}
        moments = state.get("state")
        if not isinstance(moments, dict) or not all(i in shapes and isinstance(m, dict) for i, m in moments.items()):
            raise refuse(f"optimizer {k}'s state does not name its parameters")
        for i, entry in moments.items():
            for key, value in entry.items():
                if not isinstance(value, torch.Tensor):
                    raise refuse(f"optimizer {k}'s {key} of parameter {i} is {_shape(value)}")
                if value.ndim and value.shape != shapes[i]:
                    raise refuse(f"optimizer {k}'s {key} of parameter {i} is {_shape(value)}, the parameter "
                                 f"{'x'.join(map(str, shapes[i]))}")


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
        "finished": run.finished,  # after_training done: the run is trained, only to be scored
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
    run.finished = bool(state.get("finished", False))  # checkpoints before it: redo after_training
    return state["optimizers"]
