"""Spiking Heidelberg Digits (SHD): one HDF5 file per split holding every sample.

Layout of the real release (Cramer et al. 2020, https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/,
files ``shd_train.h5`` and ``shd_test.h5``, distributed zipped/gzipped)::

    /spikes/times             (N,) variable-length float16: spike times in seconds, one array per sample
    /spikes/units             (N,) variable-length uint16:  input channel (0 ... 699) of each spike
    /labels                   (N,) uint16: class 0 ... 19 (digits 0-9 in English, then in German)
    /extra/speaker            (N,) speaker index of each sample
    /extra/keys               class names
    /extra/meta_info/gender   per speaker
    /extra/meta_info/age      per speaker
    /extra/meta_info/body_height  per speaker

Spikes come from a cochlea model with 700 channels. The Spiking Speech Commands (SSC) files use
the same layout (35 classes).

Decoding: sample ``i`` becomes ``{'t': round(times * 1e6) as int64 µs, 'x': unit, 'y': 0,
'p': 0}`` plus its label. Times are stored as **float16** seconds, so their resolution is coarse
(about 0.5-1 ms near 1 s): :func:`write_shd` rounds µs time stamps to the nearest float16 and
:func:`quantize_shd_times` gives the time stamps a write/read round trip returns, for building
test data that round-trips exactly. (The float16 storage is why tonic's SHD reader overflowed
under numpy 2, tonic issue #321; the conversion here is done in float64.)

:class:`ShdFile` reads one sample at a time without loading the whole file, opens the file
lazily and can be pickled (for ``DataLoader`` workers).

Sources: the SHD web page (tree above, 700 channels, 20 classes), tonic ``datasets/hsd.py`` and
its issue #321 (float16 times, conversion to µs), SpikingJelly ``datasets/shd.py`` (per-index
access to ``spikes/times``, ``spikes/units``, ``labels``), public SHD loaders reading
``extra/meta_info/{age,gender,body_height}`` indexed by speaker. The dtypes of the ``extra``
datasets and the exact class-name strings are not documented; :func:`write_shd` writes uint16
indices, byte strings and float64 heights.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ..events import EVENT_DTYPES
from ._columns import PathLike, check_range, events_to_write, import_optional

__all__ = [
    "SHD_N_CHANNELS",
    "SHD_N_CLASSES",
    "SHD_CLASS_NAMES",
    "ShdFile",
    "read_shd",
    "read_shd_sample",
    "write_shd",
    "quantize_shd_times",
]

SHD_N_CHANNELS: int = 700
"""Number of input channels (cochlea model units); ``x`` is in ``0 ... 699``."""

SHD_N_CLASSES: int = 20
"""Number of SHD classes (digits 0-9 in English and in German)."""

SHD_CLASS_NAMES: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "null", "eins", "zwei", "drei", "vier", "fuenf", "sechs", "sieben", "acht", "neun",
)  # fmt: skip
"""Default class names written to ``/extra/keys`` (English 0-9, then German 0-9)."""

_REQUIRED = ("spikes/times", "spikes/units", "labels")
_MAX_T_US = int(np.finfo(np.float16).max) * 1_000_000  # largest finite float16, in µs


def _h5py():
    return import_optional("h5py", "hdf5", "Reading and writing SHD HDF5 files")


def quantize_shd_times(t_us: Any) -> np.ndarray:
    """Return the µs time stamps that SHD's float16-seconds storage turns ``t_us`` into.

    ``read_shd(write_shd(events))['t'] == quantize_shd_times(events['t'])``.

    Args:
        t_us: Time stamps in µs (non-negative integers).

    Returns:
        ``np.int64`` time stamps in µs.
    """
    t = np.asarray(t_us, dtype=np.int64)
    seconds = (t.astype(np.float64) / 1e6).astype(np.float16)
    return np.rint(seconds.astype(np.float64) * 1e6).astype(np.int64)


class ShdFile:
    """Random access to the samples of an SHD (or SSC) HDF5 file.

    The file is opened on first use and kept open; ``close()`` (or a ``with`` block) closes it.
    Pickling drops the open handle, so the object can be sent to ``DataLoader`` workers.

    Args:
        path: The ``.h5`` file.
        n_channels: Number of channels; units must be in ``0 ... n_channels - 1``. ``None``
            skips the check.

    Raises:
        CorruptFileError: On first use, if the file is not a readable HDF5 file or lacks the
            ``spikes/times``, ``spikes/units`` or ``labels`` datasets, or they have the wrong
            kind, shape or lengths.
        ImportError: If h5py is not installed (``pip install 'jelly-datasets[hdf5]'``).
    """

    def __init__(self, path: PathLike, *, n_channels: int | None = SHD_N_CHANNELS) -> None:
        self.path = os.fspath(path)
        self.n_channels = n_channels
        self._file = None
        self._labels: np.ndarray | None = None

    # -- opening and validation ------------------------------------------------------------
    def _open(self):
        if self._file is not None:
            return self._file
        h5py = _h5py()
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"SHD file not found: {self.path}")
        try:
            fh = h5py.File(self.path, "r")
        except OSError as exc:
            raise CorruptFileError(
                self.path, f"not a readable HDF5 file, truncated or damaged ({exc})"
            ) from exc
        try:
            self._labels = self._validate(fh)
        except BaseException:
            fh.close()
            raise
        self._file = fh
        return fh

    def _validate(self, fh) -> np.ndarray:
        h5py = _h5py()
        missing = [name for name in _REQUIRED if name not in fh]
        if missing:
            raise CorruptFileError(
                self.path, f"missing HDF5 dataset(s) {missing} (expected {list(_REQUIRED)})"
            )
        for name in _REQUIRED:
            if not isinstance(fh[name], h5py.Dataset):
                raise CorruptFileError(self.path, f"'{name}' is a group, expected a dataset")
        kinds = {"spikes/times": ("f", "float"), "spikes/units": ("iu", "integer")}
        for name, (kind, kind_name) in kinds.items():
            ds = fh[name]
            base = h5py.check_vlen_dtype(ds.dtype)
            if base is None or ds.ndim != 1:
                raise CorruptFileError(
                    self.path,
                    f"'{name}' must be a 1-D variable-length dataset, got dtype {ds.dtype}, shape {ds.shape}",
                )
            if np.dtype(base).kind not in kind:
                raise CorruptFileError(
                    self.path,
                    f"'{name}' holds {np.dtype(base)}, expected {kind_name} values",
                )
        try:
            labels = fh["labels"][()]
        except Exception as exc:
            raise CorruptFileError(self.path, f"cannot read 'labels' ({type(exc).__name__}: {exc})") from exc
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise CorruptFileError(
                self.path, f"'labels' must be a 1-D integer dataset, got {labels.dtype}, shape {labels.shape}"
            )
        lengths = {name: fh[name].shape[0] for name in _REQUIRED}
        if len(set(lengths.values())) > 1:
            raise CorruptFileError(self.path, f"datasets have different numbers of samples: {lengths}")
        labels = labels.astype(np.int64)
        check_range(self.path, "labels", labels, 0, np.iinfo(np.int64).max, "non-negative class ids")
        return labels

    # -- public API ------------------------------------------------------------------------
    def __len__(self) -> int:
        self._open()
        return int(self._labels.shape[0])

    @property
    def labels(self) -> np.ndarray:
        """The ``int64`` label of every sample (read once, at opening)."""
        self._open()
        return self._labels.copy()

    def _read_optional(self, name: str) -> np.ndarray | None:
        fh = self._open()
        if name not in fh:
            return None
        try:
            return np.asarray(fh[name][()])
        except Exception as exc:
            raise CorruptFileError(self.path, f"cannot read '{name}' ({type(exc).__name__}: {exc})") from exc

    @property
    def speakers(self) -> np.ndarray | None:
        """``/extra/speaker`` as int64 (one per sample), or ``None`` if absent."""
        spk = self._read_optional("extra/speaker")
        return None if spk is None else spk.astype(np.int64)

    @property
    def keys(self) -> list[str] | None:
        """``/extra/keys`` (class names) decoded to ``str``, or ``None`` if absent."""
        keys = self._read_optional("extra/keys")
        if keys is None:
            return None
        return [k.decode("utf-8") if isinstance(k, bytes) else str(k) for k in keys.reshape(-1).tolist()]

    def __getitem__(self, index: int) -> tuple[dict[str, np.ndarray], int]:
        """Return ``(events, label)`` of sample ``index`` (negative indices count from the end)."""
        fh = self._open()
        n = self._labels.shape[0]
        i = int(index)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"sample index {index} out of range for {n} samples in {self.path}")
        try:
            times = np.asarray(fh["spikes/times"][i])
            units = np.asarray(fh["spikes/units"][i])
        except Exception as exc:
            raise CorruptFileError(
                self.path, f"cannot read sample {i} ({type(exc).__name__}: {exc})"
            ) from exc
        return self._decode(i, times, units), int(self._labels[i])

    def __iter__(self) -> Iterator[tuple[dict[str, np.ndarray], int]]:
        for i in range(len(self)):
            yield self[i]

    def _decode(self, i: int, times: np.ndarray, units: np.ndarray) -> dict[str, np.ndarray]:
        if times.ndim != 1 or units.ndim != 1 or times.shape[0] != units.shape[0]:
            raise CorruptFileError(
                self.path, f"sample {i}: {times.shape[0]} spike times but {units.shape[0]} units"
            )
        seconds = times.astype(np.float64)
        if seconds.size and (not np.all(np.isfinite(seconds)) or seconds.min() < 0):
            raise CorruptFileError(self.path, f"sample {i}: spike times must be finite and non-negative")
        units = units.astype(np.int64)
        if self.n_channels is not None:
            try:
                check_range(self.path, "unit", units, 0, self.n_channels, f"{self.n_channels} channels")
            except CorruptFileError as exc:
                raise CorruptFileError(self.path, f"sample {i}: {exc.reason}") from None
        n = units.shape[0]
        return {
            "t": np.rint(seconds * 1e6).astype(EVENT_DTYPES["t"]),
            "x": units.astype(EVENT_DTYPES["x"]),
            "y": np.zeros(n, EVENT_DTYPES["y"]),
            "p": np.zeros(n, EVENT_DTYPES["p"]),
        }

    def close(self) -> None:
        """Close the HDF5 file (it is reopened on next use)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ShdFile:
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_file"] = None
        return state

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"ShdFile({self.path!r})"


