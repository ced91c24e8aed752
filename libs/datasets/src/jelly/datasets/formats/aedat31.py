"""AEDAT 3.1 event files (DVS128 Gesture), polarity events only.

Byte layout (little-endian)
---------------------------
1. An ASCII header: lines that start with ``#`` and end with ``\\r\\n``; the first is the
   version magic ``#!AER-DAT3.1``, the last is exactly ``#!END-HEADER\\r\\n`` (cAER writes
   e.g. ``#Format: RAW``, ``#Source 1: DVS128``, ``#Start-Time: ...`` in between).
2. Packets, back to back, each a 28-byte header followed by ``eventCapacity * eventSize``
   bytes of events::

       offset  type    field
       0       uint16  eventType        1 = polarity events (others are skipped)
       2       uint16  eventSource      id of the device (1 in DVS128 Gesture)
       4       uint32  eventSize        bytes per event (8 for polarity events)
       8       uint32  eventTSOffset    byte offset of the timestamp inside an event (4)
       12      uint32  eventTSOverflow  high part of the time stamps of this packet
       16      uint32  eventCapacity    slots in the packet (sets its byte size)
       20      uint32  eventNumber      events present (<= eventCapacity)
       24      uint32  eventValid       events whose valid bit is set (<= eventNumber)

   A polarity event is two little-endian 32-bit words::

       data:       bit 0 valid mark, bit 1 polarity, bits 2-16 y (15 bits),
                   bits 17-31 x (15 bits)
       timestamp:  int32, microseconds, non-negative

   and its full time stamp is ``t = (eventTSOverflow << 31) | timestamp``.

Only polarity packets (``eventType == 1``) are decoded; every other packet is skipped by its
byte size. Of a polarity packet, the first ``eventNumber`` events are read and those whose
valid bit is 0 are dropped (the format marks them as invalid). SpikingJelly instead keeps
all ``eventCapacity`` events and ignores the valid bit; both rules give the same events for
full packets of valid events (``eventCapacity == eventNumber == eventValid``), which is what
cAER-written files such as DVS128 Gesture's are expected to hold (not verified here on the
real files, which were not available offline).
A packet that runs past the end of the file, a polarity packet with ``eventSize != 8`` or
``eventTSOffset != 4``, ``eventNumber > eventCapacity``, a missing ``#!END-HEADER`` line or
a wrong magic raise :class:`~jelly.datasets.errors.CorruptFileError` naming the file. The
Python loop runs over packets (their headers only); the events are decoded vectorized.

For the DVS128 Gesture label files (``*_labels.csv``) see :mod:`.dvs_gesture_labels`.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..events import empty_events
from ._io_common import OutOfRange, check_coordinates, check_fits, events_for_writing, read_file_bytes

__all__ = [
    "AEDAT31_MAGIC",
    "AEDAT31_END_HEADER",
    "AEDAT31_DEFAULT_HEADER",
    "AEDAT31_PACKET_HEADER",
    "POLARITY_EVENT_TYPE",
    "parse_aedat31_header",
    "decode_aedat31",
    "encode_aedat31",
    "read_aedat31",
    "write_aedat31",
]

AEDAT31_MAGIC = b"#!AER-DAT3."
"""Start of the first header line of an AEDAT 3.x file."""
AEDAT31_END_HEADER = b"#!END-HEADER\r\n"
"""The line that ends the text header."""
AEDAT31_DEFAULT_HEADER = (
    "#!AER-DAT3.1",
    "#Format: RAW",
    "#Source 1: DVS128",
    "#Start-Time: 2017-01-01 00:00:00 (TZ+0000)",
)
"""Header lines written by :func:`write_aedat31` before ``#!END-HEADER`` (each with ``\\r\\n``)."""
AEDAT31_PACKET_HEADER = struct.Struct("<HHIIIIII")
"""The 28-byte packet header (type, source, size, ts offset, ts overflow, capacity, number, valid)."""
POLARITY_EVENT_TYPE = 1
"""``eventType`` of polarity packets."""

_POLARITY_EVENT_SIZE = 8
_POLARITY_TS_OFFSET = 4


