"""Tests of the DVS-Lip .npy structured-array reader/writer."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from jelly.datasets.errors import CorruptFileError
from jelly.datasets.formats.dvs_lip_npy import (
    DVS_LIP_DTYPE,
    DVS_LIP_SENSOR_SIZE,
    read_dvs_lip,
    write_dvs_lip,
)
from jelly.datasets.testing import assert_events_equal
from jelly.datasets.testing import random_events as _random_events

random_events = partial(_random_events, sensor_size=(128, 128), t_max=2_000_000)


def test_constants():
    assert DVS_LIP_SENSOR_SIZE == (128, 128)
    assert DVS_LIP_DTYPE.names == ("x", "y", "p", "t")


def test_round_trip(tmp_path):
    ev = random_events(np.random.default_rng(0), 5000)
    path = tmp_path / "0.npy"
    write_dvs_lip(path, ev)
    assert_events_equal(read_dvs_lip(path), ev)
    arr = np.load(path)
    assert arr.dtype == DVS_LIP_DTYPE and arr.shape == (5000,)


def test_round_trip_with_other_dtype(tmp_path):
    dt = np.dtype([("t", "<i4"), ("x", "i1"), ("y", "i1"), ("p", "i1")])  # tonic's fake files
    ev = random_events(np.random.default_rng(1), 100)
    path = tmp_path / "1.npy"
    write_dvs_lip(path, ev, dtype=dt)
    assert np.load(path).dtype == dt
    assert_events_equal(read_dvs_lip(path), ev)


def test_hand_built_file(tmp_path):
    arr = np.zeros(3, dtype=DVS_LIP_DTYPE)
    arr["t"] = [10, 11, 500]
    arr["x"] = [0, 127, 64]
    arr["y"] = [127, 0, 3]
    arr["p"] = [True, False, True]
    path = tmp_path / "hand.npy"
    np.save(path, arr)
    assert_events_equal(read_dvs_lip(path), {"t": [10, 11, 500], "x": [0, 127, 64], "y": [127, 0, 3], "p": [1, 0, 1]})


def test_empty_sample(tmp_path):
    path = tmp_path / "empty.npy"
    empty = {k: np.zeros(0, np.int64) for k in "txyp"}
    write_dvs_lip(path, empty)
    assert_events_equal(read_dvs_lip(path), empty)


def test_truncated_file(tmp_path):
    path = tmp_path / "t.npy"
    write_dvs_lip(path, random_events(np.random.default_rng(2), 1000))
    data = path.read_bytes()
    for cut in (0, 5, 60, 128, len(data) // 2, len(data) - 1):
        bad = tmp_path / f"cut_{cut}.npy"
        bad.write_bytes(data[:cut])
        with pytest.raises(CorruptFileError) as info:
            read_dvs_lip(bad)
        assert str(bad) in str(info.value)


def test_plain_array_is_refused(tmp_path):
    path = tmp_path / "plain.npy"
    np.save(path, np.zeros((10, 4), np.int64))
    with pytest.raises(CorruptFileError, match="structured array"):
        read_dvs_lip(path)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "obj.npy"
    np.save(path, np.array([{"t": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptFileError, match="obj.npy"):
        read_dvs_lip(path)


@pytest.mark.parametrize(
    "dtype,values,match",
    [
        ([("t", "<i8"), ("x", "<i2"), ("y", "<i2")], {}, r"missing field.*'p'"),
        ([("t", "<f8"), ("x", "<i2"), ("y", "<i2"), ("p", "?")], {"t": 0.5}, "integers"),
        ([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "i1")], {"p": 2}, "polarity"),
        ([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "?")], {"x": 128}, r"'x' outside \[0, 127\]"),
        ([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "?")], {"y": -1}, r"'y' outside \[0, 127\]"),
    ],
)
def test_bad_arrays(tmp_path, dtype, values, match):
    arr = np.zeros(2, dtype=dtype)
    for k, v in values.items():
        arr[k][1] = v
    path = tmp_path / "bad.npy"
    np.save(path, arr)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_dvs_lip(path)
    assert str(path) in str(info.value)


def test_two_dimensional_structured_array_is_refused(tmp_path):
    path = tmp_path / "2d.npy"
    np.save(path, np.zeros((2, 2), dtype=DVS_LIP_DTYPE))
    with pytest.raises(CorruptFileError, match="1-D"):
        read_dvs_lip(path)


def test_writer_checks(tmp_path):
    path = tmp_path / "w.npy"
    with pytest.raises(ValueError, match="outside"):
        write_dvs_lip(path, {"t": [0], "x": [128], "y": [0], "p": [1]})
    with pytest.raises(ValueError, match="fields"):
        write_dvs_lip(path, {"t": [0], "x": [1], "y": [0], "p": [1]}, dtype=np.int64)
    with pytest.raises(ValueError, match="int8"):
        write_dvs_lip(
            path,
            {"t": [0], "x": [200], "y": [0], "p": [1]},
            dtype=[("t", "<i8"), ("x", "i1"), ("y", "i1"), ("p", "i1")],
            sensor_size=None,
        )
