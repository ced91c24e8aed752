"""Helpers shared by the benchmark modules (not benchmarks: asv collects nothing here).

Conventions of the suite:

- A parameter a commit or a machine cannot run raises ``NotImplementedError`` in ``setup``;
  asv then records it as skipped (``n/a``) instead of failed.
- Timings run single-threaded by default (``JELLY_BENCH_THREADS`` overrides it), so results
  from a busy 2-core machine stay comparable between commits.
- CUDA timings call :func:`synchronize` at the end of the timed function, so the timer stops
  after the kernels finish, not after they are queued.
"""

from __future__ import annotations

import functools
import importlib
import os
from pathlib import Path
from types import ModuleType

import torch


def _warm_up_autograd() -> None:
    # The first torch.autograd.grad call of a process imports sympy (via torch.fx) lazily,
    # ~1 s here. asv forks each parameter combination from a process that imported the
    # suite; paying it there once keeps it out of every child's time and peak memory.
    x = torch.ones(2, requires_grad=True)
    torch.autograd.grad(x * x, x, torch.ones(2))  # with grad_outputs: the lazy import path


_warm_up_autograd()

THREADS_ENV = "JELLY_BENCH_THREADS"
MNIST_ENV = "JELLY_MNIST_DIR"
MNIST_STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

DEVICE_BACKENDS = ("cpu-torch", "cpu-reference", "cpu-numba", "cuda-torch", "cuda-cupy", "cuda-triton")
"""``device-backend`` pairs of the neuron benchmarks (a fixed list, so every commit has the same
parameter grid; a pair that is not registered or cannot run is skipped)."""

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


def preimport(*names: str) -> None:
    """Import ``names`` now if they can be imported, ignoring any failure.

    asv forks every parameter combination from a server process that imported the suite;
    importing the measured packages at module import time means each child inherits them
    instead of paying the import (seconds with numba) again. Failures are ignored here and
    reported by the benchmark's own ``setup`` (as a skip).
    """
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - any failure is reported later, by setup
            pass


def skip(reason: str) -> None:
    """Mark the current parameter combination as not runnable here (asv shows ``n/a``)."""
    raise NotImplementedError(reason)


def set_threads() -> None:
    """Use ``JELLY_BENCH_THREADS`` intra-op threads (default 1)."""
    torch.set_num_threads(max(1, int(os.environ.get(THREADS_ENV, "1"))))


def optional_import(name: str) -> ModuleType:
    """Import ``name`` or skip the benchmark (older commits lack newer packages)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        skip(f"{name} is not importable at this commit: {exc}")
        raise  # unreachable; keeps type checkers happy


def public_attr(module_name: str, attr: str):
    """``module_name.attr`` from the public API, or skip when either is missing."""
    module = optional_import(module_name)
    value = getattr(module, attr, None)
    if value is None:
        skip(f"{module_name}.{attr} does not exist at this commit")
    return value


#: Where the ann2snn MNIST CNN example lives: since 2026-11-29 in jelly-examples, before in jelly-ann2snn.
CNN_EXAMPLE_MODULES = ("jelly.examples.ann2snn_cnn_mnist", "jelly.ann2snn.examples_cnn_mnist")


def cnn_example_attr(attr: str):
    """``attr`` of the ann2snn MNIST CNN example, wherever it lives at this commit, or skip."""
    for name in CNN_EXAMPLE_MODULES:
        try:
            value = getattr(importlib.import_module(name), attr, None)
        except ImportError:
            continue
        if value is not None:
            return value
    skip(f"no ann2snn CNN example with {attr!r} at this commit (looked in {', '.join(CNN_EXAMPLE_MODULES)})")


def device_of(name: str) -> torch.device:
    """``torch.device(name)``; skips ``'cuda'`` when no GPU is visible."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        skip("no CUDA GPU on this machine")
    return torch.device(name)


def split_device_backend(param: str) -> tuple[torch.device, str]:
    """``'cpu-torch'`` → ``(device('cpu'), 'torch')`` (skipping CUDA without a GPU)."""
    device_name, _, backend = param.partition("-")
    return device_of(device_name), backend


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def dtype_of(name: str) -> torch.dtype:
    """The torch dtype called ``name`` (``'float32'``, ``'bfloat16'``...)."""
    return DTYPES[name]


@functools.lru_cache(maxsize=16)
def _cached_uniform(shape: tuple[int, ...], low: float, high: float, seed: int, dtype: torch.dtype,
                    device: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=generator, dtype=torch.float32) * (high - low) + low
    return x.to(device=device, dtype=dtype)


def uniform(shape: tuple[int, ...], low: float = 0.0, high: float = 1.0, seed: int = 0,
            dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> torch.Tensor:
    """A seeded uniform tensor, cached per process.

    asv re-runs ``setup`` before every timed call; caching keeps that cheap. Callers must not
    modify the result in place (take ``.detach().requires_grad_()`` views for autograd).
    """
    return _cached_uniform(tuple(shape), float(low), float(high), int(seed), dtype, str(device))


def _has_mnist(folder: Path) -> bool:
    return all((folder / stem).is_file() or (folder / f"{stem}.gz").is_file() for stem in MNIST_STEMS)


def find_mnist_dir() -> Path | None:
    """The folder of the four MNIST IDX files, or ``None``.

    ``JELLY_MNIST_DIR`` wins when set. Otherwise the project's convention, ``../shared/data/mnist``
    relative to the repository root, is looked for above this file and above the working
    directory (asv runs benchmarks from its own environment folder, so both are tried).
    """
    env = os.environ.get(MNIST_ENV)
    if env:
        folder = Path(env).expanduser()
        return folder if _has_mnist(folder) else None
    starts = [Path(__file__).resolve().parent, Path.cwd().resolve()]
    for start in starts:
        for base in (start, *start.parents):
            for candidate in (base / "shared" / "data" / "mnist", base / "data" / "mnist"):
                if _has_mnist(candidate):
                    return candidate
    return None
