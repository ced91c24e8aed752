"""HARDVS (MINI release): one NumPy ``.npz`` file per sample with arrays ``t, x, y, p``.

Layout of the release that SpikingJelly supports (HARDVS, Wang et al. 2022,
https://github.com/Event-AHU/HARDVS):

- ``MINI_HARDVS_files.zip`` holds ``MINI_HARDVS_files/action_001.zip`` ...
  ``action_300.zip``; each extracts to a folder ``action_XXX/`` of samples named after the DV
  recording software's default file names, ``dvSave-YYYY_MM_DD_HH_MM_SS.npz``;
- ``train_label.txt``, ``val_label.txt`` and ``test_label.txt`` list the samples of each split,
  one per line, as ``action_XXX/dvSave-... <label>`` (the sample path without ``.npz``, a space,
  then a label field); :func:`read_hardvs_split` parses them;
- 300 action classes, sensor DAVIS346: 346 x 260 pixels (width x height);
- each ``.npz`` holds (at least) the 1-D arrays ``t`` (µs), ``x``, ``y``, ``p`` of one length,
  the names SpikingJelly's loader reads directly.

Storage dtypes and compression are not documented and we could not inspect a real file: the
recordings come from DV (``dvSave-*`` names), whose event arrays are ``int64`` time stamps,
``int16`` coordinates and ``int8`` polarity, so :func:`write_hardvs` uses those (override with
``dtypes``) and ``numpy.savez_compressed``. The reader accepts any integer or boolean arrays.
The meaning of the label field is not documented either: :func:`write_hardvs_split` writes the
class number minus one (``action_001`` → 0) unless told otherwise, and the reader returns the
field as it is.

Sources: SpikingJelly ``datasets/hardvs.py`` (archive layout, label-file line format, keys via its
``np.load`` loader, sensor 260 x 346), the HARDVS README and paper (300 classes, DAVIS346).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ._columns import (
    PathLike,
    assemble_events,
    check_fits,
    check_sensor,
    events_to_write,
    integer_column,
    polarity_column,
)

__all__ = [
    "HARDVS_SENSOR_SIZE",
    "HARDVS_N_CLASSES",
    "read_hardvs",
    "write_hardvs",
    "read_hardvs_split",
    "write_hardvs_split",
]

HARDVS_SENSOR_SIZE: tuple[int, int] = (346, 260)
"""``(width, height)`` of the DAVIS346 sensor."""

HARDVS_N_CLASSES: int = 300
"""Number of action classes (folders ``action_001`` ... ``action_300``)."""

_DEFAULT_DTYPES: dict[str, np.dtype] = {
    "t": np.dtype(np.int64),
    "x": np.dtype(np.int16),
    "y": np.dtype(np.int16),
    "p": np.dtype(np.int8),
}

_NOT_CORRUPTION = (FileNotFoundError, PermissionError, IsADirectoryError)


def read_hardvs(
    path: PathLike, *, sensor_size: tuple[int, int] | None = HARDVS_SENSOR_SIZE
) -> dict[str, np.ndarray]:
    """Read one HARDVS sample (``.npz`` with ``t, x, y, p``) into an events dict.

    Args:
        path: The ``.npz`` file.
        sensor_size: ``(width, height)`` the coordinates must lie in; ``None`` skips the check.

    Returns:
        ``{'t': int64 µs, 'x': int16, 'y': int16, 'p': uint8 in {0, 1}}`` in file order.

    Raises:
        CorruptFileError: If the file is not a readable ``.npz`` (truncated, bad CRC, pickled
            objects), an array is missing, not a 1-D integer/boolean array, the arrays differ in
            length, a polarity is not 0/1 (or -1/1) or a coordinate is outside the sensor.
    """
    try:
        with np.load(os.fspath(path), allow_pickle=False) as npz:
            missing = [k for k in "txyp" if k not in npz.files]
            if missing:
                raise CorruptFileError(
                    path, f"missing array(s) {missing} (expected 't', 'x', 'y', 'p', found {npz.files})"
                )
            raw = {k: npz[k] for k in "txyp"}
    except CorruptFileError:
        raise
    except _NOT_CORRUPTION:
        raise
    except Exception as exc:  # zipfile/zlib/numpy raise many types on damaged files
        raise CorruptFileError(
            path, f"unreadable .npz file, truncated or damaged ({type(exc).__name__}: {exc})"
        ) from exc
    for k, arr in raw.items():
        if arr.dtype.kind not in "biu":
            raise CorruptFileError(path, f"array '{k}' must hold integers, got dtype {arr.dtype}")
    cols = {k: integer_column(path, k, arr) for k, arr in raw.items()}
    lengths = {k: v.shape[0] for k, v in cols.items()}
    if len(set(lengths.values())) > 1:
        raise CorruptFileError(path, f"arrays have different lengths: {lengths}")
    p = polarity_column(path, "p", cols["p"])
    return assemble_events(path, cols["t"], cols["x"], cols["y"], p, sensor_size)


def write_hardvs(
    path: PathLike,
    events: Mapping[str, Any],
    *,
    dtypes: Mapping[str, Any] | None = None,
    compress: bool = True,
    sensor_size: tuple[int, int] | None = HARDVS_SENSOR_SIZE,
) -> None:
    """Write one HARDVS sample as ``.npz`` with the 1-D arrays ``t, x, y, p``.

    Args:
        path: Target file (written as given; no ``.npz`` is appended).
        events: Events dict ``t, x, y, p`` (``p`` in {0, 1} or {-1, 1}; stored as 0/1).
        dtypes: Field → numpy dtype, overriding the defaults (``t`` int64, ``x``/``y`` int16,
            ``p`` int8).
        compress: ``numpy.savez_compressed`` (default) or plain ``numpy.savez``.
        sensor_size: ``(width, height)`` the coordinates must lie in; ``None`` skips the check.

    Raises:
        ValueError: On malformed events, coordinates outside the sensor or values that do not
            fit the chosen dtypes.
    """
    ev = events_to_write(events)
    if sensor_size is not None:
        try:
            check_sensor(path, ev["x"], ev["y"], sensor_size)
        except CorruptFileError as exc:
            raise ValueError(f"cannot write {os.fspath(path)}: {exc.reason}") from None
    chosen = dict(_DEFAULT_DTYPES)
    for name, dt in (dtypes or {}).items():
        if name not in chosen:
            raise ValueError(f"unknown HARDVS field {name!r}; expected one of {sorted(chosen)}")
        chosen[name] = np.dtype(dt)
    arrays = {}
    for k in "txyp":
        check_fits(k, ev[k], chosen[k], "HARDVS")
        arrays[k] = ev[k].astype(chosen[k])
    save = np.savez_compressed if compress else np.savez
    with open(path, "wb") as fh:
        save(fh, **arrays)


def read_hardvs_split(path: PathLike) -> list[tuple[str, str, str | None]]:
    """Parse a HARDVS split file (``train_label.txt``, ``val_label.txt``, ``test_label.txt``).

    Args:
        path: The split file.

    Returns:
        One ``(class_folder, sample_name, label_field)`` per non-blank line, in file order:
        ``('action_001', 'dvSave-2021_10_15_19_18_02', '0')``. ``label_field`` is the text after
        the sample path (``None`` if there is none); the sample file is
        ``<class_folder>/<sample_name>.npz``.

    Raises:
        CorruptFileError: If the file is not UTF-8 text or a line does not start with
            ``<folder>/<name>``.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError as exc:
        raise CorruptFileError(path, f"not a UTF-8 text file ({exc})") from exc
    entries: list[tuple[str, str, str | None]] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        head, _, rest = line.strip().partition(" ")
        parts = head.split("/")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise CorruptFileError(
                path, f"line {lineno}: expected '<class folder>/<sample name> <label>', got {line!r}"
            )
        rest = rest.strip()
        entries.append((parts[0], parts[1], rest or None))
    return entries


def write_hardvs_split(path: PathLike, entries: Iterable[tuple[str, str] | tuple[str, str, Any]]) -> None:
    """Write a HARDVS split file: one ``<class_folder>/<sample_name> <label>`` line per entry.

    Args:
        path: Target file.
        entries: ``(class_folder, sample_name)`` or ``(class_folder, sample_name, label)``;
            without a label, the class number minus one is written (``action_007`` → ``6``).

    Raises:
        ValueError: On a name holding a space, a slash or a line break, or a class folder not
            named ``action_<number>`` when no label is given.
    """
    lines = []
    for entry in entries:
        folder, name = str(entry[0]), str(entry[1])
        for part in (folder, name):
            if not part or any(c in part for c in " /\n\r"):
                raise ValueError(f"invalid HARDVS name {part!r} (empty, or holds a space, '/' or newline)")
        if len(entry) > 2:
            label = str(entry[2])
        else:
            if not folder.startswith("action_") or not folder[7:].isdigit():
                raise ValueError(f"cannot derive a label from folder {folder!r}; pass it explicitly")
            label = str(int(folder[7:]) - 1)
        lines.append(f"{folder}/{name} {label}\n")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(lines)
