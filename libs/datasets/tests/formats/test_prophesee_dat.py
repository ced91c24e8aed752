"""Tests of the ATIS / Prophesee .dat reader/writer (Nav Gesture)."""

from __future__ import annotations

import numpy as np
import pytest

from jelly.datasets.errors import CorruptFileError
from jelly.datasets.events import EVENT_DTYPES
from jelly.datasets.formats.prophesee_dat import (
    decode_prophesee_dat,
    encode_prophesee_dat,
    parse_prophesee_dat_header,
    read_prophesee_dat,
    write_prophesee_dat,
)
from jelly.datasets.testing import assert_events_equal
from jelly.datasets.testing import random_events as _random_events


def random_events(rng, n, width=304, height=240):
    return _random_events(rng, n, (width, height), 2**32)


@pytest.mark.parametrize("version, width, height", [(1, 304, 240), (2, 1280, 720)])
@pytest.mark.parametrize("header", [True, False])
def test_round_trip(tmp_path, version, width, height, header):
    rng = np.random.default_rng(10)
    ev = random_events(rng, 3000, width, height)
    path = tmp_path / "user01_do_01_td.dat"
    write_prophesee_dat(path, ev, version=version, width=width, height=height, header=header)
    got = read_prophesee_dat(
        path, version=None if header else version, sensor_size=None if header else (width, height)
    )
    assert_events_equal(got, ev)


def test_header_is_parsed_and_text_is_as_documented(tmp_path):
    data = encode_prophesee_dat({"t": [5], "x": [1], "y": [2], "p": [1]}, version=1)
    assert data.startswith(b"% Data file containing TD events\n% Version 1\n")
    h = parse_prophesee_dat_header(data)
    assert (h.has_header, h.version, h.width, h.height, h.event_type, h.event_size) == (
        True,
        1,
        304,
        240,
        0,
        8,
    )
    assert len(data) == h.data_offset + 8


def test_hand_crafted_version_1():
    # ts=1000, x=300, y=200, p=1 -> upper word 300 | 200 << 9 | 1 << 17 = 0x0003912C
    event = bytes([0xE8, 0x03, 0x00, 0x00, 0x2C, 0x91, 0x03, 0x00])
    # ts=7, x=0, y=0, p=0, with bit 50 ("second polarity bit", ignored) and padding bits set
    event2 = bytes([0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xF0])
    data = b"% Data file containing TD events\n% Date 2019-01-01 00:00:00\n" + bytes([0, 8]) + event + event2
    got = decode_prophesee_dat(data)
    assert_events_equal(got, {"t": [1000, 7], "x": [300, 0], "y": [200, 0], "p": [1, 0]})
    flipped = decode_prophesee_dat(data, flip_y=True)  # loris / tonic orientation
    np.testing.assert_array_equal(flipped["y"], [239 - 200, 239])
    assert_events_equal(decode_prophesee_dat(event + event2), got)  # headerless file (as loris accepts)


def test_hand_crafted_version_2():
    # ts=123456, x=1000, y=700, p=1
    event = bytes([0x40, 0xE2, 0x01, 0x00, 0xE8, 0x03, 0xAF, 0x10])
    data = b"% Version 2\r\n% Width 1280\r\n% Height 720\r\n" + bytes([12, 8]) + event
    assert_events_equal(decode_prophesee_dat(data), {"t": [123456], "x": [1000], "y": [700], "p": [1]})


def test_flip_y_round_trip():
    ev = {"t": [1, 2], "x": [3, 4], "y": [0, 239], "p": [1, 0]}
    data = encode_prophesee_dat(ev, flip_y=True)
    assert_events_equal(decode_prophesee_dat(data, flip_y=True), ev)
    np.testing.assert_array_equal(decode_prophesee_dat(data)["y"], [239, 0])


