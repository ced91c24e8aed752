"""Small helpers shared by the binary event-format readers and writers (private).

- :func:`read_file_bytes` reads a whole file (a missing file raises ``FileNotFoundError``);
- :func:`sensor_width_height` accepts ``(width, height)`` or tonic's ``(width, height, 2)``;
- :func:`check_coordinates` reports (or drops) events outside the sensor, naming the file;
- :func:`events_for_writing` validates and casts the events a writer is given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import CorruptFileError
from ..events import make_events

__all__ = [
    "OutOfRange",
    "read_file_bytes",
    "sensor_width_height",
    "check_coordinates",
    "events_for_writing",
    "check_fits",
]

OutOfRange = Literal["raise", "drop"]
"""What a reader does with events outside the sensor: raise ``CorruptFileError`` or drop them."""


def read_file_bytes(path: str | os.PathLike) -> bytes:
    """Return the whole content of ``path`` (raises ``FileNotFoundError`` if it does not exist)."""
    return Path(path).read_bytes()


def sensor_width_height(sensor_size: Any) -> tuple[int, int] | None:
    """Normalise a sensor size to ``(width, height)``.

    Args:
        sensor_size: ``None``, ``(width, height)`` or tonic's ``(width, height, polarities)``.

    Returns:
        ``None`` or ``(width, height)`` as Python ints.

    Raises:
        ValueError: If it has another length or non-positive entries.
    """
    if sensor_size is None:
        return None
    size = tuple(int(s) for s in sensor_size)
    if len(size) not in (2, 3) or size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"sensor_size must be (width, height) or (width, height, 2), got {sensor_size!r}")
    return size[0], size[1]


def check_coordinates(
    source: str | os.PathLike,
    x: np.ndarray,
    y: np.ndarray,
    sensor_size: Any,
    out_of_range: OutOfRange,
) -> np.ndarray | None:
    """Find events outside ``[0, width) x [0, height)``.

    Args:
        source: The file (or description of the byte source) the events come from.
        x: Column indices (any integer dtype).
        y: Row indices.
        sensor_size: ``None`` (no check), ``(width, height)`` or ``(width, height, 2)``.
        out_of_range: ``'raise'`` or ``'drop'``.

    Returns:
        ``None`` if every event is inside (or no check was asked), else the boolean mask of the
        events to keep (only with ``out_of_range='drop'``).

    Raises:
        CorruptFileError: With ``out_of_range='raise'`` when some event is outside; the message
            names the file, how many events are outside and the first of them.
        ValueError: On an unknown ``out_of_range``.
    """
    if out_of_range not in ("raise", "drop"):
        raise ValueError(f"out_of_range must be 'raise' or 'drop', got {out_of_range!r}")
    wh = sensor_width_height(sensor_size)
    if wh is None or x.size == 0:
        return None
    width, height = wh
    outside = (x < 0) | (x >= width) | (y < 0) | (y >= height)
    if not outside.any():
        return None
    if out_of_range == "drop":
        return ~outside
    bad = np.flatnonzero(outside)
    i = int(bad[0])
    raise CorruptFileError(
        source,
        f"{bad.size} of {x.size} events lie outside the sensor (width {width}, height {height}); "
        f"first is event #{i} at x={int(x[i])}, y={int(y[i])} "
        "(pass out_of_range='drop' to discard them)",
    )


def events_for_writing(events: Any) -> dict[str, np.ndarray]:
    """Validate and cast events given to a writer (``t`` int64, ``x``/``y`` int16, ``p`` {0, 1}).

    Raises:
        TypeError: If ``events`` lacks one of the keys ``t, x, y, p``.
        ValueError: On arrays of different lengths or values the dtypes cannot hold.
    """
    if not hasattr(events, "keys") or any(k not in events for k in "txyp"):
        raise TypeError(f"events must be a dict with keys 't', 'x', 'y', 'p', got {type(events).__name__}")
    return make_events(events["t"], events["x"], events["y"], events["p"])


def check_fits(name: str, values: np.ndarray, low: int, high: int, what: str) -> None:
    """Raise ``ValueError`` if some of ``values`` lies outside ``[low, high]``.

    Args:
        name: Field name used in the message (``'x'``, ``'t'``...).
        values: The values to check.
        low: Smallest value the format can store.
        high: Largest value the format can store.
        what: The format's limit in words (``'8 bits in ATIS .bin'``).
    """
    if values.size == 0:
        return
    bad = (values < low) | (values > high)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"events['{name}'][{i}] = {int(values[i])} cannot be written: {what} holds [{low}, {high}]"
        )
