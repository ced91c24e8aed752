"""Tests of the ATIS 40-bit .bin reader/writer (N-MNIST, N-Caltech101)."""

from __future__ import annotations

import numpy as np
import pytest

from jelly.datasets.errors import CorruptFileError
from jelly.datasets.events import EVENT_DTYPES
from jelly.datasets.formats.atis_bin import (
    ATIS_OVERFLOW_INCREMENT_US,
    decode_atis_bin,
    encode_atis_bin,
    read_atis_bin,
    write_atis_bin,
)
from jelly.datasets.testing import assert_events_equal
from jelly.datasets.testing import random_events as _random_events


def random_events(rng, n, t_max, width=34, height=34, sort=True):
    return _random_events(rng, n, (width, height), t_max, sort)


@pytest.mark.parametrize("markers", ["minimal", "periodic"])
@pytest.mark.parametrize("t_max", [300_000, 5 * 2**23])  # N-MNIST-like, and past the 23-bit range
def test_round_trip(tmp_path, markers, t_max):
    rng = np.random.default_rng(1)
    ev = random_events(rng, 2000, t_max, width=240, height=180)
    path = tmp_path / "00002.bin"
    write_atis_bin(path, ev, overflow_markers=markers)
    got = read_atis_bin(path, sensor_size=(240, 180))
    assert_events_equal(got, ev)
    n_records = path.stat().st_size // 5
    if markers == "periodic":
        assert n_records == 2000 + ev["t"][-1] // ATIS_OVERFLOW_INCREMENT_US
    elif t_max < 2**23:
        assert n_records == 2000  # no marker needed


def test_minimal_markers_are_needed_and_used():
    ev = {
        "t": [0, 2**23 - 1, 2**23, 2**23 + 5 * 8192],
        "x": [1, 2, 3, 4],
        "y": [0, 0, 0, 0],
        "p": [1, 0, 1, 0],
    }
    data = encode_atis_bin(ev)
    rec = np.frombuffer(data, np.uint8).reshape(-1, 5)
    assert (rec[:, 1] == 240).sum() == 6  # 1 marker before event 2, 5 more before event 3
    assert_events_equal(decode_atis_bin(data), ev)


def test_unsorted_times_below_23_bits_round_trip():
    rng = np.random.default_rng(2)
    ev = random_events(rng, 500, 2**23, sort=False)
    assert_events_equal(decode_atis_bin(encode_atis_bin(ev)), ev)


def test_polarity_minus_one_is_normalised():
    ev = {"t": [1, 2, 3], "x": [0, 1, 2], "y": [3, 4, 5], "p": [-1, 1, -1]}
    got = decode_atis_bin(encode_atis_bin(ev))
    np.testing.assert_array_equal(got["p"], [0, 1, 0])
    assert got["p"].dtype == np.uint8


def test_hand_crafted_bytes():
    data = bytes(
        [5, 7, 0x80 | 0x01, 0x23, 0x45]  # x=5 y=7 p=1 ts=0x012345
        + [0, 0, 0x7F, 0xFF, 0xFF]  # x=0 y=0 p=0 ts=2**23-1
        + [9, 240, 0x81, 0x99, 0x99]  # overflow marker (its other bits are ignored)
        + [1, 2, 0x00, 0x00, 0x0A]  # x=1 y=2 p=0 ts=10 -> t = 10 + 8192
        + [0, 240, 0, 0, 0]  # second marker
        + [255, 239, 0xFF, 0xFF, 0xFF]  # x=255 y=239 p=1 ts=2**23-1 -> + 2*8192
    )
    got = decode_atis_bin(data)
    assert_events_equal(
        got,
        {
            "t": [0x012345, 2**23 - 1, 10 + 8192, 2**23 - 1 + 2 * 8192],
            "x": [5, 0, 1, 255],
            "y": [7, 0, 2, 239],
            "p": [1, 0, 0, 1],
        },
    )


def test_only_markers_gives_empty():
    got = decode_atis_bin(bytes([0, 240, 0, 0, 0]) * 3)
    assert all(got[k].size == 0 and got[k].dtype == EVENT_DTYPES[k] for k in "txyp")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.bin"
    write_atis_bin(path, {"t": [], "x": [], "y": [], "p": []})
    assert path.stat().st_size == 0
    got = read_atis_bin(path)
    assert all(got[k].size == 0 and got[k].dtype == EVENT_DTYPES[k] for k in "txyp")


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_truncated_file_names_the_file(tmp_path, cut):
    path = tmp_path / "cut.bin"
    path.write_bytes(encode_atis_bin({"t": [1, 2], "x": [1, 2], "y": [1, 2], "p": [0, 1]})[:-cut])
    with pytest.raises(CorruptFileError, match="cut.bin") as info:
        read_atis_bin(path)
    assert "truncated" in str(info.value)
    assert info.value.path == str(path)


def test_out_of_sensor_is_reported_or_dropped(tmp_path):
    path = tmp_path / "big.bin"
    write_atis_bin(path, {"t": [1, 2, 3], "x": [1, 40, 2], "y": [1, 2, 3], "p": [0, 1, 1]})
    with pytest.raises(CorruptFileError, match=r"big.bin.*1 of 3 events.*x=40"):
        read_atis_bin(path, sensor_size=(34, 34))
    got = read_atis_bin(path, sensor_size=(34, 34, 2), out_of_range="drop")
    np.testing.assert_array_equal(got["x"], [1, 2])
    assert read_atis_bin(path)["x"].size == 3  # no sensor size: no check


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"t": [0], "x": [256], "y": [0], "p": [0]}, "x"),
        ({"t": [0], "x": [0], "y": [240], "p": [0]}, "240"),
        ({"t": [-1], "x": [0], "y": [0], "p": [0]}, "t"),
        ({"t": [3 * 2**23, 0], "x": [0, 0], "y": [0, 0], "p": [0, 0]}, "decrease"),
        ({"t": [0], "x": [0], "y": [0], "p": [2]}, "polarity"),
    ],
)
def test_writer_rejects_unencodable(bad, match):
    with pytest.raises(ValueError, match=match):
        encode_atis_bin(bad)


def test_million_events(tmp_path):
    rng = np.random.default_rng(3)
    ev = random_events(rng, 1_000_000, 4 * 2**23, width=240, height=180)
    path = tmp_path / "large.bin"
    write_atis_bin(path, ev)
    assert_events_equal(read_atis_bin(path, sensor_size=(240, 180)), ev)
