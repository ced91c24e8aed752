"""Tests of the HARDVS .npz reader/writer and of its split files."""

from __future__ import annotations

import zipfile
from functools import partial

import numpy as np
import pytest

from jelly.datasets.errors import CorruptFileError
from jelly.datasets.formats.hardvs import (
    HARDVS_N_CLASSES,
    HARDVS_SENSOR_SIZE,
    read_hardvs,
    read_hardvs_split,
    write_hardvs,
    write_hardvs_split,
)
from jelly.datasets.testing import assert_events_equal
from jelly.datasets.testing import random_events as _random_events

random_events = partial(_random_events, sensor_size=(346, 260), t_max=5_000_000)


def test_constants():
    assert HARDVS_SENSOR_SIZE == (346, 260)
    assert HARDVS_N_CLASSES == 300


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip(tmp_path, compress):
    ev = random_events(np.random.default_rng(0), 5000)
    path = tmp_path / "dvSave-2021_10_15_19_18_02.npz"
    write_hardvs(path, ev, compress=compress)
    assert_events_equal(read_hardvs(path), ev)


def test_written_file_layout(tmp_path):
    path = tmp_path / "s.npz"
    write_hardvs(path, {"t": [5, 6], "x": [345, 0], "y": [0, 259], "p": [-1, 1]})
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["p.npy", "t.npy", "x.npy", "y.npy"]
    with np.load(path) as npz:
        assert {k: npz[k].dtype for k in "txyp"} == {
            "t": np.int64,
            "x": np.int16,
            "y": np.int16,
            "p": np.int8,
        }
        np.testing.assert_array_equal(npz["p"], [0, 1])


def test_hand_built_file(tmp_path):
    path = tmp_path / "hand.npz"
    np.savez(
        path,
        t=np.array([100, 200, 200], np.uint32),
        x=np.array([0, 345, 7], np.uint16),
        y=np.array([259, 0, 8], np.uint16),
        p=np.array([True, False, True]),
        extra=np.arange(4),  # unknown arrays are ignored
    )
    assert_events_equal(read_hardvs(path), {"t": [100, 200, 200], "x": [0, 345, 7], "y": [259, 0, 8], "p": [1, 0, 1]})


def test_empty_sample(tmp_path):
    path = tmp_path / "empty.npz"
    empty = {k: np.zeros(0, np.int64) for k in "txyp"}
    write_hardvs(path, empty)
    assert_events_equal(read_hardvs(path), empty)


def test_truncated_file(tmp_path):
    path = tmp_path / "t.npz"
    write_hardvs(path, random_events(np.random.default_rng(1), 3000))
    data = path.read_bytes()
    for cut in (0, 10, 100, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut_{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(CorruptFileError) as info:
            read_hardvs(bad)
        assert str(bad) in str(info.value)


def test_missing_key(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, t=np.arange(3), x=np.arange(3), y=np.arange(3))
    with pytest.raises(CorruptFileError, match=r"missing array.*'p'"):
        read_hardvs(path)


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"t": np.arange(4)}, "different lengths"),
        ({"x": np.array([0.5, 1.0, 2.0])}, "integers"),
        ({"p": np.array([0, 1, 3])}, "polarity"),
        ({"x": np.array([0, 346, 1])}, r"'x' outside \[0, 345\]"),
        ({"y": np.array([0, -2, 1])}, r"'y' outside \[0, 259\]"),
        ({"y": np.zeros((3, 1), np.int16)}, "vector"),
    ],
)
def test_bad_arrays(tmp_path, bad, match):
    good = {"t": np.arange(3), "x": np.arange(3), "y": np.arange(3), "p": np.array([0, 1, 1])}
    path = tmp_path / "bad.npz"
    np.savez(path, **{**good, **bad})
    with pytest.raises(CorruptFileError, match=match) as info:
        read_hardvs(path)
    assert str(path) in str(info.value)


def test_out_of_range_check_can_be_disabled(tmp_path):
    path = tmp_path / "big.npz"
    ev = {"t": [0], "x": [400], "y": [0], "p": [1]}
    with pytest.raises(ValueError, match="outside"):
        write_hardvs(path, ev)
    write_hardvs(path, ev, sensor_size=None)
    with pytest.raises(CorruptFileError):
        read_hardvs(path)
    assert_events_equal(read_hardvs(path, sensor_size=None), ev)


def test_writer_dtype_override_and_overflow(tmp_path):
    path = tmp_path / "o.npz"
    write_hardvs(path, {"t": [1], "x": [2], "y": [3], "p": [1]}, dtypes={"t": np.uint32})
    with np.load(path) as npz:
        assert npz["t"].dtype == np.uint32
    with pytest.raises(ValueError, match="int8"):
        write_hardvs(path, {"t": [1], "x": [300], "y": [3], "p": [1]}, dtypes={"x": np.int8})


def test_split_file_round_trip(tmp_path):
    path = tmp_path / "train_label.txt"
    write_hardvs_split(
        path,
        [
            ("action_001", "dvSave-2021_10_15_19_18_02"),
            ("action_300", "dvSave-2021_11_01_10_00_00"),
            ("action_002", "x", 7),
        ],
    )
    assert path.read_text() == (
        "action_001/dvSave-2021_10_15_19_18_02 0\naction_300/dvSave-2021_11_01_10_00_00 299\naction_002/x 7\n"
    )
    assert read_hardvs_split(path) == [
        ("action_001", "dvSave-2021_10_15_19_18_02", "0"),
        ("action_300", "dvSave-2021_11_01_10_00_00", "299"),
        ("action_002", "x", "7"),
    ]


def test_split_file_tolerates_blank_lines_and_missing_label(tmp_path):
    path = tmp_path / "val_label.txt"
    path.write_text("action_005/dvSave-a 4\r\n\naction_006/dvSave-b\n")
    assert read_hardvs_split(path) == [("action_005", "dvSave-a", "4"), ("action_006", "dvSave-b", None)]


def test_bad_split_file(tmp_path):
    path = tmp_path / "test_label.txt"
    path.write_text("action_001/dvSave-a 0\nno-slash-here 1\n")
    with pytest.raises(CorruptFileError, match="line 2"):
        read_hardvs_split(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CorruptFileError, match="test_label.txt"):
        read_hardvs_split(path)
    with pytest.raises(ValueError):
        write_hardvs_split(tmp_path / "w.txt", [("action_001", "a b")])
    with pytest.raises(ValueError):
        write_hardvs_split(tmp_path / "w.txt", [("walk", "a")])
