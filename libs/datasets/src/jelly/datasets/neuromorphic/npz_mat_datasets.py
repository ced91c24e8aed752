"""Data sets released as one MATLAB or NumPy file per sample.

:class:`ASLDVS` (``.mat``), :class:`ESImageNet` (``.npz``), :class:`HARDVS` (``.npz``) and
:class:`DVSLip` (``.npy``). The NumPy ones are read in place from the extracted folder (no
events cache: ``direct_events``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..download import extract_archive
from ..errors import CorruptFileError, MissingDataError
from ..formats.asl_dvs_mat import ASL_DVS_CLASSES, read_asl_dvs
from ..formats.dvs_lip_npy import read_dvs_lip
from ..formats.es_imagenet_npz import read_es_imagenet
from ..formats.hardvs import read_hardvs, read_hardvs_split
from .base import NeuromorphicDataset, Resource, Source, natural_key

__all__ = ["ASLDVS", "ESImageNet", "HARDVS", "DVSLip"]


def _extract_inner_zips(outer_archive: Path, extract_dir: Path) -> None:
    """Extract an archive of archives: every inner ``.zip`` is extracted into ``extract_dir``."""
    outer = extract_dir / ".outer"
    extract_archive(outer_archive, outer)
    inner = sorted(outer.rglob("*.zip"), key=lambda p: natural_key(p.name))
    if not inner:
        raise CorruptFileError(outer_archive, "holds no inner .zip archive")
    for archive in inner:
        extract_archive(archive, extract_dir)
    shutil.rmtree(outer)


class ASLDVS(NeuromorphicDataset):
    """ASL-DVS (Bi et al., ICCV 2019): 24 static American Sign Language letters, DAVIS240c.

    - sensor 240 x 180 (width x height), 24 classes (``a`` ... ``y`` without ``j``), 100 800
      samples (4 200 per letter, ~100 ms each); no official split (``train=None``);
    - files: ``ICCV2019_DVS_dataset.zip`` (Dropbox link, now dead; SpikingJelly points to the
      OpenI mirror ``OpenI/ASLDVS``), holding one zip per letter with ``<letter>/*.mat``;
      **no published MD5** (the Dropbox archive is repacked on download), so none is checked;
    - events flipped on both axes (``x -> 239 - x``, ``y -> 179 - y``) as SpikingJelly;
    - labels: alphabetical letter order (= SpikingJelly's).

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the arguments.
    """

    name = "ASL-DVS"
    homepage = "https://github.com/PIX2NVS/NVS2Graph"
    license = "not stated in a form we could verify offline; see the homepage"
    sensor_size = (240, 180, 2)
    classes = ASL_DVS_CLASSES
    sample_counts: ClassVar[dict[str, int]] = {"all": 100800}
    splits = ()
    resources = (
        Resource(
            "ICCV2019_DVS_dataset.zip",
            "https://www.dropbox.com/sh/ibq0jsicatn7l6r/AACNrNELV56rs1YInMWUs9CAa",
            None,
        ),
    )
    downloadable = False
    manual_download = (
        "The Dropbox link is dead; SpikingJelly documents a mirror: `pip install openi; openi dataset "
        "download OpenI/ASLDVS`, then extract ASLDVS.zip to get ICCV2019_DVS_dataset.zip."
    )

    def _extract(self, download_dir: Path, extract_dir: Path) -> None:
        _extract_inner_zips(download_dir / self.resources[0].filename, extract_dir)

    def _sources(self, extract_dir: Path) -> list[Source]:
        return self._class_folder_sources(extract_dir, extract_dir, "all", ".mat")

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        return read_asl_dvs(path, flip_x=True, flip_y=True)


_ES_IMAGENET_URL = (
    "https://cloud.tsinghua.edu.cn/d/94873ab4ec2a4eb497b3/files/?p=%2FES-imagenet-0.18.part{:02d}.rar&dl=1"
)
_ES_IMAGENET_MD5 = (
    "900bdd57b5641f7d81cd4620283fef76",
    "5982532009e863a8f4e18e793314c54b",
    "8f408c1f5a1d4604e48d0d062a8289a0",
    "5c5b5cf0a55954eb639964e3da510097",
    "51feb661b4c9fa87860b63e76b914673",
    "fcd007a2b17b7c13f338734c53f6db31",
    "d3e74b96d9c5df15714bbc3abcd329fc",
    "65b9cf7fa63e18d2e7d92ff45a42a5e5",
    "241c9a37a83ff9efd305fe46d012211e",
    "ceee96971008e30d0cdc34086c49fd75",
    "4fbfefbe6e48758fbb72427c81f119cf",
    "c8cc163be4e5f6451201dccbded4ec24",
    "08c9dff32f6b42c49ef7cd78e37c728e",
    "43aa157dc5bd5fcea81315a46e0322cf",
    "480a69b050f465ef01efcc44ae29f7df",
    "11abd24d92b93e7f85acd63abd4a18ab",
    "3891486a6862c63a325c5f16cd01fdd1",
    "cf8bb0525b514f411bca9d7c2d681f7c",
    "3766bc35572ccacc03f0f293c571d0ae",
    "bf73a5e338644122220e41da7b5630e6",
    "564de4a2609cbb0bb67ffa1bc51f2487",
    "60a9e52db1acadfccc9a9809073f0b04",
    "373b5484826d40d7ec35f0e1605cb6ea",
    "a50612e889b20f99cc7b2725dfd72e9e",
    "0802ccdeb0cff29237faf55164524101",
)


class ESImageNet(NeuromorphicDataset):
    """ES-ImageNet (Lin et al. 2021): ImageNet converted to events by an omnidirectional saccade.

    - frame 256 x 256, 1000 classes, train 1 257 035 and test (ImageNet val) 49 999 samples
      (sample counts as stated by SpikingJelly's docs, not verified offline);
    - time stamps are the **step index 0 ... 7** (8 steps), not microseconds
      (:attr:`time_unit` is ``'step'``): use ``frames_number=8, split_by='time'`` (or
      ``duration=1``) for one frame per step;
    - files: 25 RAR volumes ``ES-imagenet-0.18.partNN.rar`` (extraction needs the ``rarfile``
      package and an ``unrar`` tool), or extract them yourself to
      ``root/extract/ES-imagenet-0.18/`` with ``train/class<k>/*.npz``, ``val/*.npz`` and
      ``vallabel.txt``;
    - labels: ``k`` of the folder ``class<k>`` / the class field of ``vallabel.txt``.
      **Differs from SpikingJelly**, which numbers the folders in string order
      (``class0, class1, class10, class100, ...``).

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the arguments.
    """

    name = "ES-ImageNet"
    homepage = "https://github.com/lyh983012/ES-imagenet-master"
    license = "not stated in a form we could verify offline; see the homepage"
    sensor_size = (256, 256, 2)
    classes = tuple(f"class{k}" for k in range(1000))
    sample_counts: ClassVar[dict[str, int]] = {"train": 1257035, "test": 49999}
    splits = ("train", "test")
    time_unit = "step"
    direct_events = True
    resources = tuple(
        Resource(f"ES-imagenet-0.18.part{i:02d}.rar", _ES_IMAGENET_URL.format(i), md5)
        for i, md5 in enumerate(_ES_IMAGENET_MD5, start=1)
    )
    downloadable = True

    def _extract(self, download_dir: Path, extract_dir: Path) -> None:
        extract_archive(download_dir / self.resources[0].filename, extract_dir)

    def _sources(self, extract_dir: Path) -> list[Source]:
        base = extract_dir / "ES-imagenet-0.18"
        train = base / "train"
        if not train.is_dir():
            raise CorruptFileError(base, "no 'train' folder in the extracted ES-ImageNet data")
        folders = {
            d.name: int(m.group(1))
            for d in train.iterdir()
            if d.is_dir() and (m := re.fullmatch(r"class(\d+)", d.name))
        }
        if not folders:
            raise CorruptFileError(train, "holds no class<k> folder")
        offset = 1 if 1000 in folders.values() and 0 not in folders.values() else 0  # 1-based release
        mapping = {name: k - offset for name, k in folders.items()}
        bad = [n for n, k in mapping.items() if not 0 <= k < 1000]
        if bad:
            raise CorruptFileError(train, f"class folders outside class0..class999: {bad[:5]}")
        sources = self._class_folder_sources(train, extract_dir, "train", ".npz", mapping)
        labels_file = base / "vallabel.txt"
        if not labels_file.is_file():
            raise MissingDataError(
                f"ESImageNet: {labels_file} is missing from the extracted data", path=labels_file
            )
        for lineno, line in enumerate(labels_file.read_text().splitlines(), start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 2 or not fields[1].isdigit():
                raise CorruptFileError(
                    labels_file, f"line {lineno}: expected '<file> <class> ...', got {line!r}"
                )
            label = int(fields[1]) - offset
            if not 0 <= label < 1000:
                raise CorruptFileError(labels_file, f"line {lineno}: class {fields[1]} out of range")
            rel = (base / "val" / (Path(fields[0]).stem + ".npz")).relative_to(extract_dir).as_posix()
            if not (extract_dir / rel).is_file():
                raise MissingDataError(
                    f"ESImageNet: {extract_dir / rel} (listed in {labels_file.name}) is missing",
                    path=extract_dir / rel,
                )
            sources.append(Source(key=rel, split="test", label=label, path=rel))
        return sources

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        return read_es_imagenet(path)


class HARDVS(NeuromorphicDataset):
    """HARDVS (Wang et al. 2022): 300 human activities recorded with a DAVIS346.

    - sensor 346 x 260 (width x height), 300 classes ``action_001`` ... ``action_300``;
      three splits ``'train'``, ``'val'``, ``'test'`` given by ``train_label.txt``,
      ``val_label.txt``, ``test_label.txt`` (use ``split='val'``; ``train=True/False`` select
      train/test); sample counts not verified offline;
    - files (manual download from the homepage): ``MINI_HARDVS_files.zip`` (a zip of
      ``action_XXX.zip``) and the three label files;
    - labels: the folder number minus one (``action_001`` = 0), which is also the numeric
      order SpikingJelly's sorted folder names give.

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the arguments.
    """

    name = "HARDVS"
    homepage = "https://github.com/Event-AHU/HARDVS"
    license = "not stated in a form we could verify offline; see the homepage"
    sensor_size = (346, 260, 2)
    classes = tuple(f"action_{i:03d}" for i in range(1, 301))
    sample_counts: ClassVar[dict[str, int]] = {}
    splits = ("train", "val", "test")
    direct_events = True
    resources = (
        Resource("MINI_HARDVS_files.zip", homepage, "9c4cc0d9ba043faa17f6f1a9e9aff982"),
        Resource("train_label.txt", homepage, "0d642b6e6871034f151b2649a89d8d3c"),
        Resource("val_label.txt", homepage, "cd2cebcba80e4552102bbacf2b5df812"),
        Resource("test_label.txt", homepage, "5b664af5843f9b476a9c22626f7f5a59"),
    )
    downloadable = False

    def _extract(self, download_dir: Path, extract_dir: Path) -> None:
        outer = extract_dir / ".outer"
        extract_archive(download_dir / self.resources[0].filename, outer)
        inner = sorted(outer.rglob("action_*.zip"), key=lambda p: natural_key(p.name))
        if not inner:
            raise CorruptFileError(
                download_dir / self.resources[0].filename, "holds no action_XXX.zip archive"
            )
        for archive in inner:
            folder = archive.name[: -len(".zip")]
            tmp = extract_dir / f".tmp_{folder}"
            extract_archive(archive, tmp)
            children = list(tmp.iterdir())
            source = (
                children[0]
                if len(children) == 1 and children[0].is_dir() and children[0].name == folder
                else tmp
            )
            source.rename(extract_dir / folder)
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(outer)
        for r in self.resources[1:]:
            shutil.copy2(download_dir / r.filename, extract_dir / r.filename)

    def _sources(self, extract_dir: Path) -> list[Source]:
        sources = []
        for split in self.splits:
            listing = extract_dir / f"{split}_label.txt"
            if not listing.is_file():
                raise MissingDataError(f"HARDVS: {listing} is missing", path=listing)
            for folder, name, _ in read_hardvs_split(listing):
                m = re.fullmatch(r"action_(\d+)", folder)
                if m is None or not 1 <= int(m.group(1)) <= 300:
                    raise CorruptFileError(listing, f"unknown class folder {folder!r}")
                rel = f"{folder}/{name}.npz"
                if not (extract_dir / rel).is_file():
                    raise MissingDataError(
                        f"HARDVS: {extract_dir / rel} (listed in {listing.name}) is missing",
                        path=extract_dir / rel,
                    )
                sources.append(Source(key=f"{split}:{rel}", split=split, label=int(m.group(1)) - 1, path=rel))
        return sources

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        return read_hardvs(path)


class DVSLip(NeuromorphicDataset):
    """DVS-Lip (Tan et al., CVPR 2022): 100 spoken words, lip region recorded with a DAVIS346.

    - frame 128 x 128, 100 classes (words), 14 896 training and 4 975 test samples (counts from
      the paper, not verified offline);
    - files: ``DVS-Lip.zip`` (Google Drive, manual download), holding
      ``DVS-Lip/{train,test}/<word>/<n>.npy``;
    - labels: the words in sorted order (the authors' numbering, = SpikingJelly's and tonic's).

    See :class:`~jelly.datasets.neuromorphic.base.NeuromorphicDataset` for the arguments.
    """

    name = "DVS-Lip"
    homepage = "https://sites.google.com/view/event-based-lipreading"
    license = "not stated in a form we could verify offline; see the homepage"
    sensor_size = (128, 128, 2)
    classes = (
        "accused",
        "action",
        "allow",
        "allowed",
        "america",
        "american",
        "another",
        "around",
        "attacks",
        "banks",
        "become",
        "being",
        "benefit",
        "benefits",
        "between",
        "billion",
        "called",
        "capital",
        "challenge",
        "change",
        "chief",
        "couple",
        "court",
        "death",
        "described",
        "difference",
        "different",
        "during",
        "economic",
        "education",
        "election",
        "england",
        "evening",
        "everything",
        "exactly",
        "general",
        "germany",
        "giving",
        "ground",
        "happen",
        "happened",
        "having",
        "heavy",
        "house",
        "hundreds",
        "immigration",
        "judge",
        "labour",
        "leaders",
        "legal",
        "little",
        "london",
        "majority",
        "meeting",
        "military",
        "million",
        "minutes",
        "missing",
        "needs",
        "number",
        "numbers",
        "paying",
        "perhaps",
        "point",
        "potential",
        "press",
        "price",
        "question",
        "really",
        "right",
        "russia",
        "russian",
        "saying",
        "security",
        "several",
        "should",
        "significant",
        "spend",
        "spent",
        "started",
        "still",
        "support",
        "syria",
        "syrian",
        "taken",
        "taking",
        "terms",
        "these",
        "thing",
        "think",
        "times",
        "tomorrow",
        "under",
        "warning",
        "water",
        "welcome",
        "words",
        "worst",
        "years",
        "young",
    )
    sample_counts: ClassVar[dict[str, int]] = {"train": 14896, "test": 4975}
    splits = ("train", "test")
    direct_events = True
    resources = (Resource("DVS-Lip.zip", homepage, "2dcb959255122d4cdeb6094ca282494b"),)
    downloadable = False

    def _sources(self, extract_dir: Path) -> list[Source]:
        base = extract_dir / "DVS-Lip"
        return [
            *self._class_folder_sources(base / "train", extract_dir, "train", ".npy"),
            *self._class_folder_sources(base / "test", extract_dir, "test", ".npy"),
        ]

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        return read_dvs_lip(path)
