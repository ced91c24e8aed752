"""ASL-DVS: one MATLAB ``.mat`` (v5/v7 container) file per sample.

Layout of the real release (ICCV 2019, Bi et al., https://github.com/PIX2NVS/NVS2Graph):

- the download ``ICCV2019_DVS_dataset.zip`` holds one archive per letter, ``Yin Bi - a.zip`` ...
  ``Yin Bi - y.zip``; each extracts to a folder named by the letter holding the samples
  ``<letter>/<letter>_0001.mat`` ... (4,200 per letter, 100,800 in all);
- 24 classes: the static hand shapes of the letters a-y of American Sign Language, without
  ``j`` (and ``z``), which need motion;
- sensor: iniLabs DAVIS240c, 240 x 180 pixels (width x height); a sample lasts ~100 ms;
- each file holds four numeric **column vectors** of equal length: ``ts`` (time stamps in µs),
  ``x``, ``y`` (pixel address) and ``pol`` (polarity, 0/1).

Coordinate convention: the files keep the sensor's own orientation. Peers differ in how they
turn it into image coordinates: tonic (``ASLDVS``) flips the rows (``y -> 179 - y``), the current
SpikingJelly flips both axes (``x -> 239 - x``, ``y -> 179 - y``), older SpikingJelly and
``events-tfds`` use the file values unchanged. :func:`read_asl_dvs` returns the file values by
default; ``flip_x``/``flip_y`` apply the flips, and :func:`write_asl_dvs` takes the same flags to
invert them.

Storage dtypes: the release does not document the MATLAB class of the four variables and we
could not inspect a real file, so :func:`write_asl_dvs` writes MATLAB ``double`` (MATLAB's
default numeric class) unless told otherwise through ``dtypes``, with zlib compression (MATLAB's
default ``-v7`` save). The reader accepts any numeric class whose values are integers.

Sources of these facts: SpikingJelly ``datasets/asl_dvs.py`` (variable names ``ts, x, y, pol``,
sensor 180 x 240, the flips), tonic ``datasets/asl_dvs.py`` (sensor (240, 180), the y flip),
``events-tfds`` ``asl_dvs`` builder (archive names, column vectors, 24 classes), the NVS2Graph
README (classes, sample counts, camera).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import CorruptFileError
from ._columns import (
    PathLike,
    assemble_events,
    check_fits,
    check_sensor,
    events_to_write,
    import_optional,
    integer_column,
    polarity_column,
)

__all__ = [
    "ASL_DVS_SENSOR_SIZE",
    "ASL_DVS_CLASSES",
    "ASL_DVS_MAT_VARIABLES",
    "read_asl_dvs",
    "write_asl_dvs",
]

ASL_DVS_SENSOR_SIZE: tuple[int, int] = (240, 180)
"""``(width, height)`` of the DAVIS240c sensor."""

ASL_DVS_CLASSES: tuple[str, ...] = tuple("abcdefghiklmnopqrstuvwxy")
"""The 24 letters (folder names), in alphabetical order; ``j`` and ``z`` are absent."""

ASL_DVS_MAT_VARIABLES: dict[str, str] = {"t": "ts", "x": "x", "y": "y", "p": "pol"}
"""Event field → name of the MATLAB variable that holds it."""

_DEFAULT_DTYPES: dict[str, np.dtype] = {name: np.dtype(np.float64) for name in ASL_DVS_MAT_VARIABLES.values()}

_NOT_CORRUPTION = (FileNotFoundError, PermissionError, IsADirectoryError)


def _flip(values: np.ndarray, size: int, flip: bool) -> np.ndarray:
    return (size - 1) - values if flip else values


def read_asl_dvs(
    path: PathLike,
    *,
    flip_x: bool = False,
    flip_y: bool = False,
    sensor_size: tuple[int, int] | None = ASL_DVS_SENSOR_SIZE,
) -> dict[str, np.ndarray]:
    """Read one ASL-DVS sample (``.mat``) into an events dict.

    Args:
        path: The ``.mat`` file.
        flip_x: Return ``239 - x`` instead of the file's ``x``.
        flip_y: Return ``179 - y`` instead of the file's ``y`` (tonic's convention).
        sensor_size: ``(width, height)`` the file's coordinates must lie in; ``None`` skips the
            check.

    Returns:
        ``{'t': int64 µs, 'x': int16, 'y': int16, 'p': uint8 in {0, 1}}`` in file order.

    Raises:
        CorruptFileError: If the file is not a readable MATLAB v5/v7 file (truncated, damaged
            compression, v7.3/HDF5), a variable is missing, not numeric, not a vector, holds
            non-integers, the vectors differ in length, a polarity is not 0/1 (or -1/1), or a
            coordinate is outside the sensor.
        ImportError: If scipy is not installed (``pip install 'jelly-datasets[mat]'``).
    """
    sio = import_optional("scipy.io", "mat", "Reading ASL-DVS .mat files")
    names = list(ASL_DVS_MAT_VARIABLES.values())
    try:
        mat = sio.loadmat(os.fspath(path), variable_names=names)
    except _NOT_CORRUPTION:
        raise
    except NotImplementedError as exc:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise CorruptFileError(path, f"not a MATLAB v5/v7 .mat file ({exc})") from exc
    except Exception as exc:  # scipy raises many types on damaged files
        raise CorruptFileError(
            path, f"unreadable MATLAB .mat file, truncated or damaged ({type(exc).__name__}: {exc})"
        ) from exc
    missing = [n for n in names if n not in mat]
    if missing:
        present = sorted(k for k in mat if not k.startswith("__"))
        raise CorruptFileError(
            path, f"missing MATLAB variable(s) {missing} (expected {names}, found {present})"
        )
    cols = {
        field: integer_column(path, var, mat[var], squeeze=True)
        for field, var in ASL_DVS_MAT_VARIABLES.items()
    }
    p = polarity_column(path, "pol", cols["p"])
    lengths = {var: cols[f].shape[0] for f, var in ASL_DVS_MAT_VARIABLES.items()}
    if len(set(lengths.values())) > 1:
        raise CorruptFileError(path, f"variables have different lengths: {lengths}")
    check_sensor(path, cols["x"], cols["y"], sensor_size)
    width, height = ASL_DVS_SENSOR_SIZE
    x = _flip(cols["x"], width, flip_x)
    y = _flip(cols["y"], height, flip_y)
    return assemble_events(path, cols["t"], x, y, p, None)


def write_asl_dvs(
    path: PathLike,
    events: Mapping[str, Any],
    *,
    flip_x: bool = False,
    flip_y: bool = False,
    dtypes: Mapping[str, Any] | None = None,
    compress: bool = True,
    sensor_size: tuple[int, int] | None = ASL_DVS_SENSOR_SIZE,
) -> None:
    """Write one ASL-DVS sample as a MATLAB ``.mat`` file (variables ``ts, x, y, pol``).

    The variables are column vectors (``N x 1``), as in the release; ``read_asl_dvs`` with the
    same flip flags returns ``events`` exactly.

    Args:
        path: Target file (written as given; no ``.mat`` is appended).
        events: Events dict ``t, x, y, p`` (``p`` in {0, 1} or {-1, 1}).
        flip_x: The events use flipped columns (``239 - x``); undo it before writing.
        flip_y: The events use flipped rows (``179 - y``); undo it before writing.
        dtypes: MATLAB variable name → numpy dtype, overriding the default ``double`` for any of
            ``ts, x, y, pol``.
        compress: zlib-compress the variables (MATLAB's default ``-v7`` save) or not (``-v6``).
        sensor_size: ``(width, height)`` the coordinates must lie in; ``None`` skips the check
            (to build deliberately bad files in tests).

    Raises:
        ValueError: On malformed events, coordinates outside the sensor, or values that do not
            fit the chosen dtypes.
        ImportError: If scipy is not installed (``pip install 'jelly-datasets[mat]'``).
    """
    sio = import_optional("scipy.io", "mat", "Writing ASL-DVS .mat files")
    ev = events_to_write(events)
    width, height = ASL_DVS_SENSOR_SIZE
    ev["x"] = _flip(ev["x"], width, flip_x)
    ev["y"] = _flip(ev["y"], height, flip_y)
    if sensor_size is not None:
        try:
            check_sensor(path, ev["x"], ev["y"], sensor_size)
        except CorruptFileError as exc:
            raise ValueError(f"cannot write {os.fspath(path)}: {exc.reason}") from None
    chosen = dict(_DEFAULT_DTYPES)
    for name, dt in (dtypes or {}).items():
        if name not in chosen:
            raise ValueError(f"unknown ASL-DVS variable {name!r}; expected one of {sorted(chosen)}")
        chosen[name] = np.dtype(dt)
    variables = {}
    for field, var in ASL_DVS_MAT_VARIABLES.items():
        values = ev[field]
        check_fits(var, values, chosen[var], "ASL-DVS")
        variables[var] = values.astype(chosen[var]).reshape(-1, 1)
    with open(path, "wb") as fh:
        sio.savemat(fh, variables, format="5", do_compression=compress, oned_as="column")
