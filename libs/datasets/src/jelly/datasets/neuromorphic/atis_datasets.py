"""N-MNIST and N-Caltech101: saccades of an ATIS sensor over MNIST / Caltech-101 images.

Both are released as zip archives of 40-bit ATIS ``.bin`` files, one per sample, in one folder
per class (read by :func:`jelly.datasets.formats.atis_bin.read_atis_bin`, which handles the
time-stamp overflow markers).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np

from ..formats.atis_bin import read_atis_bin
from .base import DEFAULT_TRAIN, NeuromorphicDataset, Resource, Source

__all__ = ["NMNIST", "NCaltech101"]


class NMNIST(NeuromorphicDataset):
    """N-MNIST (Orchard et al. 2015): MNIST digits recorded by an ATIS on a moving platform.

    - sensor 34 x 34, 10 classes (digits), 60 000 training + 10 000 test samples (~300 ms);
    - files: ``Train.zip`` and ``Test.zip`` from the homepage (manual download: the hosting
      service has no direct link), each holding ``Train|Test/<digit>/<id>.bin``;
    - labels are the digits (folder names ``0`` ... ``9``), as in SpikingJelly.

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the arguments.
    """

    name = "N-MNIST"
    homepage = "https://www.garrickorchard.com/datasets/n-mnist"
    license = "not stated in a form we could verify offline; see the homepage"
    sensor_size = (34, 34, 2)
    classes = tuple(str(d) for d in range(10))
    sample_counts: ClassVar[dict[str, int]] = {"train": 60000, "test": 10000}
    splits = ("train", "test")
    resources = (
        Resource("Train.zip", homepage, "20959b8e626244a1b502305a9e6e2031"),
        Resource("Test.zip", homepage, "69ca8762b2fe404d9b9bad1103e97832"),
    )
    downloadable = False

    def _sources(self, extract_dir: Path) -> list[Source]:
        return [
            *self._class_folder_sources(extract_dir / "Train", extract_dir, "train", ".bin"),
            *self._class_folder_sources(extract_dir / "Test", extract_dir, "test", ".bin"),
        ]

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        return read_atis_bin(path, sensor_size=cls.sensor_size)


class NCaltech101(NeuromorphicDataset):
    """N-Caltech101 (Orchard et al. 2015): Caltech-101 images recorded by an ATIS in saccades.

    - sensor 240 x 180 (width x height), 8 709 samples in 101 classes: 100 object classes
      (Caltech-101 without ``Faces``, which duplicates ``Faces_easy``) and ``BACKGROUND_Google``;
    - no official split (``train=None``; use :func:`~jelly.datasets.split_to_train_test_set`);
    - files: ``Caltech101.zip`` from the homepage (manual download), holding
      ``Caltech101/<class>/image_XXXX.bin``;
    - labels: the data set has no numeric class ids; classes are numbered in the sorted order
      of the folder names (as SpikingJelly does), so ``BACKGROUND_Google`` is 0, ``Faces_easy``
      1, ``Leopards`` 2, ``Motorbikes`` 3, ``accordion`` 4 ... Pass
      ``include_background=False`` to drop ``BACKGROUND_Google`` (labels then start at 0 with
      ``Faces_easy``: 100 classes, 8 242 samples).

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the other arguments.
    """

    name = "N-Caltech101"
    homepage = "https://www.garrickorchard.com/datasets/n-caltech101"
    license = "not stated in a form we could verify offline; see the homepage"
    sensor_size = (240, 180, 2)
    classes = (
        "BACKGROUND_Google",
        "Faces_easy",
        "Leopards",
        "Motorbikes",
        "accordion",
        "airplanes",
        "anchor",
        "ant",
        "barrel",
        "bass",
        "beaver",
        "binocular",
        "bonsai",
        "brain",
        "brontosaurus",
        "buddha",
        "butterfly",
        "camera",
        "cannon",
        "car_side",
        "ceiling_fan",
        "cellphone",
        "chair",
        "chandelier",
        "cougar_body",
        "cougar_face",
        "crab",
        "crayfish",
        "crocodile",
        "crocodile_head",
        "cup",
        "dalmatian",
        "dollar_bill",
        "dolphin",
        "dragonfly",
        "electric_guitar",
        "elephant",
        "emu",
        "euphonium",
        "ewer",
        "ferry",
        "flamingo",
        "flamingo_head",
        "garfield",
        "gerenuk",
        "gramophone",
        "grand_piano",
        "hawksbill",
        "headphone",
        "hedgehog",
        "helicopter",
        "ibis",
        "inline_skate",
        "joshua_tree",
        "kangaroo",
        "ketch",
        "lamp",
        "laptop",
        "llama",
        "lobster",
        "lotus",
        "mandolin",
        "mayfly",
        "menorah",
        "metronome",
        "minaret",
        "nautilus",
        "octopus",
        "okapi",
        "pagoda",
        "panda",
        "pigeon",
        "pizza",
        "platypus",
        "pyramid",
        "revolver",
        "rhino",
        "rooster",
        "saxophone",
        "schooner",
        "scissors",
        "scorpion",
        "sea_horse",
        "snoopy",
        "soccer_ball",
        "stapler",
        "starfish",
        "stegosaurus",
        "stop_sign",
        "strawberry",
        "sunflower",
        "tick",
        "trilobite",
        "umbrella",
        "watch",
        "water_lilly",
        "wheelchair",
        "wild_cat",
        "windsor_chair",
        "wrench",
        "yin_yang",
    )
    sample_counts: ClassVar[dict[str, int]] = {"all": 8709}
    splits = ()
    resources = (
        Resource("Caltech101.zip", homepage, "66201824eabb0239c7ab992480b50ba3"),
        Resource("Caltech101_annotations.zip", homepage, "25e64cea645291e368db1e70f214988e", required=False),
    )
    downloadable = False

    def __init__(self, root, train=DEFAULT_TRAIN, *args, include_background: bool = True, **kwargs) -> None:  # noqa: D107
        self.include_background = include_background
        super().__init__(root, train, *args, **kwargs)
        if not include_background:
            keep = [i for i, e in enumerate(self.entries) if e["label"] != 0]
            self.entries = [self.entries[i] for i in keep]
            self.targets = [self.targets[i] - 1 for i in keep]

    def _sources(self, extract_dir: Path) -> list[Source]:
        return self._class_folder_sources(extract_dir / "Caltech101", extract_dir, "all", ".bin")

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        return read_atis_bin(path, sensor_size=cls.sensor_size)