def parse_aedat31_header(
    data: bytes | bytearray | memoryview, *, source: str | os.PathLike = "<bytes>"
) -> tuple[list[str], int]:
    """Parse the text header of an AEDAT 3.x file.

    Args:
        data: The file's bytes.
        source: Name of the file, used in error messages.

    Returns:
        ``(lines, data_offset)``: the header lines (without line ends, the end marker
        included) and the byte offset of the first packet.

    Raises:
        CorruptFileError: On a wrong magic, a header line not starting with ``#``, or no
            ``#!END-HEADER`` line.
    """
    buf = bytes(data)
    if not buf.startswith(AEDAT31_MAGIC):
        raise CorruptFileError(
            source, f"not an AEDAT 3.x file: it starts with {buf[:16]!r}, not b'#!AER-DAT3.1'"
        )
    lines: list[str] = []
    pos = 0
    while True:
        end = buf.find(b"\n", pos)
        if end < 0:
            raise CorruptFileError(source, "no '#!END-HEADER' line: the header is truncated")
        line = buf[pos : end + 1]
        if not line.startswith(b"#"):
            raise CorruptFileError(
                source,
                f"header line at byte {pos} does not start with '#' "
                "and no '#!END-HEADER' line came before it",
            )
        lines.append(line.rstrip(b"\r\n").decode("latin-1"))
        pos = end + 1
        if line.rstrip(b"\r\n") == AEDAT31_END_HEADER.rstrip(b"\r\n"):
            return lines, pos


def decode_aedat31(
    data: bytes | bytearray | memoryview,
    *,
    source: str | os.PathLike = "<bytes>",
    sensor_size: Any = None,
    out_of_range: OutOfRange = "raise",
) -> dict[str, np.ndarray]:
    """Decode the polarity events of an AEDAT 3.1 file (layout in the module docstring).

    Args:
        data: The file's bytes.
        source: Name of the file, used in error messages.
        sensor_size: ``(width, height)`` to check against, ``(128, 128)`` for DVS128
            Gesture; ``None`` skips the check.
        out_of_range: ``'raise'`` or ``'drop'`` events outside the sensor.

    Returns:
        Events ``{'t', 'x', 'y', 'p'}`` in file order.

    Raises:
        CorruptFileError: On a bad header, bad packet sizes, a truncated packet, a negative
            32-bit time stamp or out-of-range events.
    """
    _, pos = parse_aedat31_header(data, source=source)
    mv = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    total = len(mv)
    hsize = AEDAT31_PACKET_HEADER.size
    chunks: list[np.ndarray] = []
    overflows: list[int] = []
    counts: list[int] = []
    packet = 0
    while pos < total:
        if total - pos < hsize:
            raise CorruptFileError(
                source,
                f"packet #{packet} at byte {pos}: only {total - pos} bytes left for its 28-byte header "
                "(the file is truncated)",
            )
        etype, _src, esize, tsoff, tsovf, cap, number, valid = AEDAT31_PACKET_HEADER.unpack_from(mv, pos)
        where = f"packet #{packet} at byte {pos}"
        if number > cap or valid > number:
            raise CorruptFileError(
                source,
                f"{where}: eventNumber {number}, eventValid {valid}, eventCapacity {cap} are inconsistent",
            )
        if esize == 0 and cap > 0:
            raise CorruptFileError(source, f"{where}: eventSize is 0")
        body = pos + hsize
        end = body + cap * esize
        if end > total:
            raise CorruptFileError(
                source,
                f"{where}: needs {cap * esize} bytes of events but only {total - body} remain "
                "(the file is truncated)",
            )
        if etype == POLARITY_EVENT_TYPE:
            if esize != _POLARITY_EVENT_SIZE or tsoff != _POLARITY_TS_OFFSET:
                raise CorruptFileError(
                    source,
                    f"{where}: polarity packet with eventSize {esize} and eventTSOffset {tsoff} "
                    f"(expected {_POLARITY_EVENT_SIZE} and {_POLARITY_TS_OFFSET})",
                )
            if number:
                chunks.append(np.frombuffer(mv, dtype="<u4", count=2 * number, offset=body))
                overflows.append(tsovf)
                counts.append(number)
        pos = end
        packet += 1
    if not chunks:
        return empty_events()
    words = np.concatenate(chunks).reshape(-1, 2)
    data_word, ts = words[:, 0], words[:, 1]
    if (ts >> 31).any():
        i = int(np.flatnonzero(ts >> 31)[0])
        raise CorruptFileError(source, f"polarity event #{i} has a negative 32-bit time stamp ({int(ts[i])})")
    high = np.repeat(np.asarray(overflows, dtype=np.int64), counts) << 31
    valid_mask = (data_word & 0x1).astype(bool)
    t = high | ts.astype(np.int64)
    x = ((data_word >> 17) & 0x7FFF).astype(np.int16)
    y = ((data_word >> 2) & 0x7FFF).astype(np.int16)
    p = ((data_word >> 1) & 0x1).astype(np.uint8)
    if not valid_mask.all():
        t, x, y, p = t[valid_mask], x[valid_mask], y[valid_mask], p[valid_mask]
    mask = check_coordinates(source, x, y, sensor_size, out_of_range)
    if mask is not None:
        t, x, y, p = t[mask], x[mask], y[mask], p[mask]
    return {"t": t, "x": x, "y": y, "p": p}


