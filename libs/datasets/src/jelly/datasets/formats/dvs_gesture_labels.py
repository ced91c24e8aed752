"""DVS128 Gesture label files (``userXX_<lighting>_labels.csv``) and per-label splitting.

File layout
-----------
A small CSV text file, one gesture per line after a header line::

    class,startTime_usec,endTime_usec
    1,80048239,85092709
    2,89431170,95231007
    ...

``class`` is the gesture id 1..11 (``gesture_mapping.csv``), the times are microseconds on
the clock of the matching ``.aedat`` recording. Lines may end with ``\\n`` or ``\\r\\n``;
blank lines are ignored. The reader maps ids 1..11 to labels 0..10.

Splitting (:func:`split_events_by_labels`) follows SpikingJelly's
``DVS128Gesture.split_aedat_files_to_np``: the sample of a CSV line holds the events with
``start <= t < end``, in CSV order. Segments are not required to be disjoint (the published
``user22_led_labels.csv`` has a class-9 end after the class-10 start; both samples then
share those events, as in SpikingJelly).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..errors import CorruptFileError
from ..events import check_events

__all__ = [
    "LabelSegment",
    "DVS_GESTURE_LABELS_HEADER",
    "read_dvs_gesture_labels",
    "write_dvs_gesture_labels",
    "split_events_by_labels",
]

DVS_GESTURE_LABELS_HEADER = "class,startTime_usec,endTime_usec"
"""The header line of a label CSV."""


class LabelSegment(NamedTuple):
    """One labelled gesture of a recording.

    Attributes:
        label: 0-based class (the CSV's ``class`` minus 1).
        start: ``startTime_usec`` (inclusive).
        end: ``endTime_usec`` (exclusive).
    """

    label: int
    start: int
    end: int


def read_dvs_gesture_labels(path: str | os.PathLike, *, num_classes: int = 11) -> list[LabelSegment]:
    """Read a DVS128 Gesture ``*_labels.csv`` file.

    Args:
        path: The CSV file.
        num_classes: Number of classes; ids must lie in ``1..num_classes``.

    Returns:
        The segments in file order, with 0-based labels.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        CorruptFileError: On a missing or wrong header, a line without three integers, an id
            outside ``1..num_classes``, negative times or ``end < start`` (names the file and
            the line).
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CorruptFileError(path, "not a text file (not UTF-8)") from None
    lines = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines())]
    lines = [(n, line) for n, line in lines if line]
    if not lines:
        raise CorruptFileError(path, f"empty label file (expected the header {DVS_GESTURE_LABELS_HEADER!r})")
    header_no, header = lines[0]
    if header.replace(" ", "") != DVS_GESTURE_LABELS_HEADER:
        raise CorruptFileError(
            path, f"line {header_no}: header is {header!r}, expected {DVS_GESTURE_LABELS_HEADER!r}"
        )
    segments: list[LabelSegment] = []
    for n, line in lines[1:]:
        cells = [c.strip() for c in line.split(",")]
        try:
            if len(cells) != 3:
                raise ValueError
            cls, start, end = (int(c) for c in cells)
        except ValueError:
            raise CorruptFileError(
                path, f"line {n}: {line!r} is not three integers 'class,start,end'"
            ) from None
        if not 1 <= cls <= num_classes:
            raise CorruptFileError(path, f"line {n}: class {cls} is outside 1..{num_classes}")
        if start < 0 or end < start:
            raise CorruptFileError(path, f"line {n}: bad time interval [{start}, {end}) µs")
        segments.append(LabelSegment(cls - 1, start, end))
    return segments


def write_dvs_gesture_labels(
    path: str | os.PathLike, segments: Iterable[LabelSegment | Sequence[int]], *, line_end: str = "\r\n"
) -> None:
    """Write a label CSV in the DVS128 Gesture layout.

    Args:
        path: Where to write.
        segments: ``(label, start, end)`` with **0-based** labels (written as ``label + 1``).
        line_end: Line terminator.

    Raises:
        ValueError: On a negative label or time, or ``end < start``.
    """
    out = [DVS_GESTURE_LABELS_HEADER]
    for seg in segments:
        label, start, end = (int(v) for v in seg)
        if label < 0 or start < 0 or end < start:
            raise ValueError(f"bad segment (label {label}, start {start}, end {end})")
        out.append(f"{label + 1},{start},{end}")
    with open(path, "w", newline="") as f:
        f.write(line_end.join(out) + line_end)


def split_events_by_labels(
    events: Any, segments: Iterable[LabelSegment | Sequence[int]]
) -> list[tuple[dict[str, np.ndarray], int]]:
    """Cut one recording into per-label samples (``start <= t < end``, SpikingJelly's rule).

    Args:
        events: The recording's events ``{'t', 'x', 'y', 'p'}``.
        segments: ``(label, start, end)`` triples, e.g. from :func:`read_dvs_gesture_labels`.

    Returns:
        ``[(events_of_segment, label), ...]`` in the order of ``segments``; each event dict
        holds copies (or views for sorted time stamps) of the selected events, in
        recording order.
    """
    check_events(events)
    t = events["t"]
    is_sorted = t.size < 2 or bool(np.all(t[1:] >= t[:-1]))
    out = []
    for seg in segments:
        label, start, end = (int(v) for v in seg)
        if is_sorted:
            lo, hi = np.searchsorted(t, [start, end], side="left")
            sel: Any = slice(int(lo), int(max(lo, hi)))
        else:
            sel = (t >= start) & (t < end)
        out.append(({k: events[k][sel] for k in "txyp"}, label))
    return out
