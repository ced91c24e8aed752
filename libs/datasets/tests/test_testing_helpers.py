"""``jelly.datasets.testing``: random streams in range, and an equality check that can fail."""

import numpy as np
import pytest

from jelly.datasets.testing import assert_events_equal, random_events


def test_random_events_ranges_and_order():
    ev = random_events(np.random.default_rng(0), 1000, sensor_size=(34, 20), t_max=500)
    assert ev["x"].max() < 34 and ev["y"].max() < 20 and ev["t"].max() < 500 and set(ev["p"]) == {0, 1}
    assert (np.diff(ev["t"]) >= 0).all()
    unsorted = random_events(np.random.default_rng(0), 1000, t_max=10**6, sort=False)
    assert (np.diff(unsorted["t"]) < 0).any()


def test_assert_events_equal_names_what_differs():
    ev = random_events(np.random.default_rng(1), 10)
    good = {"t": ev["t"].astype(np.int64), "x": ev["x"].astype(np.int16), "y": ev["y"].astype(np.int16),
            "p": ev["p"].astype(np.uint8)}
    assert_events_equal(good, ev)
    with pytest.raises(AssertionError, match="x: dtype int64"):
        assert_events_equal(dict(good, x=ev["x"]), ev)
    with pytest.raises(AssertionError, match="fields"):
        assert_events_equal({k: v for k, v in good.items() if k != "p"}, ev)
    shifted = dict(good, y=good["y"] + np.int16(1))
    with pytest.raises(AssertionError, match="y"):
        assert_events_equal(shifted, ev)
