"""Conversion between Jelly's event dicts and tonic's structured event arrays.

tonic (``pip install jelly-datasets[tonic]``) stores events as one numpy structured array with
fields ``x``, ``y``, ``t``, ``p`` (audio data sets have no ``y``). These helpers need only numpy;
:func:`tonic_transform` wraps any tonic transform so it applies to Jelly's event dicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .events import check_events, make_events

__all__ = ["TONIC_EVENT_DTYPE", "to_tonic_events", "from_tonic_events", "tonic_transform"]

TONIC_EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
"""Default dtype of :func:`to_tonic_events` (fields ``x, y, t, p``)."""


def to_tonic_events(events: dict[str, np.ndarray], dtype: Any = None, with_y: bool = True) -> np.ndarray:
    """Pack an event dict into a tonic-style structured array.

    Args:
        events: Event stream (dict of 1-D arrays ``t, x, y, p``).
        dtype: Structured dtype to produce (default :data:`TONIC_EVENT_DTYPE`); its fields
            must be a subset of ``x, y, t, p``.
        with_y: Keep the ``y`` field (``False`` for audio data sets, as tonic's SHD).

    Returns:
        Structured array of length ``N``.
    """
    check_events(events)
    if dtype is None:
        dtype = (
            TONIC_EVENT_DTYPE if with_y else np.dtype([(n, TONIC_EVENT_DTYPE[n]) for n in ("x", "t", "p")])
        )
    dtype = np.dtype(dtype)
    unknown = [n for n in dtype.names or () if n not in "xytp"]
    if not dtype.names or unknown:
        raise ValueError(f"dtype must be structured with fields among x, y, t, p; got {dtype}")
    out = np.empty(events["t"].shape[0], dtype=dtype)
    for name in dtype.names:
        out[name] = events[name]
    return out


def from_tonic_events(array: np.ndarray) -> dict[str, np.ndarray]:
    """Unpack a tonic-style structured array into an event dict.

    Missing ``y`` (audio) becomes zeros; missing ``p`` becomes ones; boolean or -1/1
    polarities become {0, 1}; float time stamps (tonic's audio sets) are rounded to integers.

    Args:
        array: Structured array with at least fields ``x`` and ``t``.

    Returns:
        Event dict with the standard dtypes (see :mod:`jelly.datasets.events`).

    Raises:
        ValueError: If ``array`` is not a 1-D structured array with ``x`` and ``t``.
    """
    array = np.asarray(array)
    names = array.dtype.names
    if names is None or array.ndim != 1 or "x" not in names or "t" not in names:
        raise ValueError(
            f"expected a 1-D structured array with fields x, t (and y, p), got dtype {array.dtype} "
            f"and shape {array.shape}"
        )
    n = array.shape[0]
    t = array["t"]
    if t.dtype.kind == "f":
        t = np.rint(t)
    y = array["y"] if "y" in names else np.zeros(n, dtype=np.int16)
    p = array["p"] if "p" in names else np.ones(n, dtype=np.uint8)
    return make_events(t, array["x"], y, p)


def tonic_transform(transform: Callable[[np.ndarray], Any], dtype: Any = None) -> Callable[[dict], Any]:
    """Wrap a tonic transform so it takes (and, for event outputs, returns) Jelly event dicts.

    Example:
        >>> import tonic.transforms as T                                  # doctest: +SKIP
        >>> ds = DVS128Gesture(root, transform=tonic_transform(T.Denoise(filter_time=10000)))

    Args:
        transform: Any callable on tonic structured arrays.
        dtype: Structured dtype passed to :func:`to_tonic_events`.

    Returns:
        A callable ``f(events_dict)``: structured-array results are converted back to dicts,
        anything else (e.g. frames from ``ToFrame``) is returned as is.
    """

    def apply(events: dict[str, np.ndarray]) -> Any:
        out = transform(to_tonic_events(events, dtype=dtype))
        if isinstance(out, np.ndarray) and out.dtype.names is not None and out.ndim == 1:
            return from_tonic_events(out)
        return out

    apply.__name__ = f"tonic_{getattr(transform, '__name__', type(transform).__name__)}"
    return apply
