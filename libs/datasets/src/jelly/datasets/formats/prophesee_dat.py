"""ATIS / Prophesee ``.dat`` event files (Nav Gesture's ``*.dat`` "td" recordings).

Byte layout (little-endian)
---------------------------
1. An optional ASCII header: lines that start with ``%`` (0x25) and end with ``\\n``, each a
   ``keyword value`` pair, e.g.::

       % Data file containing TD events
       % Version 1
       % Date 2019-01-01 00:00:00
       % Width 304
       % Height 240

   ``Version`` selects the bit layout below (absent: the legacy layout 1, as in loris /
   neuromorphic-paris' ``dat.hpp``, which tonic's ``NavGesture`` uses); ``Width`` and
   ``Height`` give the sensor size (absent: 304 x 240, the ATIS of Nav Gesture, for
   version 1; no size check for version 2).
2. Only if a header is present: two bytes, the *event type* (0 = TD / Event2d, 12 = CD,
   14 = external trigger in Prophesee's list; read and reported, not checked) and the
   *event size* (must be 8).
3. The events: 8 bytes each, read as one little-endian 64-bit word ``w``::

       bits  0-31  timestamp, unsigned, microseconds          (both versions)
       version 1 (legacy ATIS, Nav Gesture):
       bits 32-40  x (9 bits)   bits 41-48  y (8 bits)   bit 49  polarity
       bits 50-63  unused (the Nav Gesture description quoted in SpikingJelly's old
                   reader says "2 bits for polarity, 13 bits padding"; like loris, only
                   bit 49 is read)
       version 2 (Prophesee "DAT 2" CD events):
       bits 32-45  x (14 bits)  bits 46-59  y (14 bits)  bits 60-63  polarity (0 or 1)

A body whose size is not a multiple of 8 means a truncated file. Whether the Nav Gesture
release has the ``%`` header could not be checked offline; like loris, the reader accepts
files with and without it (a headerless file is read as version 1 from byte 0; garbage is
then caught by the sensor-size check).

Orientation: loris (hence tonic) returns ``y' = height - 1 - y`` and silently drops events
whose time stamp goes backwards or that lie outside the sensor. This reader returns the
file's coordinates unchanged by default (like Prophesee's own tools), keeps every event in
file order, and *reports* out-of-sensor events; pass ``flip_y=True`` to get loris/tonic's
orientation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import CorruptFileError
from ..events import empty_events
from ._io_common import (
    OutOfRange,
    check_coordinates,
    check_fits,
    events_for_writing,
    read_file_bytes,
    sensor_width_height,
)

__all__ = [
    "DatHeader",
    "DAT_EVENT_SIZE",
    "DAT_DEFAULT_SENSOR_SIZE",
    "parse_prophesee_dat_header",
    "decode_prophesee_dat",
    "encode_prophesee_dat",
    "read_prophesee_dat",
    "write_prophesee_dat",
]

DAT_EVENT_SIZE = 8
"""Bytes per event."""
DAT_DEFAULT_SENSOR_SIZE = (304, 240)
"""``(width, height)`` assumed for version-1 files without ``Width``/``Height`` (the ATIS)."""

# (x shift, x bits, y shift, y bits, polarity shift, polarity bits) inside the 64-bit word.
_LAYOUTS = {1: (32, 9, 41, 8, 49, 1), 2: (32, 14, 46, 14, 60, 4)}


@dataclass(frozen=True)
class DatHeader:
    """What a ``.dat`` header says.

    Attributes:
        has_header: Whether the file starts with ``%`` lines (else events start at byte 0).
        version: Bit layout, 1 (legacy ATIS) or 2.
        width: Sensor width from the header, or ``None``.
        height: Sensor height from the header, or ``None``.
        event_type: The event-type byte (``None`` without header).
        event_size: The event-size byte (8; ``None`` without header).
        fields: Every ``keyword value`` pair of the header, in order.
        data_offset: Byte offset of the first event.
    """

    has_header: bool
    version: int
    width: int | None
    height: int | None
    event_type: int | None
    event_size: int | None
    fields: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    data_offset: int = 0


def parse_prophesee_dat_header(
    data: bytes | bytearray | memoryview, *, source: str | os.PathLike = "<bytes>"
) -> DatHeader:
    """Parse the ``%`` header and the type/size bytes of a ``.dat`` file.

    Args:
        data: The file's bytes (at least the header).
        source: Name of the file, used in error messages.

    Returns:
        The :class:`DatHeader`.

    Raises:
        CorruptFileError: On an unterminated or non-text header line, a non-numeric
            ``Version``/``Width``/``Height``, an unsupported version, missing type/size bytes
            or an event size other than 8.
    """
    buf = bytes(data[:1]) if len(data) else b""
    if buf != b"%":
        return DatHeader(False, 1, None, None, None, None, (), 0)
    mv = bytes(data) if not isinstance(data, bytes) else data
    pos = 0
    fields: list[tuple[str, str]] = []
    while pos < len(mv) and mv[pos : pos + 1] == b"%":
        end = mv.find(b"\n", pos)
        if end < 0:
            raise CorruptFileError(source, f"header line at byte {pos} has no end of line (truncated header)")
        line = mv[pos + 1 : end].rstrip(b"\r")
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise CorruptFileError(source, f"header line at byte {pos} is not ASCII text") from None
        words = text.split(None, 1)
        if words:
            fields.append((words[0], words[1].strip() if len(words) > 1 else ""))
        pos = end + 1
    values = {}
    for key in ("Version", "Width", "Height"):
        found = [v for k, v in fields if k == key]
        if found:
            try:
                values[key] = int(found[-1].split()[0])
            except (ValueError, IndexError):
                raise CorruptFileError(
                    source, f"header field {key} is not an integer: {found[-1]!r}"
                ) from None
    version = values.get("Version", 1)
    if version == 0:
        version = 1
    if version not in _LAYOUTS:
        raise CorruptFileError(source, f"unsupported .dat version {version} (supported: 1, 2)")
    if len(mv) < pos + 2:
        raise CorruptFileError(source, "file ends after the header, before the event type and size bytes")
    event_type, event_size = mv[pos], mv[pos + 1]
    if event_size != DAT_EVENT_SIZE:
        raise CorruptFileError(source, f"event size byte is {event_size}, expected {DAT_EVENT_SIZE}")
    for key in ("Width", "Height"):
        if key in values and values[key] <= 0:
            raise CorruptFileError(source, f"header field {key} must be positive, got {values[key]}")
    return DatHeader(
        True,
        version,
        values.get("Width"),
        values.get("Height"),
        event_type,
        event_size,
        tuple(fields),
        pos + 2,
    )


def _sensor_for(header: DatHeader, sensor_size: Any, version: int) -> tuple[int, int] | None:
    wh = sensor_width_height(sensor_size)
    if wh is not None:
        return wh
    if header.width is not None and header.height is not None:
        return header.width, header.height
    return DAT_DEFAULT_SENSOR_SIZE if version == 1 else None


def decode_prophesee_dat(
    data: bytes | bytearray | memoryview,
    *,
    source: str | os.PathLike = "<bytes>",
    version: int | None = None,
    sensor_size: Any = None,
    flip_y: bool = False,
    out_of_range: OutOfRange = "raise",
) -> dict[str, np.ndarray]:
    """Decode the bytes of a ``.dat`` file (layout in the module docstring).

    Args:
        data: The file's bytes.
        source: Name of the file, used in error messages.
        version: Force bit layout 1 or 2 (default: the header's ``Version``, else 1).
        sensor_size: ``(width, height)`` to check against (default: the header's
            ``Width``/``Height``, else 304 x 240 for version 1, else no check).
        flip_y: Return ``height - 1 - y`` (loris/tonic's orientation); needs a sensor size.
        out_of_range: ``'raise'`` or ``'drop'`` events outside the sensor.

    Returns:
        Events ``{'t', 'x', 'y', 'p'}`` in file order.

    Raises:
        CorruptFileError: On a bad header, a truncated body, a version-2 polarity other than
            0/1, or out-of-range events.
        ValueError: On an unknown forced ``version`` or ``flip_y`` without a sensor size.
    """
    header = parse_prophesee_dat_header(data, source=source)
    if version is not None and version not in _LAYOUTS:
        raise ValueError(f"version must be 1 or 2, got {version!r}")
    version = version if version is not None else header.version
    layout = _LAYOUTS[version]
    body = memoryview(data)[header.data_offset :]
    if len(body) % DAT_EVENT_SIZE:
        raise CorruptFileError(
            source,
            f"event data of {len(body)} bytes (from byte {header.data_offset}) is not a multiple of "
            f"{DAT_EVENT_SIZE}: the file is truncated ({len(body) % DAT_EVENT_SIZE} stray bytes)",
        )
    sensor = _sensor_for(header, sensor_size, version)
    if flip_y and sensor is None:
        raise ValueError("flip_y=True needs a sensor height: pass sensor_size=(width, height)")
    if len(body) == 0:
        return empty_events()
    words = np.frombuffer(body, dtype="<u8")
    xs, xb, ys, yb, ps, pb = layout
    t = (words & np.uint64(0xFFFFFFFF)).astype(np.int64)
    x = ((words >> np.uint64(xs)) & np.uint64((1 << xb) - 1)).astype(np.int16)
    y = ((words >> np.uint64(ys)) & np.uint64((1 << yb) - 1)).astype(np.int16)
    p = ((words >> np.uint64(ps)) & np.uint64((1 << pb) - 1)).astype(np.uint8)
    if pb > 1 and (p > 1).any():
        i = int(np.flatnonzero(p > 1)[0])
        raise CorruptFileError(source, f"event #{i} has polarity {int(p[i])}; a CD event has 0 or 1")
    mask = check_coordinates(source, x, y, sensor, out_of_range)
    if mask is not None:
        t, x, y, p = t[mask], x[mask], y[mask], p[mask]
    if flip_y:
        y = (sensor[1] - 1 - y).astype(np.int16)
    return {"t": t, "x": x, "y": y, "p": p}


def read_prophesee_dat(
    path: str | os.PathLike,
    *,
    version: int | None = None,
    sensor_size: Any = None,
    flip_y: bool = False,
    out_of_range: OutOfRange = "raise",
) -> dict[str, np.ndarray]:
    """Read a Nav Gesture / ATIS / Prophesee ``.dat`` file (see :func:`decode_prophesee_dat`).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        CorruptFileError: On a bad header, truncated data or out-of-range events (names the file).
    """
    return decode_prophesee_dat(
        read_file_bytes(path),
        source=path,
        version=version,
        sensor_size=sensor_size,
        flip_y=flip_y,
        out_of_range=out_of_range,
    )


def encode_prophesee_dat(
    events: Any,
    *,
    version: Literal[1, 2] = 1,
    width: int = DAT_DEFAULT_SENSOR_SIZE[0],
    height: int = DAT_DEFAULT_SENSOR_SIZE[1],
    event_type: int = 0,
    header: bool = True,
    date: str = "2019-01-01 00:00:00",
    flip_y: bool = False,
) -> bytes:
    """Encode events as the bytes of a ``.dat`` file.

    Args:
        events: Dict of ``t`` (0 .. 2**32-1 µs), ``x`` in ``[0, width)``, ``y`` in
            ``[0, height)``, ``p``.
        version: Bit layout, 1 (legacy ATIS, Nav Gesture) or 2.
        width: Sensor width, written to the header and checked.
        height: Sensor height, written to the header and checked.
        event_type: The event-type byte (0 = TD).
        header: Write the ``%`` header and the type/size bytes (a headerless file is a bare
            event sequence, which readers accept too).
        date: The ``Date`` header value.
        flip_y: Store ``height - 1 - y`` (the inverse of the reader's ``flip_y``).

    Returns:
        The file content.

    Raises:
        ValueError: On values the layout or the sensor cannot hold.
    """
    if version not in _LAYOUTS:
        raise ValueError(f"version must be 1 or 2, got {version!r}")
    ev = events_for_writing(events)
    t, x, y, p = ev["t"], ev["x"].astype(np.int64), ev["y"].astype(np.int64), ev["p"]
    xs, xb, ys, yb, ps, _ = _LAYOUTS[version]
    if not (0 < width <= 1 << xb and 0 < height <= 1 << yb):
        raise ValueError(f"sensor {width} x {height} does not fit the version-{version} layout")
    check_fits("t", t, 0, 0xFFFFFFFF, "32 bits in .dat")
    check_fits("x", x, 0, width - 1, f"a sensor of width {width}")
    check_fits("y", y, 0, height - 1, f"a sensor of height {height}")
    if flip_y:
        y = height - 1 - y
    words = (
        t.astype(np.uint64)
        | (x.astype(np.uint64) << np.uint64(xs))
        | (y.astype(np.uint64) << np.uint64(ys))
        | (p.astype(np.uint64) << np.uint64(ps))
    )
    body = words.astype("<u8").tobytes()
    if not header:
        return body
    kind = "TD" if version == 1 else "CD"
    text = (
        f"% Data file containing {kind} events\n% Version {version}\n% Date {date}\n"
        f"% Width {width}\n% Height {height}\n"
    )
    return text.encode("ascii") + bytes([event_type & 0xFF, DAT_EVENT_SIZE]) + body


def write_prophesee_dat(
    path: str | os.PathLike,
    events: Any,
    *,
    version: Literal[1, 2] = 1,
    width: int = DAT_DEFAULT_SENSOR_SIZE[0],
    height: int = DAT_DEFAULT_SENSOR_SIZE[1],
    event_type: int = 0,
    header: bool = True,
    date: str = "2019-01-01 00:00:00",
    flip_y: bool = False,
) -> None:
    """Write events to ``path`` as a ``.dat`` file (see :func:`encode_prophesee_dat`)."""
    data = encode_prophesee_dat(
        events,
        version=version,
        width=width,
        height=height,
        event_type=event_type,
        header=header,
        date=date,
        flip_y=flip_y,
    )
    with open(path, "wb") as f:
        f.write(data)