def test_empty_stream(tmp_path):
    path = tmp_path / "empty.dat"
    write_prophesee_dat(path, {"t": [], "x": [], "y": [], "p": []})
    got = read_prophesee_dat(path)
    assert all(got[k].size == 0 and got[k].dtype == EVENT_DTYPES[k] for k in "txyp")
    path.write_bytes(b"")  # a zero-byte file is an empty headerless stream
    assert read_prophesee_dat(path)["t"].size == 0


@pytest.mark.parametrize("cut", [1, 3, 7])
def test_truncated_body(tmp_path, cut):
    path = tmp_path / "cut.dat"
    path.write_bytes(encode_prophesee_dat({"t": [1, 2], "x": [1, 2], "y": [1, 2], "p": [0, 1]})[:-cut])
    with pytest.raises(CorruptFileError, match=r"cut\.dat.*truncated"):
        read_prophesee_dat(path)


@pytest.mark.parametrize(
    "data, match",
    [
        (b"% Version 1\n% Width 304", "no end of line"),
        (b"% Version 1\n", "event type and size"),
        (b"% Version 1\n\x00", "event type and size"),
        (b"% Version 1\n\x00\x04" + bytes(8), "event size byte is 4"),
        (b"% Version 9\n\x00\x08", "unsupported .dat version 9"),
        (b"% Version two\n\x00\x08", "Version is not an integer"),
        (b"% Width 0\n% Height 5\n\x00\x08", "Width must be positive"),
        (b"% Da\xfftum\n\x00\x08", "not ASCII"),
    ],
)
def test_bad_header(tmp_path, data, match):
    path = tmp_path / "bad.dat"
    path.write_bytes(data)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_prophesee_dat(path)
    assert "bad.dat" in str(info.value)


def test_version_2_polarity_must_be_binary():
    word = (5 | (3 << 60)).to_bytes(8, "little")
    with pytest.raises(CorruptFileError, match="polarity 3"):
        decode_prophesee_dat(b"% Version 2\n\x0c\x08" + word)


def test_out_of_sensor(tmp_path):
    path = tmp_path / "oob.dat"
    # a 304 x 240 file whose header claims a smaller sensor
    body = encode_prophesee_dat({"t": [1, 2], "x": [10, 300], "y": [5, 6], "p": [0, 1]}, header=False)
    path.write_bytes(b"% Version 1\n% Width 100\n% Height 100\n\x00\x08" + body)
    with pytest.raises(CorruptFileError, match=r"oob\.dat.*1 of 2 events.*x=300"):
        read_prophesee_dat(path)
    np.testing.assert_array_equal(read_prophesee_dat(path, out_of_range="drop")["x"], [10])
    assert read_prophesee_dat(path, sensor_size=(304, 240))["x"].size == 2  # explicit size wins


def test_headerless_garbage_is_caught_by_the_sensor_check():
    # y = 255 cannot exist on the default 304 x 240 ATIS
    word = (1 | (255 << 41)).to_bytes(8, "little")
    with pytest.raises(CorruptFileError, match="outside the sensor"):
        decode_prophesee_dat(word)


@pytest.mark.parametrize(
    "ev, kw, match",
    [
        ({"t": [0], "x": [304], "y": [0], "p": [0]}, {}, "width 304"),
        ({"t": [0], "x": [0], "y": [240], "p": [0]}, {}, "height 240"),
        ({"t": [2**32], "x": [0], "y": [0], "p": [0]}, {}, "32 bits"),
        ({"t": [0], "x": [0], "y": [0], "p": [0]}, {"width": 600}, "does not fit"),
        ({"t": [0], "x": [0], "y": [0], "p": [0]}, {"version": 3}, "version"),
    ],
)
def test_writer_rejects_unencodable(ev, kw, match):
    with pytest.raises(ValueError, match=match):
        encode_prophesee_dat(ev, **kw)


def test_million_events(tmp_path):
    rng = np.random.default_rng(11)
    ev = random_events(rng, 1_000_000)
    path = tmp_path / "large.dat"
    write_prophesee_dat(path, ev)
    assert_events_equal(read_prophesee_dat(path), ev)
