"""What the parts of ``gpu_check.py`` share: colours, the libraries' path, a process pool."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_COLOR = sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))
GREEN, RED, DIM, RESET = ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if _COLOR else ("", "", "", "")


def add_pythonpath(root: Path) -> list[str]:
    """Put every ``libs/*/src`` of ``root`` first on ``sys.path``; returns them."""
    paths = [str(p) for p in sorted((root / "libs").glob("*/src"))]
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    return paths


def _worker_init(paths: list[str]) -> None:
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    import torch

    torch.set_num_threads(1)


def map_in_pool(fn: Callable, items: Iterable, workers: int, paths: list[str], chunksize: int = 1) -> list:
    """``[fn(item) for item in items]``, in ``workers`` spawned processes (one thread each) when ``workers > 1``.

    The order of the results is not kept; the workers get ``paths`` on ``sys.path``.
    """
    if workers <= 1:
        return [fn(item) for item in items]
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers, _worker_init, (paths,)) as pool:
        return list(pool.imap_unordered(fn, items, chunksize=chunksize))
