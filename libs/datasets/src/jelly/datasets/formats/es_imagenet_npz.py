"""ES-ImageNet: one compressed NumPy ``.npz`` file per sample, ON and OFF events apart.

Layout of the real release (ES-ImageNet 0.18, Lin et al. 2021,
https://github.com/lyh983012/ES-imagenet-master):

- the download is a multi-part RAR ``ES-imagenet-0.18.part01.rar`` ... ``part25.rar`` that
  extracts to ``ES-imagenet-0.18/`` with ``train/class<k>/class<k>_<n>.npz`` (1000 classes),
  ``val/<name>.npz``, and ``trainlabel.txt``/``vallabel.txt`` whose lines read
  ``<file> <class> <height> <width>``;
- each ``.npz`` was written by ``numpy.savez_compressed(file, pos=..., neg=...)``: ``pos`` holds
  the ON events and ``neg`` the OFF events, each a ``uint8`` array of shape ``(N, 3)`` whose
  columns are ``(row, column, step)``. Events come from moving the (254-pixel) image along a
  fixed 8-step trace; ``step`` is 1 ... 8 (step 0 is the reference position and emits nothing),
  and only pixels with ``16 < row, column < 240`` are kept.

Decoding (:func:`read_es_imagenet`): ``x`` = column, ``y`` = row (as SpikingJelly), ``p`` = 1 for
``pos`` and 0 for ``neg``, and ``t`` = **frame index** ``step - 1`` in 0 ... 7 (not
microseconds: the data set has no time axis; the authors' own loader uses ``step - 1`` as frame
index, SpikingJelly keeps ``step``). Events are returned ordered by ``t`` (stable), ON before OFF
within a step, each in file order. Sensor size: 256 x 256 (SpikingJelly's frame), which holds
every ``uint8`` address; the 224 x 224 crop ``[16:240]`` used by the authors contains every event.

Sources: ``dataset_generator/traconvert.py`` and ``datasets/es_imagenet_new.py`` of the
authors' repository (keys, dtype, column order, step range, crop), SpikingJelly
``datasets/es_imagenet.py`` (x/y assignment, 256 x 256, archive and label files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ._columns import PathLike, assemble_events, check_range, events_to_write

__all__ = [
    "ES_IMAGENET_SENSOR_SIZE",
    "ES_IMAGENET_N_STEPS",
    "read_es_imagenet",
    "write_es_imagenet",
]

ES_IMAGENET_SENSOR_SIZE: tuple[int, int] = (256, 256)
"""``(width, height)`` of the frame the events are addressed in."""

ES_IMAGENET_N_STEPS: int = 8
"""Number of time steps (frames) of every sample; ``t`` is in ``0 ... 7``."""

_NOT_CORRUPTION = (FileNotFoundError, PermissionError, IsADirectoryError)


def _decode_part(path: PathLike, name: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind not in "iu":
        raise CorruptFileError(path, f"array '{name}' must hold integers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise CorruptFileError(path, f"array '{name}' must have shape (N, 3), got {arr.shape}")
    return arr.astype(np.int64)


def read_es_imagenet(
    path: PathLike, *, sensor_size: tuple[int, int] | None = ES_IMAGENET_SENSOR_SIZE
) -> dict[str, np.ndarray]:
    """Read one ES-ImageNet sample (``.npz`` with ``pos``/``neg``) into an events dict.

    Args:
        path: The ``.npz`` file.
        sensor_size: ``(width, height)`` the addresses must lie in; ``None`` skips the check.

    Returns:
        ``{'t': int64 frame index 0..7, 'x': int16, 'y': int16, 'p': uint8}``, ordered by ``t``
        (ON before OFF within a step).

    Raises:
        CorruptFileError: If the file is not a readable ``.npz`` (truncated, bad CRC, pickled
            objects), ``pos`` or ``neg`` is missing, not an integer ``(N, 3)`` array, a step is
            outside 1 ... 8 or an address outside the sensor.
    """
    try:
        with np.load(os.fspath(path), allow_pickle=False) as npz:
            missing = [k for k in ("pos", "neg") if k not in npz.files]
            if missing:
                raise CorruptFileError(
                    path, f"missing array(s) {missing} (expected 'pos' and 'neg', found {npz.files})"
                )
            pos = npz["pos"]
            neg = npz["neg"]
    except CorruptFileError:
        raise
    except _NOT_CORRUPTION:
        raise
    except Exception as exc:  # zipfile/zlib/numpy raise many types on damaged files
        raise CorruptFileError(
            path, f"unreadable .npz file, truncated or damaged ({type(exc).__name__}: {exc})"
        ) from exc
    pos = _decode_part(path, "pos", pos)
    neg = _decode_part(path, "neg", neg)
    both = np.concatenate([pos, neg])
    step = both[:, 2]
    check_range(path, "step", step, 1, ES_IMAGENET_N_STEPS + 1, f"steps 1..{ES_IMAGENET_N_STEPS}")
    order = np.argsort(step, kind="stable")
    both = both[order]
    p = np.concatenate([np.ones(pos.shape[0], np.uint8), np.zeros(neg.shape[0], np.uint8)])[order]
    x, y = both[:, 1], both[:, 0]
    return assemble_events(path, both[:, 2] - 1, x, y, p, sensor_size)


def write_es_imagenet(path: PathLike, events: Mapping[str, Any], *, compress: bool = True) -> None:
    """Write one ES-ImageNet sample as ``.npz`` with ``uint8`` arrays ``pos`` and ``neg``.

    ``t`` is the frame index 0 ... 7 (stored as step ``t + 1``). The ON and OFF events are
    stored apart, each in the given order; :func:`read_es_imagenet` returns ``events`` exactly
    when they are ordered by ``t`` with ON before OFF inside a step (the reader's order).

    Args:
        path: Target file (written as given; no ``.npz`` is appended).
        events: Events dict ``t, x, y, p``.
        compress: Use ``numpy.savez_compressed`` (as the release) or plain ``numpy.savez``.

    Raises:
        ValueError: On malformed events, ``t`` outside 0 ... 7 or ``x``/``y`` outside 0 ... 255.
    """
    ev = events_to_write(events)
    for name, low, high in (("t", 0, ES_IMAGENET_N_STEPS), ("x", 0, 256), ("y", 0, 256)):
        vals = ev[name]
        if vals.size and (vals.min() < low or vals.max() >= high):
            raise ValueError(
                f"ES-ImageNet needs {name} in [{low}, {high - 1}], got [{vals.min()}, {vals.max()}]"
            )
    table = np.stack([ev["y"], ev["x"], ev["t"] + 1], axis=1).astype(np.uint8)
    on = ev["p"] == 1
    save = np.savez_compressed if compress else np.savez
    with open(path, "wb") as fh:
        save(fh, pos=table[on], neg=table[~on])