def read_aedat31(
    path: str | os.PathLike, *, sensor_size: Any = None, out_of_range: OutOfRange = "raise"
) -> dict[str, np.ndarray]:
    """Read the polarity events of an AEDAT 3.1 file (DVS128 Gesture; see :func:`decode_aedat31`).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        CorruptFileError: On a bad header, bad or truncated packets, out-of-range events
            (names the file).
    """
    return decode_aedat31(
        read_file_bytes(path), source=path, sensor_size=sensor_size, out_of_range=out_of_range
    )


def encode_aedat31(
    events: Any,
    *,
    events_per_packet: int = 4096,
    source_id: int = 1,
    header_lines: tuple[str, ...] | list[str] = AEDAT31_DEFAULT_HEADER,
) -> bytes:
    """Encode events as the bytes of an AEDAT 3.1 file of polarity packets.

    A new packet starts every ``events_per_packet`` events and wherever ``t >> 31`` (the
    packet's ``eventTSOverflow``) changes. Every event gets its valid bit set, and every
    packet has ``eventCapacity == eventNumber == eventValid``.

    Args:
        events: Dict of ``t`` (>= 0 µs), ``x``, ``y`` (0 .. 32767), ``p``.
        events_per_packet: Maximum events per packet (>= 1).
        source_id: The packets' ``eventSource``.
        header_lines: Header lines before ``#!END-HEADER`` (the first must start with
            ``#!AER-DAT3.``; every line must start with ``#``).

    Returns:
        The file content.

    Raises:
        ValueError: On values the format cannot hold, or bad arguments.
    """
    if events_per_packet < 1:
        raise ValueError(f"events_per_packet must be >= 1, got {events_per_packet}")
    lines = list(header_lines)
    if not lines or not lines[0].encode("latin-1").startswith(AEDAT31_MAGIC):
        raise ValueError("the first header line must start with '#!AER-DAT3.'")
    for line in lines:
        if not line.startswith("#") or "\n" in line or "\r" in line or line == "#!END-HEADER":
            raise ValueError(
                f"bad header line {line!r}: must start with '#', hold no line break, not end the header"
            )
    ev = events_for_writing(events)
    t, x, y, p = ev["t"], ev["x"], ev["y"], ev["p"]
    check_fits("x", x, 0, 0x7FFF, "15 bits in AEDAT 3.1")
    check_fits("y", y, 0, 0x7FFF, "15 bits in AEDAT 3.1")
    check_fits(
        "t", t, 0, (0xFFFFFFFF << 31) | 0x7FFFFFFF, "AEDAT 3.1 (32-bit overflow counter, 31-bit stamp)"
    )
    head = ("".join(line + "\r\n" for line in lines)).encode("latin-1") + AEDAT31_END_HEADER
    n = t.size
    if n == 0:
        return head
    words = np.empty((n, 2), dtype="<u4")
    words[:, 0] = (
        (x.astype(np.uint32) << 17) | (y.astype(np.uint32) << 2) | (p.astype(np.uint32) << 1) | np.uint32(1)
    )
    words[:, 1] = (t & 0x7FFFFFFF).astype(np.uint32)
    overflow = t >> 31
    starts = np.flatnonzero(np.diff(overflow)) + 1
    bounds = np.concatenate(([0], starts, [n]))
    parts = [head]
    for a, b in zip(bounds[:-1], bounds[1:]):
        for s in range(int(a), int(b), events_per_packet):
            e = min(s + events_per_packet, int(b))
            k = e - s
            parts.append(
                AEDAT31_PACKET_HEADER.pack(
                    POLARITY_EVENT_TYPE,
                    source_id,
                    _POLARITY_EVENT_SIZE,
                    _POLARITY_TS_OFFSET,
                    int(overflow[s]),
                    k,
                    k,
                    k,
                )
            )
            parts.append(words[s:e].tobytes())
    return b"".join(parts)


def write_aedat31(
    path: str | os.PathLike,
    events: Any,
    *,
    events_per_packet: int = 4096,
    source_id: int = 1,
    header_lines: tuple[str, ...] | list[str] = AEDAT31_DEFAULT_HEADER,
) -> None:
    """Write events to ``path`` as an AEDAT 3.1 file (see :func:`encode_aedat31`)."""
    data = encode_aedat31(
        events, events_per_packet=events_per_packet, source_id=source_id, header_lines=header_lines
    )
    with open(path, "wb") as f:
        f.write(data)
