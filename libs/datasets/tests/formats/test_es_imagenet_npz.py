"""Tests of the ES-ImageNet .npz (pos/neg) reader/writer."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from jelly.datasets.errors import CorruptFileError
from jelly.datasets.formats.es_imagenet_npz import (
    ES_IMAGENET_N_STEPS,
    ES_IMAGENET_SENSOR_SIZE,
    read_es_imagenet,
    write_es_imagenet,
)
from jelly.datasets.testing import assert_events_equal


def random_events(rng, n):
    """Random events in the reader's order: by step, ON before OFF within a step."""
    ev = {
        "t": rng.integers(0, 8, n),
        "x": rng.integers(17, 240, n),
        "y": rng.integers(17, 240, n),
        "p": rng.integers(0, 2, n),
    }
    order = np.lexsort((1 - ev["p"], ev["t"]))
    return {k: v[order] for k, v in ev.items()}


def test_constants():
    assert ES_IMAGENET_SENSOR_SIZE == (256, 256)
    assert ES_IMAGENET_N_STEPS == 8


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip(tmp_path, compress):
    ev = random_events(np.random.default_rng(0), 5000)
    path = tmp_path / "class0_1.npz"
    write_es_imagenet(path, ev, compress=compress)
    assert_events_equal(read_es_imagenet(path), ev)


def test_written_file_has_release_layout(tmp_path):
    path = tmp_path / "class3_7.npz"
    ev = {"t": [0, 0, 3, 7], "x": [20, 21, 22, 23], "y": [30, 31, 32, 33], "p": [1, 0, 1, 0]}
    write_es_imagenet(path, ev)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["neg.npy", "pos.npy"]
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in zf.infolist())
    with np.load(path) as npz:
        pos, neg = npz["pos"], npz["neg"]
    assert pos.dtype == np.uint8 and neg.dtype == np.uint8
    # columns (row, column, step) with step = t + 1
    np.testing.assert_array_equal(pos, [[30, 20, 1], [32, 22, 4]])
    np.testing.assert_array_equal(neg, [[31, 21, 1], [33, 23, 8]])


def test_hand_built_file(tmp_path):
    path = tmp_path / "hand.npz"
    pos = np.array([[100, 50, 3], [17, 239, 1]], dtype=np.uint8)
    neg = np.array([[60, 70, 1], [18, 19, 8], [20, 21, 3]], dtype=np.uint8)
    np.savez_compressed(path, pos=pos, neg=neg)
    ev = read_es_imagenet(path)
    # ordered by step (stable), ON before OFF within a step; x = column, y = row, t = step - 1
    assert_events_equal(
        ev,
        {
            "t": [0, 0, 2, 2, 7],
            "x": [239, 70, 50, 21, 19],
            "y": [17, 60, 100, 20, 18],
            "p": [1, 0, 1, 0, 0],
        },
    )


def test_empty_sample(tmp_path):
    path = tmp_path / "empty.npz"
    empty = {k: np.zeros(0, np.int64) for k in "txyp"}
    write_es_imagenet(path, empty)
    with np.load(path) as npz:
        assert npz["pos"].shape == (0, 3) and npz["neg"].shape == (0, 3)
    assert_events_equal(read_es_imagenet(path), empty)


def test_only_one_polarity(tmp_path):
    path = tmp_path / "on.npz"
    ev = {"t": [1, 2], "x": [20, 30], "y": [40, 50], "p": [1, 1]}
    write_es_imagenet(path, ev)
    assert_events_equal(read_es_imagenet(path), ev)


def test_truncated_file(tmp_path):
    path = tmp_path / "t.npz"
    write_es_imagenet(path, random_events(np.random.default_rng(1), 3000))
    data = path.read_bytes()
    for cut in (0, 10, 100, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut_{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(CorruptFileError) as info:
            read_es_imagenet(bad)
        assert str(bad) in str(info.value)


def test_damaged_data(tmp_path):
    path = tmp_path / "d.npz"
    write_es_imagenet(path, random_events(np.random.default_rng(2), 3000), compress=False)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x55  # inside the 'pos' member: CRC mismatch
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="d.npz"):
        read_es_imagenet(path)


def test_missing_key(tmp_path):
    path = tmp_path / "m.npz"
    np.savez_compressed(path, pos=np.zeros((2, 3), np.uint8))
    with pytest.raises(CorruptFileError, match=r"missing array.*'neg'"):
        read_es_imagenet(path)


@pytest.mark.parametrize(
    "pos,match",
    [
        (np.zeros((2, 3), np.float32), "integers"),
        (np.zeros((2, 2), np.uint8), r"shape \(N, 3\)"),
        (np.zeros(6, np.uint8), r"shape \(N, 3\)"),
        (np.array([[20, 20, 0]], np.uint8), r"'step' outside \[1, 8\]"),
        (np.array([[20, 20, 9]], np.uint8), r"'step' outside \[1, 8\]"),
        (np.array([[20, 300, 1]], np.int16), r"'x' outside \[0, 255\]"),
    ],
)
def test_bad_arrays(tmp_path, pos, match):
    path = tmp_path / "bad.npz"
    np.savez_compressed(path, pos=pos, neg=np.zeros((0, 3), np.uint8))
    with pytest.raises(CorruptFileError, match=match) as info:
        read_es_imagenet(path)
    assert str(path) in str(info.value)


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, pos=np.array([None, 1], dtype=object), neg=np.zeros((0, 3), np.uint8))
    with pytest.raises(CorruptFileError, match="obj.npz"):
        read_es_imagenet(path)


def test_writer_rejects_out_of_range(tmp_path):
    path = tmp_path / "w.npz"
    with pytest.raises(ValueError, match="t in"):
        write_es_imagenet(path, {"t": [8], "x": [1], "y": [1], "p": [1]})
    with pytest.raises(ValueError, match="x in"):
        write_es_imagenet(path, {"t": [0], "x": [256], "y": [1], "p": [1]})
    with pytest.raises(ValueError, match="polarity|'p'"):
        write_es_imagenet(path, {"t": [0], "x": [1], "y": [1], "p": [2]})