def read_shd_sample(path: PathLike, index: int) -> tuple[dict[str, np.ndarray], int]:
    """Read sample ``index`` of an SHD file: ``(events, label)`` (opens and closes the file)."""
    with ShdFile(path) as shd:
        return shd[index]


def read_shd(
    path: PathLike, *, n_channels: int | None = SHD_N_CHANNELS
) -> list[tuple[dict[str, np.ndarray], int]]:
    """Read every sample of an SHD file.

    Args:
        path: The ``.h5`` file.
        n_channels: Units must be in ``0 ... n_channels - 1``; ``None`` skips the check.

    Returns:
        A list of ``(events, label)``, events as ``{'t': int64 µs, 'x': int16 unit,
        'y': int16 zeros, 'p': uint8 zeros}``.

    Raises:
        CorruptFileError: As :class:`ShdFile`, plus per-sample errors (times and units of
            different lengths, negative or non-finite times, units out of range).
    """
    with ShdFile(path, n_channels=n_channels) as shd:
        fh = shd._open()
        try:
            all_times = fh["spikes/times"][()]
            all_units = fh["spikes/units"][()]
        except Exception as exc:
            raise CorruptFileError(shd.path, f"cannot read spikes ({type(exc).__name__}: {exc})") from exc
        labels = shd._labels
        return [
            (shd._decode(i, np.asarray(all_times[i]), np.asarray(all_units[i])), int(labels[i]))
            for i in range(labels.shape[0])
        ]


