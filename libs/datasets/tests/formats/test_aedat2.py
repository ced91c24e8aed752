"""Tests of the AEDAT 2.0 (DVS128, CIFAR10-DVS) reader/writer."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from jelly.datasets.errors import CorruptFileError
from jelly.datasets.events import EVENT_DTYPES
from jelly.datasets.formats.aedat2 import (
    decode_aedat2,
    decode_aedat2_raw,
    encode_aedat2,
    parse_aedat2_header,
    read_aedat2,
    write_aedat2,
)
from jelly.datasets.testing import assert_events_equal
from jelly.datasets.testing import random_events as _random_events

HEADER = b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n"


@pytest.mark.parametrize("convention", ["spikingjelly", "raw"])
def test_round_trip(tmp_path, convention):
    rng = np.random.default_rng(20)
    ev = random_events(rng, 5000)
    path = tmp_path / "cifar10_airplane_0.aedat"
    write_aedat2(path, ev, convention=convention)
    assert_events_equal(read_aedat2(path, convention=convention), ev)

random_events = partial(_random_events, sensor_size=(128, 128), t_max=2**32)


def test_written_header_is_jaer_style():
    data = encode_aedat2({"t": [1], "x": [2], "y": [3], "p": [1]})
    assert data.startswith(b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n")
    lines, offset = parse_aedat2_header(data)
    assert lines[0] == "#!AER-DAT2.0" and len(lines) == 5
    assert len(data) == offset + 8


def test_hand_crafted_bytes():
    # address 0x0507: raw_y = 5, raw_x = 3, raw_p = 1; timestamp 0x01020304 (big-endian)
    # address 0x7F00: raw_y = 127, raw_x = 0, raw_p = 0; bits >= 15 (0x00FF8000) are ignored
    body = bytes([0, 0, 0x05, 0x07, 1, 2, 3, 4]) + bytes([0x00, 0xFF, 0xFF, 0x00, 0, 0, 0, 9])
    data = HEADER + body
    addr, ts = decode_aedat2_raw(data)
    np.testing.assert_array_equal(addr, [0x0507, 0x00FFFF00])
    np.testing.assert_array_equal(ts, [0x01020304, 9])
    assert_events_equal(
        decode_aedat2(data, convention="raw"), {"t": [0x01020304, 9], "x": [3, 0], "y": [5, 127], "p": [1, 0]}
    )
    # SpikingJelly's CIFAR10-DVS orientation: x = 127 - raw_y, y = 127 - raw_x, p = 1 - raw_p
    assert_events_equal(decode_aedat2(data), {"t": [0x01020304, 9], "x": [122, 0], "y": [124, 127], "p": [0, 1]})


def test_empty_stream(tmp_path):
    path = tmp_path / "empty.aedat"
    write_aedat2(path, {"t": [], "x": [], "y": [], "p": []})
    got = read_aedat2(path)
    assert all(got[k].size == 0 and got[k].dtype == EVENT_DTYPES[k] for k in "txyp")


@pytest.mark.parametrize("cut", [1, 4, 7])
def test_truncated_body(tmp_path, cut):
    path = tmp_path / "cut.aedat"
    path.write_bytes(encode_aedat2({"t": [1, 2], "x": [1, 2], "y": [1, 2], "p": [0, 1]})[:-cut])
    with pytest.raises(CorruptFileError, match=r"cut\.aedat.*truncated"):
        read_aedat2(path)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "not an AEDAT 2.0 file"),
        (b"\x00\x00\x05\x07\x01\x02\x03\x04", "not an AEDAT 2.0 file"),
        (b"#!AER-DAT3.1\r\n#!END-HEADER\r\n", "version 3.1 is not 2.x"),
        (b"#!AER-DAT2.0\r\n# comment without end", "no end of line"),
    ],
)
def test_bad_header(tmp_path, data, match):
    path = tmp_path / "bad.aedat"
    path.write_bytes(data)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_aedat2(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    "ev, match",
    [
        ({"t": [0], "x": [128], "y": [0], "p": [0]}, "x"),
        ({"t": [0], "x": [0], "y": [-1], "p": [0]}, "y"),
        ({"t": [2**32], "x": [0], "y": [0], "p": [0]}, "32 bits"),
    ],
)
def test_writer_rejects_unencodable(ev, match):
    with pytest.raises(ValueError, match=match):
        encode_aedat2(ev)


def test_writer_rejects_bad_header_lines():
    ev = {"t": [0], "x": [0], "y": [0], "p": [0]}
    with pytest.raises(ValueError, match="AER-DAT2"):
        encode_aedat2(ev, header_lines=["# no magic"])
    with pytest.raises(ValueError, match="start with '#'"):
        encode_aedat2(ev, header_lines=["#!AER-DAT2.0", "oops"])


def test_million_events(tmp_path):
    rng = np.random.default_rng(21)
    ev = random_events(rng, 1_000_000)
    path = tmp_path / "large.aedat"
    write_aedat2(path, ev)
    assert_events_equal(read_aedat2(path), ev)
