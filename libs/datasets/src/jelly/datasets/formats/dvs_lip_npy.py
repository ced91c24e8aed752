"""DVS-Lip: one NumPy ``.npy`` structured array per sample.

Layout of the real release (DVS-Lip, Tan et al., CVPR 2022,
https://sites.google.com/view/event-based-lipreading):

- ``DVS-Lip.zip`` (Google Drive, manual download) extracts to ``DVS-Lip/train/<word>/<n>.npy``
  and ``DVS-Lip/test/<word>/<n>.npy``; 100 words (the folder names; the authors number them
  in sorted folder order), recorded with a DAVIS346 and cropped to 128 x 128 pixels around the
  mouth;
- each ``.npy`` is a 1-D structured array with the fields ``t`` (µs), ``x``, ``y``, ``p``;
  tonic describes them as ``x``/``y`` int16, ``p`` bool and ``t`` int64, in the order
  ``x, y, p, t`` (:data:`DVS_LIP_DTYPE`), which :func:`write_dvs_lip` writes.

The reader selects the fields by name, so it also reads files with another field order or other
integer/boolean field types (tonic's own fake test files, for instance, use
``t`` int32 and ``x, y, p`` int8).

Sources: the authors' loader ``utils/dataset.py`` (https://github.com/tgc1997/event-based-lip-reading:
field names, folder layout, sorted word folders, the 96 x 96 centre crop of the 128 x 128
frame), tonic ``datasets/dvs_lips.py`` (dtype, sensor size (128, 128), the 100 words),
SpikingJelly ``datasets/dvs_lip.py`` (H = W = 128, archive layout).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
    "DVS_LIP_SENSOR_SIZE",
    "DVS_LIP_DTYPE",
    "read_dvs_lip",
    "write_dvs_lip",
]

DVS_LIP_SENSOR_SIZE: tuple[int, int] = (128, 128)
"""``(width, height)`` of the cropped frame."""

DVS_LIP_DTYPE: np.dtype = np.dtype([("x", "<i2"), ("y", "<i2"), ("p", "?"), ("t", "<i8")])
"""Structured dtype written by :func:`write_dvs_lip` (as described by tonic)."""

_NOT_CORRUPTION = (FileNotFoundError, PermissionError, IsADirectoryError)


def read_dvs_lip(
    path: PathLike, *, sensor_size: tuple[int, int] | None = DVS_LIP_SENSOR_SIZE
) -> dict[str, np.ndarray]:
    """Read one DVS-Lip sample (``.npy`` structured array) into an events dict.

    Args:
        path: The ``.npy`` file.
        sensor_size: ``(width, height)`` the coordinates must lie in; ``None`` skips the check.

    Returns:
        ``{'t': int64 µs, 'x': int16, 'y': int16, 'p': uint8 in {0, 1}}`` in file order.

    Raises:
        CorruptFileError: If the file is not a readable ``.npy`` (truncated, bad header, pickled
            objects), is not a 1-D structured array with integer/boolean fields ``t, x, y, p``,
            a polarity is not 0/1 (or -1/1) or a coordinate is outside the sensor.
    """
    try:
        arr = np.load(os.fspath(path), allow_pickle=False)
    except _NOT_CORRUPTION:
        raise
    except Exception as exc:  # numpy raises ValueError/EOFError/OSError on damaged files
        raise CorruptFileError(
            path, f"unreadable .npy file, truncated or damaged ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(arr, np.ndarray) or arr.dtype.names is None:
        raise CorruptFileError(
            path,
            f"expected a structured array with fields t, x, y, p, got dtype {arr.dtype}",
        )
    missing = [k for k in "txyp" if k not in arr.dtype.names]
    if missing:
        raise CorruptFileError(path, f"missing field(s) {missing} (found {list(arr.dtype.names)})")
    if arr.ndim != 1:
        raise CorruptFileError(path, f"expected a 1-D array of events, got shape {arr.shape}")
    for k in "txyp":
        if arr.dtype.fields[k][0].kind not in "biu":
            raise CorruptFileError(
                path, f"field '{k}' must hold integers, got dtype {arr.dtype.fields[k][0]}"
            )
    cols = {k: integer_column(path, k, arr[k]) for k in "txyp"}
    p = polarity_column(path, "p", cols["p"])
    return assemble_events(path, cols["t"], cols["x"], cols["y"], p, sensor_size)


def write_dvs_lip(
    path: PathLike,
    events: Mapping[str, Any],
    *,
    dtype: np.dtype | None = None,
    sensor_size: tuple[int, int] | None = DVS_LIP_SENSOR_SIZE,
) -> None:
    """Write one DVS-Lip sample as a ``.npy`` structured array.

    Args:
        path: Target file (written as given; no ``.npy`` is appended).
        events: Events dict ``t, x, y, p`` (``p`` in {0, 1} or {-1, 1}; stored as 0/1).
        dtype: Structured dtype with fields ``t, x, y, p`` (default :data:`DVS_LIP_DTYPE`).
        sensor_size: ``(width, height)`` the coordinates must lie in; ``None`` skips the check.

    Raises:
        ValueError: On malformed events, coordinates outside the sensor, a dtype without the four
            fields or values that do not fit it.
    """
    dt = DVS_LIP_DTYPE if dtype is None else np.dtype(dtype)
    if dt.names is None or any(k not in dt.names for k in "txyp"):
        raise ValueError(f"dtype must be structured with fields t, x, y, p, got {dt}")
    ev = events_to_write(events)
    if sensor_size is not None:
        try:
            check_sensor(path, ev["x"], ev["y"], sensor_size)
        except CorruptFileError as exc:
            raise ValueError(f"cannot write {os.fspath(path)}: {exc.reason}") from None
    out = np.zeros(ev["t"].shape[0], dtype=dt)
    for k in "txyp":
        check_fits(k, ev[k], dt.fields[k][0], "this DVS-Lip dtype")
        out[k] = ev[k]
    with open(path, "wb") as fh:
        np.save(fh, out, allow_pickle=False)
