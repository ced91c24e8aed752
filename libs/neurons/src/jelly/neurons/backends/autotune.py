"""``backend='auto'`` by measurement: time every available backend once per input kind.

On CUDA tensors several fused backends can usually run (``cupy``, ``triton``, ``torch``),
and which is fastest depends on the GPU, the dtype, the number of steps and the layer
width. So when more than one backend is available for a CUDA input, the first call of an
op for an input *kind* — op, device, dtype, ``T``, elements per step rounded up to a power
of two, whether gradients are wanted — runs each candidate on that very input (forward,
and backward when any input needs a gradient, on detached copies, so the caller's graph
and ``.grad`` are untouched), keeps the fastest, and every later call of that kind goes
straight to it. Candidates that raise are skipped and the error is kept in the record.

Nothing is measured while ``torch.compile`` traces or a CUDA graph is being captured (the
registry's priority order is used then, or an earlier measurement); on CPU tensors the
priority order is used (measured offline: see ``bench/neurons_cpu.py``) unless
:func:`set_autotune` adds ``'cpu'``. ``JELLY_NEURONS_AUTOTUNE=0`` in the environment, or
``set_autotune(False)``, turns measuring off everywhere. :func:`autotune_records` returns
what was measured (times in milliseconds), :func:`clear_autotune` forgets it.

Processes measure independently, so two runs (or two DDP ranks) may pick different
backends for the same layer; the backends agree to float tolerance (spikes exactly on
the parity checks), not bit for bit in every case.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

__all__ = [
    "AutotuneRecord",
    "autotune_enabled_for",
    "autotune_records",
    "clear_autotune",
    "set_autotune",
    "tuned_dispatch",
]

_ENABLED = os.environ.get("JELLY_NEURONS_AUTOTUNE", "1") != "0"
_DEVICES: frozenset[str] = frozenset({"cuda"})
#: Timed repetitions per candidate after one warm-up call (which also compiles kernels).
REPEATS = 2


@dataclass
class AutotuneRecord:
    """What one measurement found for one input kind.

    Attributes:
        winner: the backend picked.
        times_ms: candidate -> best time of one call in milliseconds.
        errors: candidate -> the error it raised (it was skipped).
    """

    winner: str
    times_ms: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """``'triton 0.41 ms < cupy 0.44 ms < torch 3.2 ms'`` (and the skipped ones)."""
        ranked = sorted(self.times_ms.items(), key=lambda kv: kv[1])
        text = " < ".join(f"{name} {ms:.3g} ms" for name, ms in ranked)
        if self.errors:
            text += "; failed: " + "; ".join(f"{k}: {v}" for k, v in self.errors.items())
        return text


_RECORDS: dict[tuple, AutotuneRecord] = {}


def set_autotune(enabled: bool = True, devices: Sequence[str] = ("cuda",)) -> None:
    """Turn measuring on or off, and choose the device types it applies to."""
    global _ENABLED, _DEVICES
    _ENABLED = bool(enabled)
    _DEVICES = frozenset(devices)


def clear_autotune() -> None:
    """Forget every measurement (the next call of each kind measures again)."""
    _RECORDS.clear()


def autotune_records() -> dict[tuple, AutotuneRecord]:
    """A copy of the measurements, keyed by ``(op, device, dtype, T, width bucket, grad, candidates)``."""
    return dict(_RECORDS)


def autotune_enabled_for(x: torch.Tensor) -> bool:
    """Whether ``'auto'`` measures for ``x`` now (enabled, its device type, not compiling or capturing)."""
    if not _ENABLED or x.device.type not in _DEVICES:
        return False
    if torch.compiler.is_compiling():
        return False
    return not (x.device.type == "cuda" and torch.cuda.is_current_stream_capturing())


def input_kind(op: str, x: torch.Tensor, candidates: Sequence[str]) -> tuple:
    """The key one measurement stands for."""
    steps = x.shape[0] if x.dim() else 1
    width = x[0].numel() if x.dim() else 1
    bucket = 1 << max(0, width - 1).bit_length()
    return (op, str(x.device), x.dtype, steps, bucket, torch.is_grad_enabled(), tuple(candidates))


def cached(kind: tuple) -> AutotuneRecord | None:
    """The measurement of ``kind``, if one was made."""
    return _RECORDS.get(kind)


def tuned_dispatch(kind: tuple, candidates: dict[str, Callable]) -> Callable:
    """A function that measures ``candidates`` on its first call, records the winner, and runs it."""

    def run(*args, **kwargs):
        record = _RECORDS.get(kind)
        if record is None:
            record = _RECORDS[kind] = _measure(candidates, args, kwargs)
        return candidates[record.winner](*args, **kwargs)

    return run


def _detached(value):
    if isinstance(value, torch.Tensor):
        return value.detach().requires_grad_(value.requires_grad and value.is_floating_point())
    if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value):
        converted = [_detached(v) for v in value]
        return type(value)(*converted) if hasattr(value, "_fields") else type(value)(converted)
    return value


def _leaves(values) -> list[torch.Tensor]:
    found = []
    for value in values:
        if isinstance(value, torch.Tensor):
            if value.requires_grad:
                found.append(value)
        elif isinstance(value, (tuple, list)):
            found.extend(_leaves(value))
    return found


def _outputs(result) -> list[torch.Tensor]:
    items = result if isinstance(result, (tuple, list)) else (result,)
    return [t for t in items if isinstance(t, torch.Tensor) and t.requires_grad]


def _synchronize(device_types: set[str]) -> None:
    if "cuda" in device_types:
        torch.cuda.synchronize()


def _time_one(fn: Callable, args: tuple, kwargs: dict) -> float:
    copies = [_detached(a) for a in args]
    kw_copies = {k: _detached(v) for k, v in kwargs.items()}
    leaves = _leaves(copies) + _leaves(list(kw_copies.values())) if torch.is_grad_enabled() else []
    devices = {t.device.type for t in copies if isinstance(t, torch.Tensor)}

    def call() -> None:
        result = fn(*copies, **kw_copies)
        outputs = _outputs(result) if leaves else []
        if outputs:
            grads = [torch.ones_like(o) for o in outputs]
            torch.autograd.grad(outputs, leaves, grads, allow_unused=True)

    call()  # warm-up: compiles kernels, fills caches
    best = float("inf")
    for _ in range(REPEATS):
        _synchronize(devices)
        start = time.perf_counter()
        call()
        _synchronize(devices)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def _measure(candidates: dict[str, Callable], args: tuple, kwargs: dict) -> AutotuneRecord:
    times, errors = {}, {}
    for name, fn in candidates.items():
        try:
            times[name] = _time_one(fn, args, kwargs)
        except Exception as error:  # noqa: BLE001 - a failing candidate is skipped, and said why
            errors[name] = f"{type(error).__name__}: {error}"
    if not times:
        # every candidate failed: run the first for real, so its error reaches the caller
        return AutotuneRecord(winner=next(iter(candidates)), errors=errors)
    return AutotuneRecord(winner=min(times, key=times.get), times_ms=times, errors=errors)
