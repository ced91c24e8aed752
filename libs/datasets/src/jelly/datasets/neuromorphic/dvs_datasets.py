"""Data sets recorded with DVS/ATIS cameras in jAER/cAER/Prophesee formats.

:class:`DVS128Gesture` (AEDAT 3.1 + label CSVs), :class:`CIFAR10DVS` (AEDAT 2.0) and
:class:`NAVGesture` (ATIS ``.dat``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..download import extract_archive
from ..errors import CorruptFileError, MissingDataError
from ..formats.aedat2 import read_aedat2
from ..formats.aedat31 import read_aedat31
from ..formats.dvs_gesture_labels import read_dvs_gesture_labels, split_events_by_labels
from ..formats.prophesee_dat import read_prophesee_dat
from .base import DEFAULT_TRAIN, NeuromorphicDataset, Resource, Source, natural_key

__all__ = ["DVS128Gesture", "CIFAR10DVS", "NAVGesture", "NAVGestureWalk", "NAVGestureSit"]


class DVS128Gesture(NeuromorphicDataset):
    """IBM DVS128 Gesture (Amir et al. 2017): 11 hand and arm gestures of 29 subjects.

    - sensor 128 x 128, 11 classes, 1 176 training and 288 test samples (one per labelled
      gesture; the split is IBM's ``trials_to_train.txt`` / ``trials_to_test.txt``);
    - files: ``DvsGesture.tar.gz`` (manual download from IBM's box folder), holding
      ``DvsGesture/userXX_<lighting>.aedat`` (AEDAT 3.1) and ``..._labels.csv``;
    - samples: the events with ``start <= t < end`` of each CSV line (SpikingJelly's rule);
    - labels: the CSV's class id minus one (``hand_clapping`` = 0 ... ``other_gestures`` = 10).
      **Differs from SpikingJelly**, whose labels come from string-sorted folder names
      ``'0', '1', '10', '2', ...``: there class id 11 ("other gestures") gets label 2 and ids
      3 ... 10 are shifted by one.

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the arguments.
    """

    name = "DVS128 Gesture"
    homepage = "https://research.ibm.com/interactive/dvsgesture/"
    license = "CC BY 4.0"
    sensor_size = (128, 128, 2)
    classes = (
        "hand_clapping",
        "right_hand_wave",
        "left_hand_wave",
        "right_arm_clockwise",
        "right_arm_counter_clockwise",
        "left_arm_clockwise",
        "left_arm_counter_clockwise",
        "arm_roll",
        "air_drums",
        "air_guitar",
        "other_gestures",
    )
    sample_counts: ClassVar[dict[str, int]] = {"train": 1176, "test": 288}
    splits = ("train", "test")
    _box = "https://ibm.ent.box.com/s/3hiq58ww1pbbjrinh367ykfdf60xsfm8/folder/50167556794"
    resources = (
        Resource("DvsGesture.tar.gz", _box, "8a5c71fb11e24e5ca5b11866ca6c00a1"),
        Resource("gesture_mapping.csv", _box, "109b2ae64a0e1f3ef535b18ad7367fd1", required=False),
        Resource("LICENSE.txt", _box, "065e10099753156f18f51941e6e44b66", required=False),
        Resource("README.txt", _box, "a0663d3b1d8307c329a43d949ee32d19", required=False),
    )
    downloadable = False

    def _sources(self, extract_dir: Path) -> list[Source]:
        base = extract_dir / "DvsGesture"
        sources = []
        for split in ("train", "test"):
            listing = base / f"trials_to_{split}.txt"
            if not listing.is_file():
                raise MissingDataError(
                    f"DVS128Gesture: {listing} is missing from the extracted archive "
                    "(damaged or incomplete DvsGesture.tar.gz?)",
                    path=listing,
                )
            names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
            if not names:
                raise CorruptFileError(listing, "lists no recording")
            for name in names:
                aedat = base / name
                csv = base / f"{Path(name).stem}_labels.csv"
                for needed in (aedat, csv):
                    if not needed.is_file():
                        raise MissingDataError(
                            f"DVS128Gesture: {needed} (listed in {listing.name}) is missing", path=needed
                        )
                rel = aedat.relative_to(extract_dir).as_posix()
                sources.append(
                    Source(
                        key=rel,
                        split=split,
                        label=-1,
                        path=rel,
                        extra=csv.relative_to(extract_dir).as_posix(),
                    )
                )
        return sources

    @classmethod
    def _read_source(
        cls, extract_dir: Path, source: Source
    ) -> list[tuple[str, int, str, dict[str, np.ndarray]]]:
        events = read_aedat31(extract_dir / source.path, sensor_size=cls.sensor_size)
        segments = read_dvs_gesture_labels(extract_dir / source.extra, num_classes=len(cls.classes))
        stem = Path(source.path).stem
        counts = [0] * len(cls.classes)
        samples = []
        for seg_events, label in split_events_by_labels(events, segments):
            samples.append((source.split, label, f"{stem}_{counts[label]}", seg_events))
            counts[label] += 1
        return samples


class CIFAR10DVS(NeuromorphicDataset):
    """CIFAR10-DVS (Li et al. 2017): CIFAR-10 images moved in front of a DVS128.

    - sensor 128 x 128, 10 classes (CIFAR-10's order), 10 000 samples (1 000 per class);
    - no official split (``train=None``): use :func:`~jelly.datasets.split_to_train_test_set`
      (e.g. 0.9, class-balanced and deterministic);
    - files: ``<class>.zip`` (10 archives, direct download from figshare: ``download=True``),
      each holding ``<class>/cifar10_<class>_<i>.aedat`` (AEDAT 2.0);
    - events in SpikingJelly's orientation (see :mod:`jelly.datasets.formats.aedat2`).

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the arguments.
    """

    name = "CIFAR10-DVS"
    homepage = "https://figshare.com/articles/dataset/CIFAR10-DVS_New/4724671"
    license = "CC BY 4.0 (figshare record)"
    sensor_size = (128, 128, 2)
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    sample_counts: ClassVar[dict[str, int]] = {"all": 10000}
    splits = ()
    resources = tuple(
        Resource(f"{name}.zip", f"https://ndownloader.figshare.com/files/{fid}", md5)
        for name, fid, md5 in (
            ("airplane", 7712788, "0afd5c4bf9ae06af762a77b180354fdd"),
            ("automobile", 7712791, "8438dfeba3bc970c94962d995b1b9bdd"),
            ("bird", 7712794, "a9c207c91c55b9dc2002dc21c684d785"),
            ("cat", 7712812, "52c63c677c2b15fa5146a8daf4d56687"),
            ("deer", 7712815, "b6bf21f6c04d21ba4e23fc3e36c8a4a3"),
            ("dog", 7712818, "f379ebdf6703d16e0a690782e62639c3"),
            ("frog", 7712842, "cad6ed91214b1c7388a5f6ee56d08803"),
            ("horse", 7712851, "e7cbbf77bec584ffbf913f00e682782a"),
            ("ship", 7712836, "41c7bd7d6b251be82557c6cce9a7d5c9"),
            ("truck", 7712839, "89f3922fd147d9aeff89e76a2b0b70a7"),
        )
    )
    downloadable = True

    def _sources(self, extract_dir: Path) -> list[Source]:
        return self._class_folder_sources(extract_dir, extract_dir, "all", ".aedat")

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        return read_aedat2(path)


class NAVGesture(NeuromorphicDataset):
    """Nav Gesture (Maro et al. 2020): 6 navigation gestures recorded by an ATIS on a smartphone.

    - sensor 304 x 240 (width x height), 6 classes; two subsets, ``subset='walk'``
      (``navgesture-walk.zip``) or ``'sit'`` (``navgesture-sit.zip``), each a zip of per-user
      zips holding ``userXX_<code>_<n>...dat`` files; sample counts are not stated here (not
      verified offline);
    - no official split (``train=None``);
    - labels: the data set has no numeric ids; the gesture codes are numbered in sorted order,
      as SpikingJelly (``do`` swipe down 0, ``ho`` home 1, ``le`` swipe left 2, ``ri`` swipe
      right 3, ``se`` select 4, ``up`` swipe up 5; tonic uses another order);
    - events: ``y`` flipped to image rows (``239 - y``) as SpikingJelly and tonic;
    - the links are dead at the time of writing (SpikingJelly issue #423): the files must be
      obtained from the authors and placed by hand.

    Args:
        subset: ``'walk'`` or ``'sit'``; each subset uses its own ``extract_<subset>`` folder.
        *args, **kwargs: See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset`.
    """

    name = "Nav Gesture"
    homepage = "https://www.neuromorphic-vision.com/public/downloads/navgesture/"
    license = "not stated in a form we could verify offline; see the homepage"
    sensor_size = (304, 240, 2)
    classes = ("do", "ho", "le", "ri", "se", "up")
    class_names: ClassVar[tuple[str, ...]] = (
        "swipe down",
        "home",
        "swipe left",
        "swipe right",
        "select",
        "swipe up",
    )
    sample_counts: ClassVar[dict[str, int]] = {}
    splits = ()
    subset_resources: ClassVar[dict[str, Resource]] = {
        "walk": Resource(
            "navgesture-walk.zip", homepage + "navgesture-walk.zip", "5d305266f13005401959e819abe206f0"
        ),
        "sit": Resource(
            "navgesture-sit.zip", homepage + "navgesture-sit.zip", "1571753ace4d9e0946e6503313712c22"
        ),
    }
    resources = tuple(subset_resources.values())
    downloadable = False
    default_subset: ClassVar[str] = "walk"

    def __init__(
        self, root: Any, train: Any = DEFAULT_TRAIN, *args: Any, subset: str | None = None, **kwargs: Any
    ) -> None:
        subset = subset or self.default_subset
        if subset not in self.subset_resources:
            raise ValueError(f"subset must be 'walk' or 'sit', got {subset!r}")
        self.subset = subset
        super().__init__(root, train, *args, **kwargs)

    def _resources(self) -> tuple[Resource, ...]:
        return (self.subset_resources[self.subset],)

    def _extract_dir(self) -> Path:
        return self.root / f"extract_{self.subset}"

    def _events_dir_name(self) -> str:
        return super()._events_dir_name() + f"_subset-{self.subset}"

    def _frames_dir_name(self) -> str:
        name = super()._frames_dir_name()
        return name if self._frames_params.get("explicit_name") else name + f"_subset-{self.subset}"

    def _extract(self, download_dir: Path, extract_dir: Path) -> None:
        outer = extract_dir / ".outer"
        extract_archive(download_dir / self._resources()[0].filename, outer)
        inner = sorted(outer.rglob("*.zip"), key=lambda p: natural_key(p.name))
        if not inner:
            raise CorruptFileError(
                download_dir / self._resources()[0].filename, "holds no per-user zip archive"
            )
        for archive in inner:
            extract_archive(archive, extract_dir)
        shutil.rmtree(outer)

    def _sources(self, extract_dir: Path) -> list[Source]:
        files = sorted(
            (f for f in extract_dir.rglob("*.dat") if f.is_file()),
            key=lambda f: natural_key(f.relative_to(extract_dir).as_posix()),
        )
        if not files:
            raise CorruptFileError(extract_dir, "holds no .dat recording")
        label_of = {code: i for i, code in enumerate(self.classes)}
        sources = []
        for f in files:
            parts = f.stem.split("_")
            if len(parts) < 2 or parts[1] not in label_of:
                raise CorruptFileError(
                    f,
                    f"cannot read the gesture code from the name (expected "
                    f"user<N>_<code>_..., code in {self.classes})",
                )
            rel = f.relative_to(extract_dir).as_posix()
            sources.append(Source(key=rel, split="all", label=label_of[parts[1]], path=rel))
        for code, label in label_of.items():
            if not any(s.label == label for s in sources):
                raise CorruptFileError(extract_dir, f"no recording of class {code!r}")
        return sources

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        return read_prophesee_dat(path, sensor_size=cls.sensor_size, flip_y=True)


class NAVGestureWalk(NAVGesture):
    """Nav Gesture, walking subset (SpikingJelly's name); see :class:`NAVGesture`."""

    default_subset = "walk"


class NAVGestureSit(NAVGesture):
    """Nav Gesture, sitting subset (SpikingJelly's name); see :class:`NAVGesture`."""

    default_subset = "sit"
