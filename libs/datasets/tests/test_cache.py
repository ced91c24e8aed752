"""Atomic, resumable caches: nothing half-written after a crash, resume skips finished work."""

import json
import os

import numpy as np
import pytest

from jelly.datasets.cache import (
    MANIFEST_NAME,
    atomic_save_npz,
    build_cache,
    cache_dir_name,
    load_npz,
    read_manifest,
)
from jelly.datasets.errors import CorruptFileError

CALLS = []


def square_worker(payload, partial):
    """Module-level worker (picklable): writes one .npz per item of the payload."""
    key, values, crash_on = payload
    entries = []
    for v in values:
        if v == crash_on:
            raise RuntimeError(f"injected crash at {v}")
        CALLS.append(v)
        atomic_save_npz(partial / f"{v}.npz", compressed=False, y=np.array([v * v]))
        entries.append({"file": f"{v}.npz", "value": v})
    return entries


def make_tasks(crash_on=None):
    return [(f"t{i}", (f"t{i}", [2 * i, 2 * i + 1], crash_on)) for i in range(5)]


def test_cache_dir_name_keys_everything():
    a = cache_dir_name("frames", algo=1, T=16, split_by="number", sensor=(128, 128))
    assert a == "frames_v1_algo-1_T-16_split_by-number_sensor-128x128"
    assert a != cache_dir_name("frames", algo=2, T=16, split_by="number", sensor=(128, 128))
    assert a != cache_dir_name("frames", algo=1, T=16, split_by="time", sensor=(128, 128))
    assert a != cache_dir_name("frames", algo=1, T=16, split_by="number", sensor=(64, 128))
    assert cache_dir_name("frames", custom="my.mod.f/x y", duration=None) == "frames_v1_custom-my.mod.f-x-y"


def test_crash_leaves_no_complete_cache_and_resume_redoes_only_the_rest(tmp_path):
    final = tmp_path / "cache"
    CALLS.clear()
    with pytest.raises(RuntimeError, match="injected crash at 5"):
        build_cache(final, make_tasks(crash_on=5), square_worker, num_workers=0, progress=False)
    assert not final.exists()  # nothing a later run could mistake for complete
    partial = tmp_path / "cache.partial"
    assert partial.is_dir() and not (partial / MANIFEST_NAME).exists()
    assert not list(partial.rglob("*.tmp"))  # no half-written file
    assert sorted(CALLS) == [0, 1, 2, 3, 4]  # tasks t0, t1 done, t2 crashed after writing 4
    CALLS.clear()
    manifest = build_cache(final, make_tasks(), square_worker, num_workers=0, progress=False)
    assert sorted(CALLS) == [4, 5, 6, 7, 8, 9]  # t0 and t1 were skipped
    assert final.is_dir() and not partial.exists()
    assert [e["value"] for e in manifest["entries"]] == list(range(10))
    assert read_manifest(final) == manifest
    for v in range(10):
        assert load_npz(final / f"{v}.npz")["y"][0] == v * v
    CALLS.clear()
    assert build_cache(final, make_tasks(crash_on=0), square_worker, num_workers=0) == manifest  # no work
    assert CALLS == []


def test_parallel_processes_and_crash(tmp_path):
    manifest = build_cache(tmp_path / "c", make_tasks(), square_worker, num_workers=2, progress=False)
    assert [e["value"] for e in manifest["entries"]] == list(range(10))
    with pytest.raises(RuntimeError, match="injected crash"):
        build_cache(tmp_path / "d", make_tasks(crash_on=7), square_worker, num_workers=2, progress=False)
    assert not (tmp_path / "d").exists() and (tmp_path / "d.partial").is_dir()


def test_unpicklable_worker_falls_back_to_this_process(tmp_path):
    with pytest.warns(UserWarning, match="not picklable"):
        m = build_cache(
            tmp_path / "c", [("a", 1), ("b", 2)], lambda p, d: [{"v": p}], num_workers=2, progress=False
        )
    assert m["entries"] == [{"v": 1}, {"v": 2}]


def test_damaged_marker_is_redone_and_bad_manifest_reported(tmp_path):
    final = tmp_path / "c"
    with pytest.raises(RuntimeError):
        build_cache(final, make_tasks(crash_on=3), square_worker, num_workers=0, progress=False)
    for marker in (tmp_path / "c.partial" / ".done").iterdir():
        marker.write_text("{not json")
    CALLS.clear()
    build_cache(final, make_tasks(), square_worker, num_workers=0, progress=False)
    assert sorted(CALLS) == list(range(10))
    (final / MANIFEST_NAME).write_text(json.dumps({"format": 99}))
    with pytest.raises(CorruptFileError, match="manifest"):
        read_manifest(final)


def test_atomic_save_leaves_old_file_on_failure(tmp_path):
    path = tmp_path / "a.npz"
    atomic_save_npz(path, x=np.arange(3))

    class Boom:
        def __array__(self, *a, **k):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_save_npz(path, x=Boom())
    np.testing.assert_array_equal(load_npz(path)["x"], np.arange(3))
    assert os.listdir(tmp_path) == ["a.npz"]
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CorruptFileError, match="a.npz"):
        load_npz(path)
