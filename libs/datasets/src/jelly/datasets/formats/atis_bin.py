"""ATIS 40-bit ``.bin`` event files (N-MNIST, N-Caltech101).

Byte layout
-----------
The file has no header: it is a plain sequence of 5-byte (40-bit) records, one per event,
big-endian inside the record::

    byte 0      bits 39-32   x          (unsigned, 8 bits, pixels)
    byte 1      bits 31-24   y          (unsigned, 8 bits, pixels)
    byte 2      bit  23      polarity   (0 = OFF, 1 = ON)
    byte 2      bits 22-16   timestamp bits 22-16
    byte 3      bits 15-8    timestamp bits 15-8
    byte 4      bits 7-0     timestamp bits 7-0       (23-bit timestamp, microseconds)

A file size that is not a multiple of 5 means a truncated file.

Timestamp overflow
------------------
A record with ``y == 240`` (raw byte value) is not an event but a *timestamp overflow
marker* (the convention of the data sets' author's Python reader, G. Orchard's
``event-Python/eventvision.py``, which tonic's ``read_mnist_file`` adapts): every marker
adds ``2**13 = 8192`` µs to the time stamps of all the records that follow it. The reader
computes, fully vectorized::

    t[i] = timestamp23[i] + 8192 * (number of markers at positions <= i)

and then removes the markers from the output. (SpikingJelly's ``load_ATIS_bin`` ignores the
markers and returns them as events at row 240.) ``y == 240`` can never be a real pixel: the
sensors of both data sets are at most 240 x 180 pixels (N-MNIST uses 34 x 34).

:func:`write_atis_bin` inverts this: an event whose time stamp does not fit in 23 bits is
preceded by just enough markers (``overflow_markers='minimal'``, the default), or a marker is
written every time ``t // 8192`` increases (``'periodic'``, which stresses the reader's
overflow handling). Markers are written as ``x = 0, y = 240, p = 0, timestamp = 0``.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from ..errors import CorruptFileError
from ..events import empty_events
from ._io_common import OutOfRange, check_coordinates, check_fits, events_for_writing, read_file_bytes

__all__ = [
    "ATIS_BIN_RECORD_BYTES",
    "ATIS_OVERFLOW_Y",
    "ATIS_OVERFLOW_INCREMENT_US",
    "ATIS_TIMESTAMP_BITS",
    "decode_atis_bin",
    "encode_atis_bin",
    "read_atis_bin",
    "write_atis_bin",
]

ATIS_BIN_RECORD_BYTES = 5
"""Bytes per record (event or overflow marker)."""
ATIS_OVERFLOW_Y = 240
"""The ``y`` value that marks a timestamp-overflow record."""
ATIS_OVERFLOW_INCREMENT_US = 1 << 13
"""Microseconds added to all later time stamps by each overflow marker (8192)."""
ATIS_TIMESTAMP_BITS = 23
"""Width of the per-record timestamp field."""

_TS_MAX = (1 << ATIS_TIMESTAMP_BITS) - 1


def decode_atis_bin(
    data: bytes | bytearray | memoryview | np.ndarray,
    *,
    source: str | os.PathLike = "<bytes>",
    sensor_size: Any = None,
    out_of_range: OutOfRange = "raise",
) -> dict[str, np.ndarray]:
    """Decode the content of an ATIS ``.bin`` file (see the module docstring for the layout).

    Args:
        data: The file's bytes.
        source: Name of the file, used in error messages.
        sensor_size: ``(width, height)`` (or ``(width, height, 2)``) to check coordinates
            against, e.g. ``(34, 34)`` for N-MNIST; ``None`` skips the check.
        out_of_range: ``'raise'`` (default) raises ``CorruptFileError`` for events outside
            the sensor, ``'drop'`` discards them.

    Returns:
        Events ``{'t': int64, 'x': int16, 'y': int16, 'p': uint8}`` in file order, time stamps
        corrected for overflow markers (which are removed).

    Raises:
        CorruptFileError: If the size is not a multiple of 5 bytes, or on out-of-range events.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size % ATIS_BIN_RECORD_BYTES:
        raise CorruptFileError(
            source,
            f"size {raw.size} bytes is not a multiple of {ATIS_BIN_RECORD_BYTES} (ATIS .bin records): "
            f"the file is truncated ({raw.size % ATIS_BIN_RECORD_BYTES} stray bytes at the end)",
        )
    if raw.size == 0:
        return empty_events()
    rec = raw.reshape(-1, ATIS_BIN_RECORD_BYTES)
    y_all = rec[:, 1]
    ts = (
        (rec[:, 2].astype(np.int64) & 0x7F) << 16
        | rec[:, 3].astype(np.int64) << 8
        | rec[:, 4].astype(np.int64)
    )
    marker = y_all == ATIS_OVERFLOW_Y
    if marker.any():
        ts += ATIS_OVERFLOW_INCREMENT_US * np.cumsum(marker, dtype=np.int64)
        keep = ~marker
        rec = rec[keep]
        ts = ts[keep]
    x = rec[:, 0].astype(np.int16)
    y = rec[:, 1].astype(np.int16)
    p = (rec[:, 2] >> 7).astype(np.uint8)
    mask = check_coordinates(source, x, y, sensor_size, out_of_range)
    if mask is not None:
        x, y, p, ts = x[mask], y[mask], p[mask], ts[mask]
    return {"t": ts, "x": x, "y": y, "p": p}


