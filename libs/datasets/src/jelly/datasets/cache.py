"""Crash-safe, resumable on-disk caches (events and frames of the neuromorphic data sets).

A cache is a folder whose name is a key of everything that changes its content (see
:func:`cache_dir_name`). It is built in a sibling folder ``<name>.partial``:

1. each task (a source file, a sample) writes its output files atomically (temporary name,
   then ``os.replace``), then a marker ``.done/<task>.json`` listing its entries, also atomically;
2. when every task is done, ``manifest.json`` is written and ``<name>.partial`` is renamed to
   ``<name>``.

So a folder named ``<name>`` is always complete, a crash leaves only ``<name>.partial`` (never
mistaken for a complete cache), and the next run skips the tasks that have a marker: it resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .errors import CorruptFileError

__all__ = [
    "CACHE_FORMAT_VERSION",
    "MANIFEST_NAME",
    "PARTIAL_SUFFIX",
    "cache_dir_name",
    "atomic_write_bytes",
    "atomic_save_npz",
    "load_npz",
    "read_manifest",
    "build_cache",
    "default_num_workers",
]

CACHE_FORMAT_VERSION = 1
"""Version of the cache layout (manifest, markers); part of every cache name."""
MANIFEST_NAME = "manifest.json"
PARTIAL_SUFFIX = ".partial"
_DONE_DIR = ".done"


def _key_part(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "x".join(_key_part(v) for v in value)
    text = str(value)
    return re.sub(r"[^A-Za-z0-9.\-]+", "-", text).strip("-") or "none"


def cache_dir_name(kind: str, **params: Any) -> str:
    """Folder name of a cache keyed by ``params`` (``None`` values are left out).

    Args:
        kind: What the cache holds (``'events'``, ``'frames'``...).
        **params: Everything that changes the content (versions, T, split, duration, sensor
            size, function name...), in a fixed order given by the caller.

    Returns:
        ``'<kind>_v<CACHE_FORMAT_VERSION>_<k1>-<v1>_<k2>-<v2>...'`` with characters other than
        letters, digits, ``.`` and ``-`` replaced.

    Example:
        >>> cache_dir_name("frames", algo=1, T=16, split_by="number", sensor=(128, 128))
        'frames_v1_algo-1_T-16_split_by-number_sensor-128x128'
    """
    parts = [f"{kind}_v{CACHE_FORMAT_VERSION}"]
    parts += [f"{k}-{_key_part(v)}" for k, v in params.items() if v is not None]
    return "_".join(parts)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save_npz(path: str | os.PathLike, compressed: bool = True, **arrays: np.ndarray) -> None:
    """Save arrays to an ``.npz`` file atomically (temporary file, then ``os.replace``).

    Args:
        path: Destination (should end in ``.npz``).
        compressed: Use ``np.savez_compressed`` (smaller, slower) or ``np.savez``.
        **arrays: The arrays to store.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            (np.savez_compressed if compressed else np.savez)(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file, raising :class:`CorruptFileError` if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except Exception as e:  # zipfile.BadZipFile, ValueError, OSError, EOFError...
        raise CorruptFileError(
            path,
            f"unreadable .npz cache file ({type(e).__name__}: {e}); delete the cache folder to rebuild it",
        ) from e


def read_manifest(cache_dir: str | os.PathLike) -> dict[str, Any]:
    """Read the manifest of a complete cache folder.

    Raises:
        CorruptFileError: If the folder exists without a readable manifest (it was not made by
            :func:`build_cache`, or was tampered with).
    """
    path = Path(cache_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise CorruptFileError(
            path, f"missing or unreadable cache manifest ({e}); delete {cache_dir} to rebuild the cache"
        ) from e
    if manifest.get("format") != CACHE_FORMAT_VERSION or "entries" not in manifest:
        raise CorruptFileError(path, "cache manifest of another format; delete the folder to rebuild it")
    return manifest


def default_num_workers() -> int:
    """Number of worker processes used by default: the usable CPUs, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        n = os.cpu_count() or 1
    return max(1, min(8, n))


def _marker_path(partial: Path, key: str) -> Path:
    return partial / _DONE_DIR / (hashlib.sha1(key.encode()).hexdigest() + ".json")


def _picklable(obj: Any) -> bool:
    try:
        pickle.dumps(obj)
        return True
    except Exception:  # noqa: BLE001 (any pickling failure)
        return False


def build_cache(
    final_dir: str | os.PathLike,
    tasks: Sequence[tuple[str, Any]],
    worker: Callable[[Any, Path], Iterable[dict[str, Any]]],
    *,
    num_workers: int | None = None,
    meta: dict[str, Any] | None = None,
    desc: str = "caching",
    progress: bool = True,
) -> dict[str, Any]:
    """Build a cache folder atomically and resumably, running tasks in parallel processes.

    If ``final_dir`` already exists (complete), its manifest is returned and nothing runs.

    Args:
        final_dir: The cache folder to create.
        tasks: ``(key, payload)`` pairs; ``key`` is a unique string naming the task (used to
            resume), ``payload`` is passed to ``worker``.
        worker: ``worker(payload, partial_dir) -> entries``: writes its files under
            ``partial_dir`` atomically (e.g. :func:`atomic_save_npz`) and returns a list of
            JSON-serialisable dicts describing them. Must be a module-level function (it is
            sent to worker processes).
        num_workers: Processes to use; ``0`` or ``1`` runs in this process; ``None`` uses
            :func:`default_num_workers`. A worker or payload that cannot be pickled
            (e.g. a lambda) runs in this process with a warning.
        meta: Extra JSON-serialisable information stored in the manifest.
        desc: Progress-bar label.
        progress: Show a tqdm progress bar.

    Returns:
        The manifest: ``{'format', 'meta', 'entries'}`` where ``entries`` is the concatenation
        of the tasks' entries in task order.

    Raises:
        Exception: Whatever a task raises; the finished tasks stay recorded in
            ``<final_dir>.partial`` and are skipped by the next call.
    """
    final_dir = Path(final_dir)
    if final_dir.is_dir():
        return read_manifest(final_dir)
    keys = [k for k, _ in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("build_cache: task keys must be unique")
    partial = final_dir.with_name(final_dir.name + PARTIAL_SUFFIX)
    (partial / _DONE_DIR).mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, Any]]] = {}
    todo = []
    for key, payload in tasks:
        marker = _marker_path(partial, key)
        if marker.is_file():
            try:
                record = json.loads(marker.read_text())
                if record.get("key") == key:
                    results[key] = record["entries"]
                    continue
            except (OSError, ValueError, KeyError):
                pass  # damaged marker: redo the task
        todo.append((key, payload))

    def record(key: str, entries: Iterable[dict[str, Any]]) -> None:
        entries = list(entries)
        atomic_write_bytes(_marker_path(partial, key), json.dumps({"key": key, "entries": entries}).encode())
        results[key] = entries

    workers = default_num_workers() if num_workers is None else max(0, int(num_workers))
    workers = min(workers, len(todo))
    if workers > 1 and not (_picklable(worker) and all(_picklable(p) for _, p in todo[:1])):
        warnings.warn(
            f"{desc}: the conversion function cannot be sent to worker processes (not picklable, "
            "e.g. a lambda or a local function); converting in this process instead",
            stacklevel=2,
        )
        workers = 1
    with tqdm(
        total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="item", disable=not progress
    ) as bar:
        if workers <= 1:
            for key, payload in todo:
                record(key, worker(payload, partial))
                bar.update(1)
        else:
            pool = ProcessPoolExecutor(max_workers=workers)
            try:
                futures = {pool.submit(worker, payload, partial): key for key, payload in todo}
                for future in as_completed(futures):
                    record(futures[future], future.result())  # re-raises a task's error
                    bar.update(1)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    manifest = {
        "format": CACHE_FORMAT_VERSION,
        "meta": meta or {},
        "entries": [e for k in keys for e in results[k]],
    }
    atomic_write_bytes(partial / MANIFEST_NAME, json.dumps(manifest).encode())
    shutil.rmtree(partial / _DONE_DIR, ignore_errors=True)
    try:
        os.rename(partial, final_dir)
    except OSError:
        if not final_dir.is_dir():  # a concurrent builder did not win the race: a real error
            raise
        shutil.rmtree(partial, ignore_errors=True)  # another process finished first
        return read_manifest(final_dir)
    return manifest
