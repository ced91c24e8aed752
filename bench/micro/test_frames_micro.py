"""Micro-benchmark of event → frame integration, with a check that no event is lost."""

from __future__ import annotations

import numpy as np
import pytest

datasets = pytest.importorskip("jelly.datasets")


@pytest.mark.parametrize("split_by", ["number", "time"])
def test_integrate_events_to_frames(benchmark, split_by):
    rng = np.random.default_rng(0)
    n = 200_000
    events = datasets.make_events(np.sort(rng.integers(0, 1_000_000, n)), rng.integers(0, 128, n),
                                  rng.integers(0, 128, n), rng.integers(0, 2, n))
    frames = benchmark(datasets.integrate_events_to_frames, events, 128, 128, 16, split_by)
    assert frames.shape == (16, 2, 128, 128)
    assert int(frames.sum()) == n
    counts = np.zeros((2, 128, 128))
    np.add.at(counts, (events["p"].astype(int), events["y"], events["x"]), 1)
    np.testing.assert_array_equal(frames.sum(0), counts)
