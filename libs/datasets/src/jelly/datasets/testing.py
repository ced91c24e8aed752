"""Helpers for testing event-file readers and writers (yours or Jelly's).

:func:`random_events` draws a synthetic stream in the canonical layout and
:func:`assert_events_equal` checks a reader's output field by field, dtype included, with a
message naming the field that differs.
"""

from __future__ import annotations

import numpy as np

from .events import EVENT_DTYPES

__all__ = ["assert_events_equal", "random_events"]


def random_events(
    rng: np.random.Generator,
    n: int,
    sensor_size: tuple[int, int] = (128, 128),
    t_max: int = 2**32,
    sort: bool = True,
) -> dict[str, np.ndarray]:
    """``n`` random events: ``t`` in ``[0, t_max)`` (sorted unless ``sort=False``), pixels in ``sensor_size``.

    Args:
        rng: The numpy generator to draw from.
        n: Number of events.
        sensor_size: ``(width, height)``; ``x < width``, ``y < height``.
        t_max: Exclusive bound of the time stamps (microseconds).
        sort: Sort the time stamps (most formats store them in order).

    Returns:
        ``{'t', 'x', 'y', 'p'}`` as int64 arrays (cast them as the format under test needs).
    """
    width, height = sensor_size
    t = rng.integers(0, t_max, n)
    return {
        "t": np.sort(t) if sort else t,
        "x": rng.integers(0, width, n),
        "y": rng.integers(0, height, n),
        "p": rng.integers(0, 2, n),
    }


def assert_events_equal(got: dict, want: dict) -> None:
    """Assert ``got`` is an event stream in the canonical dtypes holding the values of ``want``.

    Raises:
        AssertionError: naming the extra or missing field, the field of the wrong dtype, or
            the field whose values differ.
    """
    assert set(got) == set(EVENT_DTYPES), f"fields {sorted(got)} != {sorted(EVENT_DTYPES)}"
    for key, dtype in EVENT_DTYPES.items():
        assert got[key].dtype == dtype, f"{key}: dtype {got[key].dtype}, expected {dtype}"
        np.testing.assert_array_equal(got[key], np.asarray(want[key]).astype(dtype), err_msg=key)
