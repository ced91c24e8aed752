"""Tests of the AEDAT 3.1 (DVS128 Gesture) reader/writer."""

from __future__ import annotations

import struct
from functools import partial

import numpy as np
import pytest

from jelly.datasets.errors import CorruptFileError
from jelly.datasets.events import EVENT_DTYPES
from jelly.datasets.formats.aedat31 import (
    decode_aedat31,
    encode_aedat31,
    parse_aedat31_header,
    read_aedat31,
    write_aedat31,
)
from jelly.datasets.testing import assert_events_equal
from jelly.datasets.testing import random_events as _random_events

HEADER = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def packet_header(etype, size, ts_offset, overflow, capacity, number, valid, source=1):
    # written with struct, independently of the module's own Struct
    return struct.pack("<hhiiiiii", etype, source, size, ts_offset, overflow, capacity, number, valid)


random_events = partial(_random_events, sensor_size=(128, 128), t_max=2**33)


@pytest.mark.parametrize("per_packet", [1, 7, 4096])
def test_round_trip_across_timestamp_overflow(tmp_path, per_packet):
    rng = np.random.default_rng(30)
    ev = random_events(rng, 3000)  # t up to 2**33: several eventTSOverflow values
    path = tmp_path / "user01_fluorescent.aedat"
    write_aedat31(path, ev, events_per_packet=per_packet)
    assert_events_equal(read_aedat31(path, sensor_size=(128, 128)), ev)


def test_written_layout():
    ev = {"t": [5, 2**31 + 6, 2**31 + 7], "x": [1, 2, 3], "y": [4, 5, 6], "p": [1, 0, 1]}
    data = encode_aedat31(ev, events_per_packet=10)
    lines, offset = parse_aedat31_header(data)
    assert lines[0] == "#!AER-DAT3.1" and lines[-1] == "#!END-HEADER"
    assert data[:offset].endswith(b"#!END-HEADER\r\n")
    # two packets: one per eventTSOverflow value
    h1 = struct.unpack_from("<HHIIIIII", data, offset)
    assert h1 == (1, 1, 8, 4, 0, 1, 1, 1)
    h2 = struct.unpack_from("<HHIIIIII", data, offset + 28 + 8)
    assert h2 == (1, 1, 8, 4, 1, 2, 2, 2)
    assert len(data) == offset + 28 + 8 + 28 + 16


def test_hand_crafted_bytes():
    # event 1: x=100, y=50, p=1, valid -> data 0x00C800CB; ts 0x7FFFFFFF with overflow 1
    e1 = bytes([0xCB, 0x00, 0xC8, 0x00]) + bytes([0xFF, 0xFF, 0xFF, 0x7F])
    # event 2: same but valid bit 0 -> dropped
    e2 = bytes([0xCA, 0x00, 0xC8, 0x00]) + bytes([0x01, 0x00, 0x00, 0x00])
    # event 3: x=0, y=127, p=0, valid -> data (127 << 2) | 1 = 0x1FD; ts 3
    e3 = bytes([0xFD, 0x01, 0x00, 0x00]) + bytes([0x03, 0x00, 0x00, 0x00])
    special = packet_header(0, 8, 4, 0, 2, 2, 2) + bytes(range(16))  # type 0: skipped
    pol = packet_header(1, 8, 4, 1, 3, 3, 2) + e1 + e2 + e3
    # a packet with spare capacity: 2 slots, 1 event; the unused slot holds garbage
    spare = packet_header(1, 8, 4, 2, 2, 1, 1) + e3 + bytes([0xFF] * 8)
    got = decode_aedat31(HEADER + special + pol + spare)
    assert_events_equal(
        got,
        {
            "t": [2**32 - 1, 2**31 + 3, 2**32 + 3],
            "x": [100, 0, 0],
            "y": [50, 127, 127],
            "p": [1, 0, 0],
        },
    )


