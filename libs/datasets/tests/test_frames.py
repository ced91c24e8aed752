"""Events → frames: exact counts against a per-event reference, and the fixes over the peers."""

import numpy as np
import pytest

from jelly.datasets import (
    integrate_events_by_fixed_duration,
    integrate_events_by_fixed_frames_number,
    integrate_events_to_frames,
    make_events,
)
from jelly.datasets.frames import events_to_linear_index, frame_boundaries


def rand_events(rng, n, W, H, t_max=10_000, sort=True):
    t = rng.integers(0, t_max + 1, n)
    if sort:
        t = np.sort(t)
    return make_events(t, rng.integers(0, W, n), rng.integers(0, H, n), rng.integers(0, 2, n))


def reference_frames(ev, H, W, window_of_event, T):
    """Slow, obviously-correct integration: one event at a time."""
    out = np.zeros((T, 2, H, W), dtype=np.float32)
    for i in range(ev["t"].shape[0]):
        out[window_of_event(i), 1 if ev["p"][i] else 0, ev["y"][i], ev["x"][i]] += 1
    return out


@pytest.mark.parametrize("n,T", [(1000, 7), (64, 8), (5, 8), (1, 3), (17, 1)])
def test_split_by_number_matches_reference(n, T):
    rng = np.random.default_rng(n + T)
    ev = rand_events(rng, n, 5, 3)
    d = n // T
    ref = reference_frames(ev, 3, 5, lambda i: min(i // d, T - 1) if d else T - 1, T)
    got = integrate_events_to_frames(ev, 3, 5, T, "number")
    assert got.dtype == np.float32 and got.shape == (T, 2, 3, 5)
    np.testing.assert_array_equal(got, ref)
    assert got.sum() == n  # the last event is never dropped


@pytest.mark.parametrize("seed", range(4))
def test_split_by_time_matches_reference(seed):
    rng = np.random.default_rng(seed)
    ev = rand_events(rng, 500, 6, 4, t_max=int(rng.integers(50, 20_000)))
    T = 9
    t0 = int(ev["t"][0])
    dt = max(1, (int(ev["t"][-1]) - t0) // T)
    ref = reference_frames(ev, 4, 6, lambda i: min((int(ev["t"][i]) - t0) // dt, T - 1), T)
    np.testing.assert_array_equal(integrate_events_to_frames(ev, 4, 6, T, "time"), ref)


def test_empty_time_window_gives_empty_frame():
    # events only at the very beginning and the end: the middle windows are empty
    ev = make_events([0, 1, 2, 997, 998, 1000], [0, 1, 2, 3, 0, 1], [0] * 6, [1, 0, 1, 1, 0, 0])
    frames = integrate_events_to_frames(ev, 1, 4, 10, "time")
    assert frames.shape == (10, 2, 1, 4)
    assert frames[0].sum() == 3 and frames[9].sum() == 3
    assert np.all(frames[1:9] == 0)


def test_stream_shorter_than_T_microseconds():
    ev = make_events([5, 5, 6, 7], [0, 1, 2, 3], [0] * 4, [1] * 4)
    frames = integrate_events_to_frames(ev, 1, 4, 8, "time")  # dt = max(1, 2 // 8) = 1
    np.testing.assert_array_equal(frames.sum(axis=(1, 2, 3)), [2, 1, 1, 0, 0, 0, 0, 0])


def test_empty_stream_gives_zero_frames():
    ev = make_events([], [], [], [])
    for split_by in ("number", "time"):
        assert integrate_events_to_frames(ev, 2, 3, 4, split_by).shape == (4, 2, 2, 3)
        assert integrate_events_to_frames(ev, 2, 3, 4, split_by).sum() == 0
    assert integrate_events_by_fixed_duration(ev, 2, 3, 100).shape == (0, 2, 2, 3)


def test_fixed_duration_matches_reference_and_keeps_last_event():
    rng = np.random.default_rng(1)
    ev = rand_events(rng, 400, 5, 5, t_max=10_000)
    ev["t"][-1] = ev["t"][0] + 10_000  # last event exactly on a window edge (t0 + 10 D)
    ev["t"] = np.sort(ev["t"])
    D = 1000
    t0 = int(ev["t"][0])
    T = (int(ev["t"][-1]) - t0) // D + 1
    assert T == 11
    ref = reference_frames(ev, 5, 5, lambda i: (int(ev["t"][i]) - t0) // D, T)
    got = integrate_events_by_fixed_duration(ev, 5, 5, D)
    np.testing.assert_array_equal(got, ref)
    assert got[-1].sum() >= 1 and got.sum() == 400


def test_fixed_duration_gap_gives_empty_frames():
    ev = make_events([0, 10, 5000], [0, 1, 2], [0, 0, 0], [0, 1, 1])
    got = integrate_events_by_fixed_duration(ev, 1, 3, 1000)
    np.testing.assert_array_equal(got.sum(axis=(1, 2, 3)), [2, 0, 0, 0, 0, 1])


@pytest.mark.parametrize("name,value", [("x", 5), ("x", -1), ("y", 3)])
def test_out_of_range_coordinates_are_reported(name, value):
    ev = make_events([0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 0])
    ev[name] = ev[name].copy()
    ev[name][1] = value
    with pytest.raises(ValueError, match=rf"events\['{name}'\].*outside the sensor.*index 1"):
        integrate_events_to_frames(ev, 3, 5, 2, "number")
    with pytest.raises(ValueError, match="outside the sensor"):
        integrate_events_by_fixed_duration(ev, 3, 5, 10)


def test_x_overflow_is_not_spilled_into_next_row():
    # SpikingJelly would count x == W as pixel (y + 1, 0); we refuse it
    ev = make_events([0], [4], [0], [1])
    with pytest.raises(ValueError, match="width W=4"):
        integrate_events_to_frames(ev, 2, 4, 1)


def test_polarity_other_than_0_1_counts_as_on():
    ev = {
        "t": np.array([0, 1, 2]),
        "x": np.array([0, 1, 1], np.int16),
        "y": np.zeros(3, np.int16),
        "p": np.array([-1, 1, 0], np.int8),
    }
    frames = integrate_events_to_frames(ev, 1, 2, 1)
    np.testing.assert_array_equal(frames[0, 1, 0], [1, 1])  # -1 and 1 are non-zero: channel 1 (SJ's rule)
    np.testing.assert_array_equal(frames[0, 0, 0], [0, 1])


def test_unsorted_time_with_split_by_time_raises():
    ev = make_events([5, 1, 9], [0, 0, 0], [0, 0, 0], [0, 0, 0])
    with pytest.raises(ValueError, match="non-decreasing"):
        integrate_events_to_frames(ev, 1, 1, 2, "time")
    assert integrate_events_to_frames(ev, 1, 1, 2, "number").sum() == 3  # by number needs no order


@pytest.mark.parametrize("bad", [dict(frames_number=0), dict(frames_number=2.5), dict(split_by="count")])
def test_bad_arguments(bad):
    ev = make_events([0, 1], [0, 0], [0, 0], [0, 1])
    kwargs = {"frames_number": 2, "split_by": "number", **bad}
    with pytest.raises(ValueError):
        integrate_events_to_frames(ev, 1, 1, **kwargs)


def test_spikingjelly_order_alias_and_chunking():
    rng = np.random.default_rng(3)
    ev = rand_events(rng, 200_000, 16, 8, t_max=10**6)  # more events than one histogram chunk
    a = integrate_events_by_fixed_frames_number(ev, "number", 5, 8, 16)
    b = integrate_events_to_frames(ev, 8, 16, 5, "number")
    np.testing.assert_array_equal(a, b)
    index = events_to_linear_index(ev, 8, 16)
    np.testing.assert_array_equal(b.sum(0).reshape(-1), np.bincount(index, minlength=2 * 8 * 16))


def test_frame_boundaries():
    t = np.array([0, 0, 1, 5, 9, 10])
    np.testing.assert_array_equal(frame_boundaries(t, 3, "number"), [0, 2, 4, 6])
    np.testing.assert_array_equal(frame_boundaries(t, 2, "time"), [0, 3, 6])  # dt = 5, edge at t=5