def read_atis_bin(
    path: str | os.PathLike,
    *,
    sensor_size: Any = None,
    out_of_range: OutOfRange = "raise",
) -> dict[str, np.ndarray]:
    """Read an N-MNIST / N-Caltech101 ``.bin`` file.

    Args:
        path: The ``.bin`` file.
        sensor_size: ``(width, height)`` to check coordinates against (``(34, 34)`` for
            N-MNIST); ``None`` skips the check.
        out_of_range: ``'raise'`` or ``'drop'`` events outside the sensor.

    Returns:
        Events ``{'t', 'x', 'y', 'p'}`` (int64 µs, int16, int16, uint8 in {0, 1}).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        CorruptFileError: On a truncated file or out-of-range coordinates (names the file).
    """
    return decode_atis_bin(
        read_file_bytes(path), source=path, sensor_size=sensor_size, out_of_range=out_of_range
    )


def encode_atis_bin(events: Any, *, overflow_markers: Literal["minimal", "periodic"] = "minimal") -> bytes:
    """Encode events as the bytes of an ATIS ``.bin`` file.

    Args:
        events: Dict of ``t`` (µs, >= 0), ``x``, ``y`` (0..255, ``y != 240``), ``p`` ({0, 1}
            or {-1, 1}).
        overflow_markers: ``'minimal'`` writes a marker only where a time stamp would not
            fit in 23 bits; ``'periodic'`` writes one each time ``t // 8192`` increases.

    Returns:
        The file content.

    Raises:
        ValueError: On values the format cannot hold (coordinates, ``y == 240``, negative
            time stamps) or time stamps that decrease so much that no marker sequence can
            encode them.
    """
    if overflow_markers not in ("minimal", "periodic"):
        raise ValueError(f"overflow_markers must be 'minimal' or 'periodic', got {overflow_markers!r}")
    ev = events_for_writing(events)
    t, x, y, p = ev["t"], ev["x"], ev["y"], ev["p"]
    n = t.size
    check_fits("x", x, 0, 255, "8 bits in ATIS .bin")
    check_fits("y", y, 0, 255, "8 bits in ATIS .bin")
    check_fits("t", t, 0, np.iinfo(np.int64).max, "an ATIS .bin time stamp")
    if n and (y == ATIS_OVERFLOW_Y).any():
        i = int(np.flatnonzero(y == ATIS_OVERFLOW_Y)[0])
        raise ValueError(f"events['y'][{i}] = 240 cannot be written: y = 240 marks timestamp overflow")
    inc = ATIS_OVERFLOW_INCREMENT_US
    if overflow_markers == "periodic":
        need = t // inc
    else:
        need = np.maximum(0, -((_TS_MAX - t) // inc))  # ceil((t - TS_MAX) / inc), at least 0
    markers = np.maximum.accumulate(need) if n else need
    raw_ts = t - inc * markers
    if n and (raw_ts < 0).any():
        i = int(np.flatnonzero(raw_ts < 0)[0])
        raise ValueError(
            f"events['t'][{i}] = {int(t[i])} cannot be written after earlier overflow markers "
            "(time stamps decrease by more than the format allows)"
        )
    total = n + (int(markers[-1]) if n else 0)
    rows = np.empty((n, ATIS_BIN_RECORD_BYTES), dtype=np.uint8)
    rows[:, 0] = x
    rows[:, 1] = y
    rows[:, 2] = (p.astype(np.int64) << 7) | (raw_ts >> 16)
    rows[:, 3] = (raw_ts >> 8) & 0xFF
    rows[:, 4] = raw_ts & 0xFF
    if total == n:
        return rows.tobytes()
    out = np.zeros((total, ATIS_BIN_RECORD_BYTES), dtype=np.uint8)
    out[:, 1] = ATIS_OVERFLOW_Y  # every row not overwritten below is a marker
    out[np.arange(n, dtype=np.int64) + markers] = rows
    return out.tobytes()


def write_atis_bin(
    path: str | os.PathLike,
    events: Any,
    *,
    overflow_markers: Literal["minimal", "periodic"] = "minimal",
) -> None:
    """Write events to ``path`` as an ATIS ``.bin`` file (see :func:`encode_atis_bin`)."""
    data = encode_atis_bin(events, overflow_markers=overflow_markers)
    with open(path, "wb") as f:
        f.write(data)
