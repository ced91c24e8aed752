"""AEDAT 2.0 event files of a DVS128 (CIFAR10-DVS).

Byte layout
-----------
1. An ASCII header: lines that start with ``#`` and end with ``\\n`` (jAER writes ``\\r\\n``).
   The first line is the version magic ``#!AER-DAT2.0``; jAER adds comment lines such as
   ``# This is a raw AE data file - do not edit``.
2. The events, 8 bytes each, **big-endian**: a 32-bit unsigned *address* followed by a
   32-bit unsigned *timestamp* in microseconds. A body whose size is not a multiple of 8
   means a truncated file.

DVS128 address bits (as decoded by SpikingJelly's ``CIFAR10DVS.load_origin_data``)::

    bit  0       raw polarity  a & 0x1
    bits 1-7     raw x         (a & 0xFE) >> 1
    bits 8-14    raw y         (a & 0x7F00) >> 8
    bits 15-31   not used: ignored, as SpikingJelly does

``convention='spikingjelly'`` (default) returns exactly SpikingJelly's events for
CIFAR10-DVS, a transpose plus flips of the raw address (see SpikingJelly issue #50 and
events-tfds PR #1 on this orientation)::

    x = 127 - raw_y,   y = 127 - raw_x,   p = 1 - raw_p

``convention='raw'`` returns ``x = raw_x, y = raw_y, p = raw_p`` (tonic's ``read_dvs_128``).
Coordinates are masked to 7 bits, so they always lie in the 128 x 128 sensor.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from ..errors import CorruptFileError
from ..events import empty_events
from ._io_common import check_fits, events_for_writing, read_file_bytes

__all__ = [
    "AEDAT2_MAGIC",
    "AEDAT2_DEFAULT_HEADER",
    "AEDAT2_SENSOR_SIZE",
    "parse_aedat2_header",
    "decode_aedat2_raw",
    "decode_aedat2",
    "encode_aedat2",
    "read_aedat2",
    "write_aedat2",
]

AEDAT2_MAGIC = b"#!AER-DAT2."
"""Start of the first header line of an AEDAT 2.x file."""
AEDAT2_SENSOR_SIZE = (128, 128)
"""``(width, height)`` of the DVS128."""
AEDAT2_DEFAULT_HEADER = (
    "#!AER-DAT2.0",
    "# This is a raw AE data file - do not edit",
    "# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event",
    "# Timestamps tick is 1 us",
    "# created Thu Jan 01 00:00:00 CST 2015",
)
"""Header lines written by :func:`write_aedat2` (jAER style, each ended with ``\\r\\n``)."""

Convention = Literal["spikingjelly", "raw"]
_EVENT_DTYPE = np.dtype([("address", ">u4"), ("timestamp", ">u4")])


def parse_aedat2_header(
    data: bytes | bytearray | memoryview, *, source: str | os.PathLike = "<bytes>"
) -> tuple[list[str], int]:
    """Parse the ``#`` header of an AEDAT 2.x file.

    Args:
        data: The file's bytes.
        source: Name of the file, used in error messages.

    Returns:
        ``(lines, data_offset)``: the header lines without their line ends, and the byte
        offset of the first event.

    Raises:
        CorruptFileError: If the file does not start with ``#!AER-DAT2.`` or a header line
            has no end of line.
    """
    buf = bytes(data)
    if not buf.startswith(AEDAT2_MAGIC):
        head = buf[:16]
        if buf.startswith(b"#!AER-DAT"):
            version = buf[9 : buf.find(b"\n")].strip().decode("ascii", "replace")
            raise CorruptFileError(source, f"AEDAT version {version} is not 2.x")
        raise CorruptFileError(source, f"not an AEDAT 2.0 file: it starts with {head!r}, not b'#!AER-DAT2.0'")
    lines: list[str] = []
    pos = 0
    while pos < len(buf) and buf[pos : pos + 1] == b"#":
        end = buf.find(b"\n", pos)
        if end < 0:
            raise CorruptFileError(source, f"header line at byte {pos} has no end of line (truncated header)")
        lines.append(buf[pos:end].rstrip(b"\r").decode("latin-1"))
        pos = end + 1
    return lines, pos


def decode_aedat2_raw(
    data: bytes | bytearray | memoryview, *, source: str | os.PathLike = "<bytes>"
) -> tuple[np.ndarray, np.ndarray]:
    """Return the raw ``(address, timestamp)`` arrays (``uint32``) of an AEDAT 2.x file.

    Raises:
        CorruptFileError: On a bad header or a body that is not a multiple of 8 bytes.
    """
    _, offset = parse_aedat2_header(data, source=source)
    body = memoryview(data)[offset:]
    if len(body) % _EVENT_DTYPE.itemsize:
        raise CorruptFileError(
            source,
            f"event data of {len(body)} bytes (from byte {offset}) is not a multiple of 8: "
            f"the file is truncated ({len(body) % 8} stray bytes)",
        )
    rec = np.frombuffer(body, dtype=_EVENT_DTYPE)
    return rec["address"].astype(np.uint32), rec["timestamp"].astype(np.uint32)


def decode_aedat2(
    data: bytes | bytearray | memoryview,
    *,
    source: str | os.PathLike = "<bytes>",
    convention: Convention = "spikingjelly",
) -> dict[str, np.ndarray]:
    """Decode the bytes of a DVS128 AEDAT 2.0 file (layout in the module docstring).

    Args:
        data: The file's bytes.
        source: Name of the file, used in error messages.
        convention: ``'spikingjelly'`` (CIFAR10-DVS orientation, default) or ``'raw'``.

    Returns:
        Events ``{'t', 'x', 'y', 'p'}`` in file order.

    Raises:
        CorruptFileError: On a bad header or a truncated body.
        ValueError: On an unknown ``convention``.
    """
    if convention not in ("spikingjelly", "raw"):
        raise ValueError(f"convention must be 'spikingjelly' or 'raw', got {convention!r}")
    address, timestamp = decode_aedat2_raw(data, source=source)
    if address.size == 0:
        return empty_events()
    raw_p = (address & 0x1).astype(np.uint8)
    raw_x = ((address >> 1) & 0x7F).astype(np.int16)
    raw_y = ((address >> 8) & 0x7F).astype(np.int16)
    t = timestamp.astype(np.int64)
    if convention == "raw":
        return {"t": t, "x": raw_x, "y": raw_y, "p": raw_p}
    return {"t": t, "x": 127 - raw_y, "y": 127 - raw_x, "p": 1 - raw_p}


def read_aedat2(path: str | os.PathLike, *, convention: Convention = "spikingjelly") -> dict[str, np.ndarray]:
    """Read a CIFAR10-DVS (DVS128) AEDAT 2.0 file (see :func:`decode_aedat2`).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        CorruptFileError: On a wrong magic, a truncated header or body (names the file).
    """
    return decode_aedat2(read_file_bytes(path), source=path, convention=convention)


def encode_aedat2(
    events: Any,
    *,
    convention: Convention = "spikingjelly",
    header_lines: tuple[str, ...] | list[str] = AEDAT2_DEFAULT_HEADER,
) -> bytes:
    """Encode DVS128 events as the bytes of an AEDAT 2.0 file.

    Args:
        events: Dict of ``t`` (0 .. 2**32-1 µs), ``x``, ``y`` (0..127), ``p``.
        convention: How ``x, y, p`` map to the address (the inverse of the reader's).
        header_lines: Header lines (the first must start with ``#!AER-DAT2.``; every line
            must start with ``#``), written with ``\\r\\n``.

    Returns:
        The file content.

    Raises:
        ValueError: On coordinates outside 0..127, time stamps outside 32 bits or a bad header.
    """
    if convention not in ("spikingjelly", "raw"):
        raise ValueError(f"convention must be 'spikingjelly' or 'raw', got {convention!r}")
    lines = list(header_lines)
    if not lines or not lines[0].encode("latin-1").startswith(AEDAT2_MAGIC):
        raise ValueError("the first header line must start with '#!AER-DAT2.'")
    for line in lines:
        if not line.startswith("#") or "\n" in line or "\r" in line:
            raise ValueError(f"header line {line!r} must start with '#' and hold no line break")
    ev = events_for_writing(events)
    t, x, y, p = ev["t"], ev["x"].astype(np.uint32), ev["y"].astype(np.uint32), ev["p"].astype(np.uint32)
    check_fits("x", ev["x"], 0, 127, "the DVS128 (7 bits)")
    check_fits("y", ev["y"], 0, 127, "the DVS128 (7 bits)")
    check_fits("t", t, 0, 0xFFFFFFFF, "32 bits in AEDAT 2.0")
    if convention == "spikingjelly":
        raw_x, raw_y, raw_p = 127 - y, 127 - x, 1 - p
    else:
        raw_x, raw_y, raw_p = x, y, p
    rec = np.empty(t.size, dtype=_EVENT_DTYPE)
    rec["address"] = (raw_y << 8) | (raw_x << 1) | raw_p
    rec["timestamp"] = t.astype(np.uint32)
    head = "".join(line + "\r\n" for line in lines).encode("latin-1")
    return head + rec.tobytes()


def write_aedat2(
    path: str | os.PathLike,
    events: Any,
    *,
    convention: Convention = "spikingjelly",
    header_lines: tuple[str, ...] | list[str] = AEDAT2_DEFAULT_HEADER,
) -> None:
    """Write DVS128 events to ``path`` as an AEDAT 2.0 file (see :func:`encode_aedat2`)."""
    data = encode_aedat2(events, convention=convention, header_lines=header_lines)
    with open(path, "wb") as f:
        f.write(data)