def test_empty_streams(tmp_path):
    path = tmp_path / "empty.aedat"
    write_aedat31(path, {"t": [], "x": [], "y": [], "p": []})
    assert path.read_bytes().endswith(b"#!END-HEADER\r\n")
    got = read_aedat31(path)
    assert all(got[k].size == 0 and got[k].dtype == EVENT_DTYPES[k] for k in "txyp")
    # only a non-polarity packet, and an empty polarity packet
    data = HEADER + packet_header(2, 4, 0, 0, 1, 1, 1) + bytes(4) + packet_header(1, 8, 4, 0, 0, 0, 0)
    assert decode_aedat31(data)["t"].size == 0


@pytest.mark.parametrize(
    "tail, match",
    [
        (packet_header(1, 8, 4, 0, 2, 2, 2)[:20], "28-byte header"),
        (packet_header(1, 8, 4, 0, 2, 2, 2) + bytes(12), "needs 16 bytes"),
        (packet_header(1, 4, 4, 0, 1, 1, 1) + bytes(4), "eventSize 4"),
        (packet_header(1, 8, 0, 0, 1, 1, 1) + bytes(8), "eventTSOffset 0"),
        (packet_header(1, 8, 4, 0, 1, 2, 1) + bytes(8), "inconsistent"),
        (packet_header(1, 8, 4, 0, 2, 1, 2) + bytes(16), "inconsistent"),
        (packet_header(3, 0, 0, 0, 5, 5, 5), "eventSize is 0"),
        (packet_header(1, 8, 4, 0, 1, 1, 1) + bytes([1, 0, 0, 0, 0, 0, 0, 0x80]), "negative"),
    ],
)
def test_bad_packets(tmp_path, tail, match):
    path = tmp_path / "bad.aedat"
    path.write_bytes(HEADER + packet_header(1, 8, 4, 0, 1, 1, 1) + bytes([1, 0, 0, 0, 5, 0, 0, 0]) + tail)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_aedat31(path)
    assert info.value.path == str(path)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"", "not an AEDAT 3.x file"),
        (b"#!AER-DAT2.0\r\n", "not an AEDAT 3.x file"),
        (b"#!AER-DAT3.1\r\n#Format: RAW\r\n", "no '#!END-HEADER'"),
        (
            b"#!AER-DAT3.1\r\n" + packet_header(1, 8, 4, 0, 1, 1, 1) + b"\x01\0\0\0\n\0\0\0",
            "not start with '#'",
        ),
    ],
)
def test_bad_header(tmp_path, data, match):
    path = tmp_path / "hdr.aedat"
    path.write_bytes(data)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_aedat31(path)
    assert "hdr.aedat" in str(info.value)


def test_out_of_sensor(tmp_path):
    path = tmp_path / "oob.aedat"
    write_aedat31(path, {"t": [1, 2], "x": [5, 200], "y": [5, 6], "p": [0, 1]})
    with pytest.raises(CorruptFileError, match=r"oob\.aedat.*x=200"):
        read_aedat31(path, sensor_size=(128, 128))
    np.testing.assert_array_equal(read_aedat31(path, sensor_size=(128, 128), out_of_range="drop")["x"], [5])


@pytest.mark.parametrize(
    "ev, kw, match",
    [
        ({"t": [0], "x": [-1], "y": [0], "p": [0]}, {}, "15 bits"),
        ({"t": [-5], "x": [0], "y": [0], "p": [0]}, {}, "t"),
        ({"t": [0], "x": [0], "y": [0], "p": [0]}, {"events_per_packet": 0}, "events_per_packet"),
        ({"t": [0], "x": [0], "y": [0], "p": [0]}, {"header_lines": ["#!AER-DAT2.0"]}, "AER-DAT3"),
    ],
)
def test_writer_rejects_unencodable(ev, kw, match):
    with pytest.raises(ValueError, match=match):
        encode_aedat31(ev, **kw)


def test_million_events(tmp_path):
    rng = np.random.default_rng(31)
    ev = random_events(rng, 1_000_000, t_max=6_000_000)
    path = tmp_path / "large.aedat"
    write_aedat31(path, ev)  # 245 packets of up to 4096 events
    assert_events_equal(read_aedat31(path, sensor_size=(128, 128)), ev)
