"""Event stream → frames: throughput of ``jelly.datasets`` integration.

Workload: ``events`` random events on a 128 x 128 sensor with 2 polarities, time stamps
sorted over 10 s (in µs), seeded. They are integrated into ``T`` frames ``[T, 2, 128, 128]``

- ``split_by='number'`` and ``'time'``: ``integrate_events_to_frames(events, H, W, T, split_by)``;
- ``'duration'``: ``integrate_events_by_fixed_duration`` with the duration that gives ``T``
  windows over the stream.

Throughput is ``events`` divided by the time. CPU only (NumPy), one thread.
"""

from __future__ import annotations

import functools

import numpy as np

from ._common import preimport, public_attr, set_threads

preimport("jelly.datasets")

SENSOR = 128
SPAN_US = 10_000_000


@functools.lru_cache(maxsize=2)
def _random_events(n: int) -> dict[str, np.ndarray]:
    """``n`` seeded random events as a ``jelly.datasets`` event dict (cached per process)."""
    make_events = public_attr("jelly.datasets", "make_events")
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, SPAN_US, n))
    return make_events(t, rng.integers(0, SENSOR, n), rng.integers(0, SENSOR, n), rng.integers(0, 2, n))


class EventsToFrames:
    """Integration of a random event stream into frames, three ways of cutting it."""

    params = (("number", "time", "duration"), (100_000, 2_000_000), (8, 64))
    param_names = ("split_by", "events", "T")
    timeout = 60
    repeat = (2, 8, 1.0)
    warmup_time = 0.05

    def setup(self, split_by, n, T):
        set_threads()
        self.events = _random_events(n)
        if split_by == "duration":
            by_duration = public_attr("jelly.datasets", "integrate_events_by_fixed_duration")
            duration = -(-SPAN_US // T)  # ceil: exactly T windows over [0, SPAN_US)
            self.call = lambda: by_duration(self.events, SENSOR, SENSOR, duration)
        else:
            to_frames = public_attr("jelly.datasets", "integrate_events_to_frames")
            self.call = lambda: to_frames(self.events, SENSOR, SENSOR, T, split_by)

    def time_integrate(self, split_by, n, T):
        self.call()
