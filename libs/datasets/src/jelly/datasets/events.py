"""Event streams: a ``dict`` of four 1-D numpy arrays ``t, x, y, p`` (SpikingJelly's convention).

- ``t``: ``np.int64`` time stamps in microseconds;
- ``x``, ``y``: ``np.int16`` pixel coordinates (audio data sets: ``x`` = channel, ``y`` = 0);
- ``p``: ``np.uint8`` polarity in {0, 1} (0 = OFF, 1 = ON).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "EVENT_DTYPES",
    "Events",
    "make_events",
    "empty_events",
    "check_events",
    "concatenate_events",
    "slice_events",
    "events_equal",
    "normalise_polarity",
]

Events = dict
"""Type alias of an event stream: ``dict[str, np.ndarray]`` with keys ``t, x, y, p``."""

EVENT_DTYPES: dict[str, np.dtype] = {
    "t": np.dtype(np.int64),
    "x": np.dtype(np.int16),
    "y": np.dtype(np.int16),
    "p": np.dtype(np.uint8),
}
"""The dtype of each field of an event stream."""


def _cast_int(name: str, values: Any, dtype: np.dtype) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"events['{name}'] must be 1-D, got shape {arr.shape}")
    if arr.dtype == dtype:
        return arr
    if arr.size and arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(f"events['{name}'] holds non-integer values (dtype {arr.dtype})")
    elif arr.dtype.kind not in "iub" and arr.size:
        raise ValueError(f"events['{name}'] must be numeric, got dtype {arr.dtype}")
    if arr.size and arr.dtype.kind in "iuf":
        info = np.iinfo(dtype)
        lo, hi = arr.min(), arr.max()
        if lo < info.min or hi > info.max:
            raise ValueError(
                f"events['{name}'] values [{lo}, {hi}] do not fit in {dtype} [{info.min}, {info.max}]"
            )
    return arr.astype(dtype)


def normalise_polarity(p: Any) -> np.ndarray:
    """Map a polarity array to ``uint8`` {0, 1}.

    Accepts {0, 1}, {-1, 1} (``-1`` → 0) and booleans.

    Args:
        p: Polarity values.

    Returns:
        ``np.uint8`` array of 0 (OFF) and 1 (ON).

    Raises:
        ValueError: On any other value.
    """
    arr = np.asarray(p)
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8)
    if arr.size == 0:
        return arr.astype(np.uint8)
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError("polarity holds non-finite values")
    bad = (arr != 0) & (arr != 1) & (arr != -1)
    if np.any(bad):
        raise ValueError(f"polarity must be in {{0, 1}} or {{-1, 1}}, got value {arr[bad][0]}")
    return (arr > 0).astype(np.uint8)


def make_events(t: Any, x: Any, y: Any, p: Any) -> dict[str, np.ndarray]:
    """Build a validated event stream with the standard dtypes.

    Args:
        t: Time stamps (µs), integer-valued.
        x: Column (or channel) indices.
        y: Row indices.
        p: Polarities in {0, 1} or {-1, 1} (``-1`` is mapped to 0).

    Returns:
        ``{'t': int64, 'x': int16, 'y': int16, 'p': uint8}``.

    Raises:
        ValueError: On arrays of different lengths, non-1-D arrays, values that do not fit
            the dtypes or polarities outside {-1, 0, 1}.
    """
    ev = {
        "t": _cast_int("t", t, EVENT_DTYPES["t"]),
        "x": _cast_int("x", x, EVENT_DTYPES["x"]),
        "y": _cast_int("y", y, EVENT_DTYPES["y"]),
        "p": normalise_polarity(p),
    }
    lengths = {k: v.shape[0] for k, v in ev.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"event arrays have different lengths: {lengths}")
    return ev


def empty_events() -> dict[str, np.ndarray]:
    """Return an event stream with no events (correct dtypes)."""
    return {k: np.zeros(0, dtype=d) for k, d in EVENT_DTYPES.items()}


def check_events(events: Any, name: str = "events") -> dict[str, np.ndarray]:
    """Check that ``events`` is a dict with 1-D arrays ``t, x, y, p`` of equal length.

    Unlike :func:`make_events`, this does not cast; it is a cheap check used on hot paths.

    Args:
        events: The object to check.
        name: How to call it in error messages.

    Returns:
        ``events`` itself.

    Raises:
        TypeError: If it is not a mapping with the four keys.
        ValueError: If the arrays are not 1-D or differ in length.
    """
    if not hasattr(events, "keys") or any(k not in events for k in "txyp"):
        raise TypeError(f"{name} must be a dict with keys 't', 'x', 'y', 'p', got {type(events).__name__}")
    n = None
    for k in "txyp":
        a = events[k]
        if not isinstance(a, np.ndarray) or a.ndim != 1:
            raise ValueError(f"{name}['{k}'] must be a 1-D numpy array")
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            raise ValueError(
                f"{name}: arrays have different lengths ({name}['{k}'] has {a.shape[0]}, not {n})"
            )
    return events


def concatenate_events(streams: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Concatenate event streams field by field (in the given order)."""
    if not streams:
        return empty_events()
    return {k: np.concatenate([s[k] for s in streams]).astype(d, copy=False) for k, d in EVENT_DTYPES.items()}


def slice_events(events: dict[str, np.ndarray], index: Any) -> dict[str, np.ndarray]:
    """Return the events selected by ``index`` (a slice, a boolean mask or integer indices)."""
    return {k: events[k][index] for k in "txyp"}


def events_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """True if both streams hold exactly the same events, in the same order, with the same dtypes."""
    return all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and np.array_equal(a[k], b[k]) for k in "txyp"
    )
