"""Tests of the ASL-DVS MATLAB .mat reader/writer."""

from __future__ import annotations

import sys
from functools import partial

import numpy as np
import pytest

scipy_io = pytest.importorskip("scipy.io")

from jelly.datasets.errors import CorruptFileError  # noqa: E402
from jelly.datasets.formats.asl_dvs_mat import (  # noqa: E402
    ASL_DVS_CLASSES,
    ASL_DVS_SENSOR_SIZE,
    read_asl_dvs,
    write_asl_dvs,
)
from jelly.datasets.testing import assert_events_equal  # noqa: E402
from jelly.datasets.testing import random_events as _random_events  # noqa: E402

random_events = partial(_random_events, sensor_size=(240, 180), t_max=200_000)


def test_constants():
    assert ASL_DVS_SENSOR_SIZE == (240, 180)
    assert len(ASL_DVS_CLASSES) == 24 and "j" not in ASL_DVS_CLASSES and "z" not in ASL_DVS_CLASSES


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("dtypes", [None, {"ts": np.uint32, "x": np.uint8, "y": np.uint8, "pol": np.uint8}])
def test_round_trip(tmp_path, compress, dtypes):
    ev = random_events(np.random.default_rng(0), 5000)
    path = tmp_path / "a_0001.mat"
    write_asl_dvs(path, ev, compress=compress, dtypes=dtypes)
    assert_events_equal(read_asl_dvs(path), ev)


def test_written_file_has_release_layout(tmp_path):
    ev = random_events(np.random.default_rng(1), 7)
    path = tmp_path / "b_0001.mat"
    write_asl_dvs(path, ev)
    assert path.read_bytes()[:10] == b"MATLAB 5.0"
    mat = scipy_io.loadmat(path)
    for var, field in (("ts", "t"), ("x", "x"), ("y", "y"), ("pol", "p")):
        assert mat[var].shape == (7, 1), var  # column vectors
        assert mat[var].dtype == np.float64  # MATLAB double
        np.testing.assert_array_equal(mat[var][:, 0], ev[field])


def test_hand_built_file(tmp_path):
    path = tmp_path / "c_0042.mat"
    scipy_io.savemat(
        path,
        {
            "ts": np.array([[10], [20], [20], [35]], dtype=np.int32),
            "x": np.array([[0], [239], [5], [17]], dtype=np.uint8),
            "y": np.array([[179], [0], [3], [90]], dtype=np.uint8),
            "pol": np.array([[1], [0], [0], [1]], dtype=np.uint8),
        },
    )
    ev = read_asl_dvs(path)
    assert_events_equal(ev, {"t": [10, 20, 20, 35], "x": [0, 239, 5, 17], "y": [179, 0, 3, 90], "p": [1, 0, 0, 1]})
    flipped = read_asl_dvs(path, flip_x=True, flip_y=True)
    assert_events_equal(
        flipped, {"t": [10, 20, 20, 35], "x": [239, 0, 234, 222], "y": [0, 179, 176, 89], "p": [1, 0, 0, 1]}
    )


def test_row_vectors_and_minus_one_polarity(tmp_path):
    path = tmp_path / "d_0001.mat"
    scipy_io.savemat(
        path,
        {
            "ts": np.array([1.0, 2.0]),
            "x": np.array([3.0, 4.0]),
            "y": np.array([5.0, 6.0]),
            "pol": np.array([-1.0, 1.0]),
        },
        oned_as="row",
    )
    assert_events_equal(read_asl_dvs(path), {"t": [1, 2], "x": [3, 4], "y": [5, 6], "p": [0, 1]})


@pytest.mark.parametrize("flip_x,flip_y", [(True, False), (False, True), (True, True)])
def test_flip_round_trip(tmp_path, flip_x, flip_y):
    ev = random_events(np.random.default_rng(2), 300)
    path = tmp_path / "e.mat"
    write_asl_dvs(path, ev, flip_x=flip_x, flip_y=flip_y)
    assert_events_equal(read_asl_dvs(path, flip_x=flip_x, flip_y=flip_y), ev)
    raw = read_asl_dvs(path)
    np.testing.assert_array_equal(raw["x"], 239 - ev["x"] if flip_x else ev["x"])
    np.testing.assert_array_equal(raw["y"], 179 - ev["y"] if flip_y else ev["y"])


