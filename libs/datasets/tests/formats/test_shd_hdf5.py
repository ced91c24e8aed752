"""Tests of the SHD (Spiking Heidelberg Digits) HDF5 reader/writer."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from jelly.datasets.errors import CorruptFileError  # noqa: E402
from jelly.datasets.formats.shd_hdf5 import (  # noqa: E402
    SHD_CLASS_NAMES,
    SHD_N_CHANNELS,
    SHD_N_CLASSES,
    ShdFile,
    quantize_shd_times,
    read_shd,
    read_shd_sample,
    write_shd,
)
from jelly.datasets.testing import assert_events_equal  # noqa: E402


def random_sample(rng, n):
    """Events whose times are exactly representable as float16 seconds (as real SHD data)."""
    seconds = np.sort(rng.uniform(0.002, 1.4, n)).astype(np.float16)
    t = np.rint(seconds.astype(np.float64) * 1e6).astype(np.int64)
    return {"t": t, "x": rng.integers(0, 700, n), "y": np.zeros(n, int), "p": np.zeros(n, int)}


@pytest.fixture
def samples():
    rng = np.random.default_rng(0)
    out = [(random_sample(rng, int(rng.integers(1, 400))), int(rng.integers(0, 20))) for _ in range(6)]
    out.append(({k: np.zeros(0, int) for k in "txyp"}, 3))  # an empty sample
    return out


def test_constants():
    assert SHD_N_CHANNELS == 700 and SHD_N_CLASSES == 20 and len(SHD_CLASS_NAMES) == 20


def test_round_trip(tmp_path, samples):
    path = tmp_path / "shd_train.h5"
    write_shd(path, samples, speakers=[0, 1, 2, 0, 1, 2, 11])
    back = read_shd(path)
    assert len(back) == len(samples)
    for (ev, label), (want, want_label) in zip(back, samples):
        assert label == want_label
        assert_events_equal(ev, want)
    with ShdFile(path) as shd:
        assert len(shd) == len(samples)
        np.testing.assert_array_equal(shd.labels, [label for _, label in samples])
        np.testing.assert_array_equal(shd.speakers, [0, 1, 2, 0, 1, 2, 11])
        assert shd.keys == list(SHD_CLASS_NAMES)
        for i, (want, want_label) in enumerate(samples):
            ev, label = shd[i]
            assert label == want_label
            assert_events_equal(ev, want)
        ev, label = shd[-1]
        assert label == 3 and ev["t"].size == 0
        with pytest.raises(IndexError):
            shd[len(samples)]
    ev, label = read_shd_sample(path, 2)
    assert_events_equal(ev, samples[2][0])


def test_written_file_has_release_layout(tmp_path, samples):
    path = tmp_path / "shd_test.h5"
    write_shd(path, samples, meta_info={"gender": ["female"], "age": [30], "body_height": [1.7]})
    with h5py.File(path, "r") as fh:
        assert h5py.check_vlen_dtype(fh["spikes/times"].dtype) == np.float16
        assert h5py.check_vlen_dtype(fh["spikes/units"].dtype) == np.uint16
        assert fh["spikes/times"].shape == fh["spikes/units"].shape == fh["labels"].shape == (len(samples),)
        assert fh["labels"].dtype == np.uint16
        assert fh["extra/speaker"].shape == (len(samples),)
        assert fh["extra/keys"][0] == b"zero"
        assert fh["extra/meta_info/gender"][0] == b"female"
        assert fh["extra/meta_info/age"][0] == 30
        assert fh["extra/meta_info/body_height"][0] == pytest.approx(1.7)
        np.testing.assert_array_equal(fh["spikes/times"][0], (samples[0][0]["t"] / 1e6).astype(np.float16))


def test_hand_built_file(tmp_path):
    path = tmp_path / "hand.h5"
    with h5py.File(path, "w") as fh:
        times = fh.create_dataset("spikes/times", (2,), dtype=h5py.vlen_dtype(np.float16))
        units = fh.create_dataset("spikes/units", (2,), dtype=h5py.vlen_dtype(np.uint16))
        times[0] = np.array([0.0, 0.5, 1.0, 0.25], np.float16)
        units[0] = np.array([0, 699, 10, 3], np.uint16)
        times[1] = np.array([0.125], np.float16)
        units[1] = np.array([42], np.uint16)
        fh.create_dataset("labels", data=np.array([7, 19], np.uint16))
    ev, label = read_shd_sample(path, 0)
    assert label == 7
    assert_events_equal(ev, {"t": [0, 500_000, 1_000_000, 250_000], "x": [0, 699, 10, 3], "y": [0] * 4, "p": [0] * 4})
    with ShdFile(path) as shd:
        assert shd.speakers is None and shd.keys is None
        ev, label = shd[1]
    assert label == 19
    assert_events_equal(ev, {"t": [125_000], "x": [42], "y": [0], "p": [0]})


def test_quantize_matches_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    t = np.sort(rng.integers(0, 1_500_000, 3000))  # arbitrary µs, not float16-exact
    path = tmp_path / "q.h5"
    ev = {"t": t, "x": rng.integers(0, 700, t.size), "y": np.zeros(t.size, int), "p": np.zeros(t.size, int)}
    write_shd(path, [(ev, 1)])
    got, _ = read_shd_sample(path, 0)
    np.testing.assert_array_equal(got["t"], quantize_shd_times(t))
    assert not np.array_equal(got["t"], t)  # float16 storage is lossy ...
    assert np.max(np.abs(got["t"] - t)) <= 1_000  # ... to under 1 ms below 2 s


def test_times_beyond_float16_precision_do_not_overflow(tmp_path):
    path = tmp_path / "big.h5"
    write_shd(path, [({"t": [60_000_000], "x": [1], "y": [0], "p": [0]}, 0)])  # 60 s
    ev, _ = read_shd_sample(path, 0)
    assert ev["t"][0] == 60_000_000  # 60 is exact in float16; times * 1e6 would overflow float16


def test_empty_file(tmp_path):
    path = tmp_path / "none.h5"
    write_shd(path, [])
    assert read_shd(path) == []
    assert len(ShdFile(path)) == 0


def test_pickle_and_lazy_open(tmp_path, samples):
    path = tmp_path / "p.h5"
    write_shd(path, samples)
    shd = ShdFile(path)
    assert shd._file is None  # nothing opened yet
    first = shd[0]
    clone = pickle.loads(pickle.dumps(shd))
    ev, label = clone[0]
    assert label == first[1]
    assert_events_equal(ev, first[0])
    clone.close()
    shd.close()


def test_truncated_file(tmp_path, samples):
    path = tmp_path / "trunc.h5"
    write_shd(path, samples)
    data = path.read_bytes()
    for cut in (0, 8, 512, len(data) // 2, len(data) - 16):
        bad = tmp_path / f"cut_{cut}.h5"
        bad.write_bytes(data[:cut])
        with pytest.raises(CorruptFileError) as info:
            read_shd(bad)
        assert str(bad) in str(info.value)


def test_not_hdf5(tmp_path):
    path = tmp_path / "text.h5"
    path.write_text("not an HDF5 file")
    with pytest.raises(CorruptFileError, match="text.h5"):
        ShdFile(path)[0]


def test_missing_file_is_not_corruption(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        read_shd(tmp_path / "nope.h5")


def _build(path, times=None, units=None, labels=None, times_dtype=None, units_dtype=None):
    """Write an SHD-like file by hand, with optional deviations from the real layout."""
    with h5py.File(path, "w") as fh:
        if times is not None:
            ds = fh.create_dataset(
                "spikes/times", (len(times),), dtype=times_dtype or h5py.vlen_dtype(np.float16)
            )
            for i, v in enumerate(times):
                ds[i] = v
        if units is not None:
            ds = fh.create_dataset(
                "spikes/units", (len(units),), dtype=units_dtype or h5py.vlen_dtype(np.uint16)
            )
            for i, v in enumerate(units):
                ds[i] = v
        if labels is not None:
            fh.create_dataset("labels", data=labels)


OK_T = [np.array([0.1, 0.2], np.float16)]
OK_U = [np.array([1, 2], np.uint16)]
OK_L = np.array([0], np.uint16)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"times": OK_T, "labels": OK_L}, r"missing HDF5 dataset.*spikes/units"),
        ({"times": OK_T, "units": OK_U}, r"missing HDF5 dataset.*labels"),
        (
            {"times": OK_T, "units": OK_U, "labels": np.array([0, 1], np.uint16)},
            "different numbers of samples",
        ),
        ({"times": OK_T, "units": OK_U, "labels": np.array([0.5])}, "integer"),
        ({"times": OK_T, "units": OK_U, "labels": np.array([-1], np.int16)}, "non-negative"),
        (
            {
                "times": [np.array([1, 2], np.int32)],
                "units": OK_U,
                "labels": OK_L,
                "times_dtype": h5py.vlen_dtype(np.int32),
            },
            "expected float",
        ),
        (
            {
                "times": OK_T,
                "units": [np.array([1.0, 2.0])],
                "labels": OK_L,
                "units_dtype": h5py.vlen_dtype(np.float32),
            },
            "expected integer",
        ),
    ],
)
def test_bad_structure(tmp_path, kwargs, match):
    path = tmp_path / "bad.h5"
    _build(path, **kwargs)
    with pytest.raises(CorruptFileError, match=match) as info:
        read_shd(path)
    assert str(path) in str(info.value)


def test_non_vlen_times_are_refused(tmp_path):
    path = tmp_path / "flat.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("spikes/times", data=np.zeros((1, 2), np.float16))
        fh.create_dataset("spikes/units", (1,), dtype=h5py.vlen_dtype(np.uint16))[0] = np.array(
            [1, 2], np.uint16
        )
        fh.create_dataset("labels", data=OK_L)
    with pytest.raises(CorruptFileError, match="variable-length"):
        read_shd(path)


@pytest.mark.parametrize(
    "times,units,match",
    [
        ([np.array([0.1, 0.2, 0.3], np.float16)], OK_U, "3 spike times but 2 units"),
        ([np.array([0.1, np.nan], np.float16)], OK_U, "finite"),
        ([np.array([-0.1, 0.2], np.float16)], OK_U, "non-negative"),
        (OK_T, [np.array([1, 700], np.uint16)], r"sample 0: .*'unit' outside \[0, 699\]"),
    ],
)
def test_bad_sample(tmp_path, times, units, match):
    path = tmp_path / "badsample.h5"
    _build(path, times=times, units=units, labels=OK_L)
    with pytest.raises(CorruptFileError, match=match) as info:
        ShdFile(path)[0]
    assert str(path) in str(info.value)
    with pytest.raises(CorruptFileError, match=match):
        read_shd(path)


def test_writer_checks(tmp_path):
    path = tmp_path / "w.h5"
    with pytest.raises(ValueError, match="'y' and 'p' must be 0"):
        write_shd(path, [({"t": [1], "x": [1], "y": [0], "p": [1]}, 0)])
    with pytest.raises(ValueError, match="units must be in"):
        write_shd(path, [({"t": [1], "x": [700], "y": [0], "p": [0]}, 0)])
    with pytest.raises(ValueError, match="times must be in"):
        write_shd(path, [({"t": [-1], "x": [1], "y": [0], "p": [0]}, 0)])
    with pytest.raises(ValueError, match="times must be in"):
        write_shd(path, [({"t": [70_000 * 10**6], "x": [1], "y": [0], "p": [0]}, 0)])
    with pytest.raises(ValueError, match="label"):
        write_shd(path, [({"t": [1], "x": [1], "y": [0], "p": [0]}, -2)])
    with pytest.raises(ValueError, match="speakers"):
        write_shd(path, [({"t": [1], "x": [1], "y": [0], "p": [0]}, 0)], speakers=[0, 1])


def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"jelly-datasets\[hdf5\]"):
        read_shd(tmp_path / "x.h5")
