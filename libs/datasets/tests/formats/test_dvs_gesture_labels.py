"""Tests of the DVS128 Gesture label CSV reader/writer and the per-label split."""

from __future__ import annotations

import numpy as np
import pytest

from jelly.datasets.errors import CorruptFileError
from jelly.datasets.formats.aedat31 import read_aedat31, write_aedat31
from jelly.datasets.formats.dvs_gesture_labels import (
    LabelSegment,
    read_dvs_gesture_labels,
    split_events_by_labels,
    write_dvs_gesture_labels,
)


def test_read_real_layout(tmp_path):
    path = tmp_path / "user01_fluorescent_labels.csv"
    path.write_bytes(
        b"class,startTime_usec,endTime_usec\r\n1,80048239,85092709\r\n11,89431170,95231007\r\n\r\n"
    )
    segs = read_dvs_gesture_labels(path)
    assert segs == [LabelSegment(0, 80048239, 85092709), LabelSegment(10, 89431170, 95231007)]
    assert isinstance(segs[0].label, int)


def test_write_read_round_trip(tmp_path):
    path = tmp_path / "labels.csv"
    segs = [LabelSegment(k, 1000 * k, 1000 * k + 500) for k in range(11)]
    write_dvs_gesture_labels(path, segs)
    text = path.read_text()
    assert text.startswith("class,startTime_usec,endTime_usec\n") or text.startswith(
        "class,startTime_usec,endTime_usec\r"
    )
    assert "\n1,0,500" in text.replace("\r", "")  # labels are written 1-based
    assert read_dvs_gesture_labels(path) == segs


def test_header_only_gives_no_segments(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("class,startTime_usec,endTime_usec\n")
    assert read_dvs_gesture_labels(path) == []


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty label file"),
        ("label,start,end\n1,0,5\n", "line 1: header"),
        ("class,startTime_usec,endTime_usec\n1,0\n", "line 2.*three integers"),
        ("class,startTime_usec,endTime_usec\n1,0,5\n1,a,5\n", "line 3.*three integers"),
        ("class,startTime_usec,endTime_usec\n0,0,5\n", "class 0 is outside 1..11"),
        ("class,startTime_usec,endTime_usec\n12,0,5\n", "class 12 is outside 1..11"),
        ("class,startTime_usec,endTime_usec\n3,10,5\n", "bad time interval"),
        ("class,startTime_usec,endTime_usec\n3,-1,5\n", "bad time interval"),
    ],
)
def test_corrupt_csv(tmp_path, text, match):
    path = tmp_path / "user02_led_labels.csv"
    path.write_text(text)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_dvs_gesture_labels(path)
    assert "user02_led_labels.csv" in str(info.value)


def test_binary_csv_is_corrupt(tmp_path):
    path = tmp_path / "x_labels.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CorruptFileError, match="not a text file"):
        read_dvs_gesture_labels(path)


def test_missing_csv_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_dvs_gesture_labels(tmp_path / "missing_labels.csv")


def _reference_split(events, segments):
    # SpikingJelly's rule, written with plain boolean masks
    out = []
    for label, start, end in segments:
        mask = (events["t"] >= start) & (events["t"] < end)
        out.append(({k: v[mask] for k, v in events.items()}, label))
    return out


@pytest.mark.parametrize("sort", [True, False])
def test_split_semantics(sort):
    rng = np.random.default_rng(40)
    n = 5000
    t = rng.integers(0, 100_000, n)
    events = {
        "t": np.sort(t) if sort else t,
        "x": rng.integers(0, 128, n).astype(np.int16),
        "y": rng.integers(0, 128, n).astype(np.int16),
        "p": rng.integers(0, 2, n).astype(np.uint8),
    }
    # boundaries placed exactly on event times, overlapping and empty segments included
    e = np.sort(events["t"])
    segs = [
        LabelSegment(0, int(e[10]), int(e[900])),
        LabelSegment(8, int(e[800]), int(e[2000])),  # overlaps the previous one (user22_led case)
        LabelSegment(3, 200_000, 300_000),  # after the recording: empty
        LabelSegment(3, int(e[3000]), int(e[3000])),  # zero length: empty
        LabelSegment(10, 0, int(e[-1]) + 1),  # everything
    ]
    got = split_events_by_labels(events, segs)
    want = _reference_split(events, segs)
    assert [lab for _, lab in got] == [0, 8, 3, 3, 10]
    for (g, gl), (w, wl) in zip(got, want):
        assert gl == wl
        for k in "txyp":
            np.testing.assert_array_equal(g[k], w[k])
            assert g[k].dtype == events[k].dtype
    assert got[2][0]["t"].size == 0 and got[3][0]["t"].size == 0
    assert got[4][0]["t"].size == n  # the last event (t = max) is kept: end is exclusive but > max
    # start inclusive, end exclusive
    assert got[0][0]["t"].min() == e[10] and (got[0][0]["t"] < e[900]).all()


def test_split_whole_recording_from_files(tmp_path):
    rng = np.random.default_rng(41)
    n = 20_000
    events = {
        "t": np.sort(rng.integers(0, 10_000_000, n)),
        "x": rng.integers(0, 128, n),
        "y": rng.integers(0, 128, n),
        "p": rng.integers(0, 2, n),
    }
    segs = [LabelSegment(k, 800_000 * k + 1, 800_000 * k + 600_000) for k in range(11)]
    write_aedat31(tmp_path / "user03_natural.aedat", events, events_per_packet=1000)
    write_dvs_gesture_labels(tmp_path / "user03_natural_labels.csv", segs)
    rec = read_aedat31(tmp_path / "user03_natural.aedat", sensor_size=(128, 128))
    samples = split_events_by_labels(rec, read_dvs_gesture_labels(tmp_path / "user03_natural_labels.csv"))
    assert [lab for _, lab in samples] == list(range(11))
    for (sample, _), seg in zip(samples, segs):
        mask = (events["t"] >= seg.start) & (events["t"] < seg.end)
        np.testing.assert_array_equal(sample["t"], events["t"][mask])
        np.testing.assert_array_equal(sample["x"], events["x"][mask])
        assert sample["t"].size > 0


def test_split_rejects_non_events():
    with pytest.raises(TypeError):
        split_events_by_labels({"t": np.zeros(3)}, [(0, 0, 1)])