def test_empty_sample(tmp_path):
    path = tmp_path / "empty.mat"
    empty = {k: np.zeros(0, np.int64) for k in "txyp"}
    write_asl_dvs(path, empty)
    assert_events_equal(read_asl_dvs(path), empty)


@pytest.mark.parametrize("compress", [True, False])
def test_truncated_file(tmp_path, compress):
    path = tmp_path / "f_0001.mat"
    write_asl_dvs(path, random_events(np.random.default_rng(3), 2000), compress=compress)
    data = path.read_bytes()
    for cut in (0, 50, 128, 200, len(data) // 2, len(data) - 7):
        bad = tmp_path / f"cut_{cut}.mat"
        bad.write_bytes(data[:cut])
        with pytest.raises(CorruptFileError) as info:
            read_asl_dvs(bad)
        assert str(bad) in str(info.value)


def test_damaged_compressed_data(tmp_path):
    path = tmp_path / "g.mat"
    write_asl_dvs(path, random_events(np.random.default_rng(4), 3000))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match="g.mat"):
        read_asl_dvs(path)


def test_not_a_mat_file(tmp_path):
    path = tmp_path / "h.mat"
    path.write_bytes(b"this is not a MATLAB file at all" * 10)
    with pytest.raises(CorruptFileError, match="h.mat"):
        read_asl_dvs(path)


def test_missing_variable(tmp_path):
    path = tmp_path / "i.mat"
    scipy_io.savemat(path, {"ts": np.arange(3.0), "x": np.arange(3.0), "y": np.arange(3.0)})
    with pytest.raises(CorruptFileError, match=r"missing MATLAB variable.*'pol'"):
        read_asl_dvs(path)


def test_mismatched_lengths(tmp_path):
    path = tmp_path / "j.mat"
    scipy_io.savemat(
        path, {"ts": np.arange(4.0), "x": np.arange(3.0), "y": np.arange(3.0), "pol": np.ones(3)}
    )
    with pytest.raises(CorruptFileError, match="different lengths"):
        read_asl_dvs(path)


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"x": np.array([1.5, 2.0])}, "non-integer"),
        ({"ts": np.array([np.nan, 1.0])}, "NaN"),
        ({"y": np.array(["a", "b"])}, "non-numeric"),
        ({"pol": np.array([0.0, 2.0])}, "polarity"),
        ({"x": np.ones((2, 2))}, "vector"),
        ({"x": np.array([0.0, 240.0])}, r"'x' outside \[0, 239\]"),
        ({"y": np.array([-1.0, 0.0])}, r"'y' outside \[0, 179\]"),
    ],
)
def test_bad_values(tmp_path, bad, match):
    good = {
        "ts": np.array([1.0, 2.0]),
        "x": np.array([1.0, 2.0]),
        "y": np.array([1.0, 2.0]),
        "pol": np.array([0.0, 1.0]),
    }
    path = tmp_path / "k.mat"
    scipy_io.savemat(path, {**good, **bad})
    with pytest.raises(CorruptFileError, match=match) as info:
        read_asl_dvs(path)
    assert str(path) in str(info.value)


def test_out_of_range_check_can_be_disabled(tmp_path):
    path = tmp_path / "l.mat"
    ev = {"t": [0, 1], "x": [239, 300], "y": [0, 200], "p": [0, 1]}
    with pytest.raises(ValueError, match="outside"):
        write_asl_dvs(path, ev)
    write_asl_dvs(path, ev, sensor_size=None)
    with pytest.raises(CorruptFileError, match="1 event"):
        read_asl_dvs(path)
    assert_events_equal(read_asl_dvs(path, sensor_size=None), ev)


def test_writer_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError):
        write_asl_dvs(tmp_path / "m.mat", [1, 2, 3])
    with pytest.raises(ValueError, match="different lengths"):
        write_asl_dvs(tmp_path / "m.mat", {"t": [1, 2], "x": [1], "y": [1], "p": [1]})
    with pytest.raises(ValueError, match="uint8"):
        write_asl_dvs(tmp_path / "m.mat", {"t": [300], "x": [1], "y": [1], "p": [1]}, dtypes={"ts": np.uint8})
    with pytest.raises(ValueError, match="unknown"):
        write_asl_dvs(tmp_path / "m.mat", {"t": [3], "x": [1], "y": [1], "p": [1]}, dtypes={"t": np.uint8})


def test_missing_scipy_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(ImportError, match=r"jelly-datasets\[mat\]"):
        read_asl_dvs(tmp_path / "n.mat")