def write_shd(
    path: PathLike,
    samples: Sequence[tuple[Mapping[str, Any], int]],
    *,
    speakers: Sequence[int] | None = None,
    keys: Sequence[str] | None = SHD_CLASS_NAMES,
    meta_info: Mapping[str, Sequence[Any]] | None = None,
    n_channels: int | None = SHD_N_CHANNELS,
) -> None:
    """Write an SHD HDF5 file with the release's layout.

    Args:
        path: Target ``.h5`` file.
        samples: ``(events, label)`` pairs; events hold ``t`` (µs, non-negative), ``x`` (unit),
            and ``y``/``p`` all zero (SHD stores no row or polarity). Times are rounded to float16
            seconds (see :func:`quantize_shd_times`).
        speakers: Speaker index of each sample (default: all 0).
        keys: Class names written to ``/extra/keys`` (``None``: no ``keys`` dataset).
        meta_info: Per-speaker lists for ``/extra/meta_info`` (``gender``, ``age``,
            ``body_height``); missing entries default to ``''``, 0 and 0.0 for every speaker.
        n_channels: Units must be in ``0 ... n_channels - 1``; ``None`` skips the check.

    Raises:
        ValueError: On malformed events, non-zero ``y``/``p``, negative times or times beyond
            float16's range (65504 s), units out of range
            or negative labels, or a ``speakers`` list of the wrong length.
        ImportError: If h5py is not installed (``pip install 'jelly-datasets[hdf5]'``).
    """
    h5py = _h5py()
    n = len(samples)
    times: list[np.ndarray] = []
    units: list[np.ndarray] = []
    labels = np.zeros(n, dtype=np.uint16)
    for i, (events, label) in enumerate(samples):
        ev = events_to_write(events)
        if np.any(ev["y"] != 0) or np.any(ev["p"] != 0):
            raise ValueError(f"sample {i}: SHD stores only times and units; 'y' and 'p' must be 0")
        if ev["t"].size and (ev["t"].min() < 0 or ev["t"].max() > _MAX_T_US):
            raise ValueError(f"sample {i}: SHD times must be in [0, {_MAX_T_US}] µs (float16 seconds)")
        if ev["x"].size and (ev["x"].min() < 0 or (n_channels is not None and ev["x"].max() >= n_channels)):
            raise ValueError(
                f"sample {i}: units must be in [0, {n_channels}), got [{ev['x'].min()}, {ev['x'].max()}]"
            )
        if int(label) < 0 or int(label) > np.iinfo(np.uint16).max:
            raise ValueError(f"sample {i}: label {label} does not fit uint16")
        times.append((ev["t"].astype(np.float64) / 1e6).astype(np.float16))
        units.append(ev["x"].astype(np.uint16))
        labels[i] = int(label)
    spk = np.zeros(n, np.uint16) if speakers is None else np.asarray(speakers, dtype=np.uint16)
    if spk.shape != (n,):
        raise ValueError(f"speakers must have one entry per sample ({n}), got shape {spk.shape}")
    n_speakers = int(spk.max()) + 1 if n else 0
    meta = dict(meta_info or {})
    meta_arrays = {
        "gender": np.array(
            [str(g).encode("utf-8") for g in meta.get("gender", [""] * n_speakers)], dtype=bytes
        ),
        "age": np.asarray(meta.get("age", [0] * n_speakers), dtype=np.uint16),
        "body_height": np.asarray(meta.get("body_height", [0.0] * n_speakers), dtype=np.float64),
    }
    with h5py.File(os.fspath(path), "w") as fh:
        ds_times = fh.create_dataset("spikes/times", (n,), dtype=h5py.vlen_dtype(np.float16))
        ds_units = fh.create_dataset("spikes/units", (n,), dtype=h5py.vlen_dtype(np.uint16))
        # One write per sample: h5py mis-broadcasts object arrays of equal-length arrays.
        for i in range(n):
            ds_times[i] = times[i]
            ds_units[i] = units[i]
        fh.create_dataset("labels", data=labels)
        fh.create_dataset("extra/speaker", data=spk)
        if keys is not None:
            fh.create_dataset(
                "extra/keys", data=np.array([str(k).encode("utf-8") for k in keys], dtype=bytes)
            )
        for name, arr in meta_arrays.items():
            fh.create_dataset(f"extra/meta_info/{name}", data=arr)
