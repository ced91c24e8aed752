"""Shared checks for formats that store events as numeric arrays (``.mat``, ``.npz``, ``.npy``, HDF5).

These containers already know their dtypes and lengths, so decoding is a matter of checking what
was read: every column numeric, integer-valued and finite, all columns of one length, polarity in
{0, 1} or {-1, 1}, coordinates inside the sensor. Each failed check raises
:class:`~jelly.datasets.errors.CorruptFileError` naming the file and the offending column, so a
bad sample is found at once instead of turning into garbage frames later.

Private module: the public readers and writers live in the per-format modules.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..events import EVENT_DTYPES

PathLike = str | os.PathLike


def import_optional(module: str, extra: str, purpose: str) -> ModuleType:
    """Import an optional dependency or raise an ImportError naming the pip extra to install.

    Args:
        module: Module to import (``'scipy.io'``, ``'h5py'``).
        extra: Name of the ``jelly-datasets`` extra that provides it (``'mat'``, ``'hdf5'``).
        purpose: What it is needed for, for the message.

    Returns:
        The imported module.

    Raises:
        ImportError: If the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise ImportError(
            f"{purpose} needs the optional dependency '{top}', which is not installed; "
            f"install it with: pip install 'jelly-datasets[{extra}]'"
        ) from exc


