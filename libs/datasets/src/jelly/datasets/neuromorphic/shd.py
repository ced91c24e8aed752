"""Spiking Heidelberg Digits (SHD): spoken digits as spikes of a 700-channel cochlea model."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ..errors import MissingDataError
from ..formats.shd_hdf5 import SHD_CLASS_NAMES, SHD_N_CHANNELS, ShdFile
from .base import NeuromorphicDataset, Resource, Source

__all__ = ["SHD", "SpikingHeidelbergDigits"]

_SAMPLES_PER_SOURCE = 256


class SHD(NeuromorphicDataset):
    """Spiking Heidelberg Digits (Cramer et al. 2020): digits 0-9 spoken in English and German.

    - 700 channels (``x`` = channel, ``y`` = 0, ``p`` = 0; :attr:`sensor_size` is
      ``(700, 1, 2)``), 20 classes (English 0-9 then German 0-9, the files' labels),
      8 156 training and 2 264 test samples; ``t`` in µs (rounded from the files' float16
      seconds);
    - frames are ``float32 [T, 700]`` spike counts (as SpikingJelly), not ``[T, 2, H, W]``;
      ``duration`` is in µs (SpikingJelly's SHD takes milliseconds);
    - files: ``shd_train.h5.zip`` and ``shd_test.h5.zip`` (direct download: ``download=True``);
      reading needs ``h5py`` (``pip install 'jelly-datasets[hdf5]'``).

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the arguments.
    """

    name = "SHD"
    homepage = "https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/"
    license = "CC BY 4.0"
    sensor_size = (SHD_N_CHANNELS, 1, 2)
    classes = tuple(SHD_CLASS_NAMES)
    sample_counts: ClassVar[dict[str, int]] = {"train": 8156, "test": 2264}
    splits = ("train", "test")
    resources = (
        Resource(
            "shd_train.h5.zip",
            "https://zenkelab.org/datasets/shd_train.h5.zip",
            "f3252aeb598ac776c1b526422d90eecb",
        ),
        Resource(
            "shd_test.h5.zip",
            "https://zenkelab.org/datasets/shd_test.h5.zip",
            "1503a5064faa34311c398fb0a1ed0a6f",
        ),
    )
    downloadable = True

    def _sources(self, extract_dir: Path) -> list[Source]:
        sources = []
        for split in self.splits:
            path = extract_dir / f"shd_{split}.h5"
            if not path.is_file():
                raise MissingDataError(f"SHD: {path} is missing from the extracted data", path=path)
            with ShdFile(path) as f:
                n = len(f)
            for start in range(0, n, _SAMPLES_PER_SOURCE):
                stop = min(n, start + _SAMPLES_PER_SOURCE)
                sources.append(
                    Source(key=f"{split}:{start}", split=split, label=-1, path=path.name, extra=(start, stop))
                )
        return sources

    @classmethod
    def _read_source(
        cls, extract_dir: Path, source: Source
    ) -> list[tuple[str, int, str, dict[str, np.ndarray]]]:
        start, stop = source.extra
        samples = []
        with ShdFile(extract_dir / source.path) as f:
            for i in range(start, stop):
                events, label = f[i]
                samples.append((source.split, int(label), f"{i:05d}", events))
        return samples

    @classmethod
    def _finish_frames(cls, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim == 4:  # [T, 2, 1, 700] -> [T, 700]
            return frames.sum(axis=(1, 2))
        return frames


class SpikingHeidelbergDigits(SHD):
    """SpikingJelly's name for :class:`SHD`."""