def integer_column(path: PathLike, name: str, values: Any, *, squeeze: bool = False) -> np.ndarray:
    """Check that a column read from a file is a 1-D array of finite integers; return it as int64.

    Floating-point columns are accepted when every value is integral (MATLAB stores doubles by
    default); booleans are accepted as 0/1.

    Args:
        path: The file the column comes from (for the error message).
        name: The column's name in the file.
        values: What was read.
        squeeze: Accept column or row vectors (``(N, 1)``/``(1, N)``), as MATLAB writes them.

    Returns:
        A 1-D ``np.int64`` array.

    Raises:
        CorruptFileError: On a non-numeric dtype, a wrong shape, or non-integral/non-finite values.
    """
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise CorruptFileError(path, f"column '{name}' has non-numeric dtype {arr.dtype}")
    if squeeze and arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if squeeze and arr.ndim == 2 and arr.size == 0:
        arr = arr.reshape(0)
    if arr.ndim != 1:
        raise CorruptFileError(path, f"column '{name}' must be a vector, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if arr.size and not np.all(np.isfinite(arr)):
            raise CorruptFileError(path, f"column '{name}' holds NaN or infinite values")
        if arr.size and np.any(arr != np.round(arr)):
            bad = int(np.flatnonzero(arr != np.round(arr))[0])
            raise CorruptFileError(
                path, f"column '{name}' holds non-integer values (first at index {bad}: {arr[bad]!r})"
            )
        if arr.size and (arr.min() < -(2.0**63) or arr.max() >= 2.0**63):
            raise CorruptFileError(path, f"column '{name}' holds values outside the int64 range")
    elif (
        arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > np.iinfo(np.int64).max
    ):
        raise CorruptFileError(path, f"column '{name}' holds values outside the int64 range")
    return arr.astype(np.int64)


def polarity_column(path: PathLike, name: str, values: np.ndarray) -> np.ndarray:
    """Normalise an int64 polarity column to ``uint8`` {0, 1} (``-1`` → 0), rejecting other values.

    Args:
        path: The file (for the error message).
        name: The column's name in the file.
        values: 1-D int64 polarities.

    Returns:
        ``np.uint8`` array of 0 (OFF) and 1 (ON).

    Raises:
        CorruptFileError: If a polarity is not in {-1, 0, 1}.
    """
    bad = (values != 0) & (values != 1) & (values != -1)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise CorruptFileError(
            path, f"polarity column '{name}' must hold 0/1 or -1/1, got {values[i]} at index {i}"
        )
    return (values > 0).astype(np.uint8)


def check_same_length(path: PathLike, columns: Mapping[str, np.ndarray]) -> int:
    """Raise CorruptFileError unless every column has the same length; return that length."""
    lengths = {k: int(v.shape[0]) for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise CorruptFileError(path, f"event columns have different lengths: {lengths}")
    return next(iter(lengths.values())) if lengths else 0


def check_range(path: PathLike, name: str, values: np.ndarray, low: int, high: int, what: str) -> None:
    """Raise CorruptFileError if any value is outside ``[low, high)``.

    The message gives the number of offending events and the first one, so that an
    out-of-range coordinate is reported instead of being spilled into a neighbouring pixel.

    Args:
        path: The file (for the error message).
        name: Column name.
        values: Integer values.
        low: Smallest allowed value.
        high: One past the largest allowed value.
        what: Description of the range (e.g. ``'sensor width 240'``).
    """
    if values.size == 0:
        return
    bad = (values < low) | (values >= high)
    if np.any(bad):
        idx = np.flatnonzero(bad)
        i = int(idx[0])
        raise CorruptFileError(
            path,
            f"{idx.size} event(s) have '{name}' outside [{low}, {high - 1}] ({what}); "
            f"first at index {i}: {name}={values[i]}",
        )


def check_sensor(path: PathLike, x: np.ndarray, y: np.ndarray, sensor_size: tuple[int, int] | None) -> None:
    """Check ``0 <= x < width`` and ``0 <= y < height`` for ``sensor_size = (width, height)``.

    ``sensor_size=None`` skips the check.
    """
    if sensor_size is None:
        return
    width, height = (int(v) for v in sensor_size)
    check_range(path, "x", x, 0, width, f"sensor width {width}")
    check_range(path, "y", y, 0, height, f"sensor height {height}")


def assemble_events(
    path: PathLike,
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    sensor_size: tuple[int, int] | None,
) -> dict[str, np.ndarray]:
    """Build the standard events dict from int64 columns (``p`` already uint8), checking everything.

    Args:
        path: The file (for error messages).
        t: int64 time stamps.
        x: int64 columns (x).
        y: int64 rows (y).
        p: uint8 polarities in {0, 1}.
        sensor_size: ``(width, height)`` to check coordinates against, or ``None``.

    Returns:
        ``{'t': int64, 'x': int16, 'y': int16, 'p': uint8}``.

    Raises:
        CorruptFileError: On mismatched lengths, coordinates outside the sensor or outside int16.
    """
    check_same_length(path, {"t": t, "x": x, "y": y, "p": p})
    check_sensor(path, x, y, sensor_size)
    info = np.iinfo(np.int16)
    for name, col in (("x", x), ("y", y)):
        check_range(path, name, col, int(info.min), int(info.max) + 1, "int16")
    return {
        "t": t.astype(EVENT_DTYPES["t"], copy=False),
        "x": x.astype(EVENT_DTYPES["x"]),
        "y": y.astype(EVENT_DTYPES["y"]),
        "p": p.astype(EVENT_DTYPES["p"], copy=False),
    }


def events_to_write(events: Any) -> dict[str, np.ndarray]:
    """Validate the events given to a writer; return int64 ``t, x, y`` and uint8 ``p`` in {0, 1}.

    Args:
        events: A mapping with 1-D arrays ``t, x, y, p`` of equal length.

    Returns:
        A new dict with ``t, x, y`` as int64 and ``p`` as uint8.

    Raises:
        TypeError: If ``events`` is not a mapping with the four keys.
        ValueError: On arrays of different lengths, non-integer values or bad polarities.
    """
    if not isinstance(events, Mapping) or any(k not in events for k in "txyp"):
        raise TypeError("events must be a dict with keys 't', 'x', 'y', 'p'")
    out: dict[str, np.ndarray] = {}
    for k in "txyp":
        arr = np.asarray(events[k])
        if arr.ndim != 1:
            raise ValueError(f"events['{k}'] must be 1-D, got shape {arr.shape}")
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"events['{k}'] must be numeric, got dtype {arr.dtype}")
        if (
            arr.dtype.kind == "f"
            and arr.size
            and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)))
        ):
            raise ValueError(f"events['{k}'] holds non-integer values")
        out[k] = arr.astype(np.int64)
    lengths = {k: v.shape[0] for k, v in out.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"event arrays have different lengths: {lengths}")
    p = out["p"]
    if np.any((p != 0) & (p != 1) & (p != -1)):
        raise ValueError("events['p'] must hold 0/1 (or -1/1)")
    out["p"] = (p > 0).astype(np.uint8)
    return out


def check_fits(name: str, values: np.ndarray, dtype: np.dtype | type, fmt: str) -> None:
    """Raise ValueError if ``values`` cannot be stored in ``dtype`` without wrapping around.

    Args:
        name: Field name (for the message).
        values: int64 values to store.
        dtype: Target on-disk dtype (integer or float).
        fmt: Name of the format (for the message).
    """
    dt = np.dtype(dtype)
    if values.size == 0 or dt.kind not in "iu":
        return
    info = np.iinfo(dt)
    lo, hi = int(values.min()), int(values.max())
    if lo < info.min or hi > info.max:
        raise ValueError(
            f"{fmt} stores '{name}' as {dt}, which cannot hold the values [{lo}, {hi}] "
            f"(range [{info.min}, {info.max}])"
        )
