"""Small synthetic copies of the neuromorphic data sets, written in their real on-disk layout.

Each ``fake_<dataset>(root, ...)`` writes the published files (archives with the release's
folder layout, files in the real binary formats, through the writers of
:mod:`jelly.datasets.formats`) under ``root/download`` (ES-ImageNet: ``root/extract``, as
RAR archives cannot be written offline) and returns the samples a correct pipeline must
read back: ``{split: [(events, label), ...]}``. Used by the tests; also handy to try a
training script without the real data. Published MD5s do not match these files: open the
data sets with ``verify=False``.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .events import make_events
from .formats.aedat2 import encode_aedat2
from .formats.aedat31 import encode_aedat31
from .formats.asl_dvs_mat import write_asl_dvs
from .formats.atis_bin import encode_atis_bin
from .formats.dvs_gesture_labels import write_dvs_gesture_labels
from .formats.dvs_lip_npy import write_dvs_lip
from .formats.es_imagenet_npz import write_es_imagenet
from .formats.hardvs import write_hardvs, write_hardvs_split
from .formats.prophesee_dat import encode_prophesee_dat
from .formats.shd_hdf5 import quantize_shd_times, write_shd

__all__ = [
    "random_events",
    "fake_nmnist",
    "fake_ncaltech101",
    "fake_cifar10dvs",
    "fake_dvs128gesture",
    "fake_asldvs",
    "fake_navgesture",
    "fake_esimagenet",
    "fake_hardvs",
    "fake_shd",
    "fake_dvslip",
]

Samples = dict[str, list[tuple[dict[str, np.ndarray], int]]]


def random_events(
    rng: np.random.Generator, n: int, width: int, height: int, t_max: int = 100_000, t_min: int = 0
) -> dict[str, np.ndarray]:
    """``n`` random events with sorted time stamps in ``[t_min, t_max]`` inside a ``width x height`` sensor."""
    t = np.sort(rng.integers(t_min, t_max + 1, n))
    return make_events(t, rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n))


def _zip(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _file_bytes(writer: Any, suffix: str, events: Any, tmp: Path, **kwargs: Any) -> bytes:
    """Bytes of a file written by a ``write_<format>(path, events, ...)`` function."""
    path = tmp / f"member{suffix}"
    writer(path, events, **kwargs)
    data = path.read_bytes()
    path.unlink()
    return data


def _scratch(root: Path) -> Path:
    scratch = root / ".fake_tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    return scratch


def fake_nmnist(
    root: str | Path, rng: np.random.Generator, per_class: int = 2, n_events: int = 300
) -> Samples:
    """``Train.zip`` / ``Test.zip`` with ``Train|Test/<digit>/<id>.bin`` ATIS files (34 x 34).

    The first sample of each class spans more than 2**23 µs, so overflow markers are exercised.
    """
    root = Path(root)
    out: Samples = {"train": [], "test": []}
    for split, folder in (("train", "Train"), ("test", "Test")):
        members = {}
        for label in range(10):
            for k in range(per_class):
                t_max = 3 * 2**23 if k == 0 else 300_000
                ev = random_events(rng, n_events, 34, 34, t_max=t_max)
                members[f"{folder}/{label}/{label * 1000 + k:05d}.bin"] = encode_atis_bin(ev)
                out[split].append((ev, label))
        _zip(root / "download" / f"{folder}.zip", members)
    return out


def fake_ncaltech101(root: str | Path, rng: np.random.Generator, n_events: int = 200) -> Samples:
    """``Caltech101.zip`` with one ``Caltech101/<class>/image_0001.bin`` per class (240 x 180)."""
    from .neuromorphic import NCaltech101

    root = Path(root)
    out: Samples = {"all": []}
    members = {}
    for label, name in enumerate(NCaltech101.classes):
        ev = random_events(rng, n_events, 240, 180, t_max=300_000)
        members[f"Caltech101/{name}/image_0001.bin"] = encode_atis_bin(ev)
        out["all"].append((ev, label))
    _zip(root / "download" / "Caltech101.zip", members)
    return out


def fake_cifar10dvs(
    root: str | Path, rng: np.random.Generator, per_class: int = 2, n_events: int = 400
) -> Samples:
    """Ten ``<class>.zip`` with ``<class>/cifar10_<class>_<i>.aedat`` (AEDAT 2.0, 128 x 128)."""
    from .neuromorphic import CIFAR10DVS

    root = Path(root)
    out: Samples = {"all": []}
    for label, name in enumerate(CIFAR10DVS.classes):
        members = {}
        for i in range(per_class):
            ev = random_events(rng, n_events, 128, 128, t_max=1_000_000)
            members[f"{name}/cifar10_{name}_{i}.aedat"] = encode_aedat2(ev)
            out["all"].append((ev, label))
        _zip(root / "download" / f"{name}.zip", members)
    return out


def fake_dvs128gesture(
    root: str | Path,
    rng: np.random.Generator,
    recordings: Sequence[tuple[str, str]] = (
        ("train", "user01_fluorescent"),
        ("train", "user02_led"),
        ("test", "user24_lab"),
    ),
    events_per_segment: int = 150,
) -> Samples:
    """``DvsGesture.tar.gz`` with AEDAT 3.1 recordings, label CSVs and the train/test lists.

    Every recording holds the 11 gestures (shuffled order, gaps and unlabelled events between
    them); the returned samples are the events with ``start <= t < end`` of each CSV line.
    """
    root = Path(root)
    out: Samples = {"train": [], "test": []}
    files: dict[str, bytes] = {}
    lists: dict[str, list[str]] = {"train": [], "test": []}
    scratch = _scratch(root)
    for split, stem in recordings:
        pieces, segments, t = [], [], 1000
        for cls_id in rng.permutation(11) + 1:
            noise = random_events(rng, 20, 128, 128, t_max=t + 4000, t_min=t)  # outside any label
            start = t + 5000
            ev = random_events(rng, events_per_segment, 128, 128, t_max=start + 90_000, t_min=start)
            end = int(ev["t"][-1]) + 1 + int(rng.integers(0, 3))
            pieces += [noise, ev]
            segments.append((int(cls_id) - 1, start, end))  # the writer takes 0-based labels
            out[split].append((ev, int(cls_id) - 1))
            t = end + 1000
        recording = {k: np.concatenate([p[k] for p in pieces]) for k in "txyp"}
        files[f"DvsGesture/{stem}.aedat"] = encode_aedat31(recording, events_per_packet=128)
        csv = scratch / "labels.csv"
        write_dvs_gesture_labels(csv, segments)
        files[f"DvsGesture/{stem}_labels.csv"] = csv.read_bytes()
        lists[split].append(f"{stem}.aedat")
    for split in ("train", "test"):
        files[f"DvsGesture/trials_to_{split}.txt"] = ("\n".join(lists[split]) + "\n").encode()
    archive = root / "download" / "DvsGesture.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out


def fake_asldvs(root: str | Path, rng: np.random.Generator, n_events: int = 200) -> Samples:
    """``ICCV2019_DVS_dataset.zip`` holding ``Yin Bi - <letter>.zip`` with ``<letter>/<letter>_0001.mat``."""
    from .neuromorphic import ASLDVS

    root = Path(root)
    out: Samples = {"all": []}
    scratch = _scratch(root)
    inner = {}
    for label, letter in enumerate(ASLDVS.classes):
        ev = random_events(rng, n_events, 240, 180, t_max=100_000)
        data = _file_bytes(write_asl_dvs, ".mat", ev, scratch, flip_x=True, flip_y=True)
        inner[f"Yin Bi - {letter}.zip"] = _zip_bytes({f"{letter}/{letter}_0001.mat": data})
        out["all"].append((ev, label))
    _zip(root / "download" / "ICCV2019_DVS_dataset.zip", inner)
    return out


def fake_navgesture(
    root: str | Path, rng: np.random.Generator, subset: str = "walk", users: int = 2, n_events: int = 300
) -> Samples:
    """``navgesture-<subset>.zip`` holding ``userXX.zip`` with ``userXX/userXX_<code>_01_td.dat`` (ATIS .dat)."""
    from .neuromorphic import NAVGesture

    root = Path(root)
    out: Samples = {"all": []}
    inner = {}
    for u in range(1, users + 1):
        members = {}
        for label, code in enumerate(NAVGesture.classes):
            ev = random_events(rng, n_events, 304, 240, t_max=2_000_000)
            members[f"user{u:02d}/user{u:02d}_{code}_01_td.dat"] = encode_prophesee_dat(ev, flip_y=True)
            out["all"].append((ev, label))
        inner[f"user{u:02d}.zip"] = _zip_bytes(members)
    _zip(root / "download" / f"navgesture-{subset}.zip", inner)
    return out


def fake_esimagenet(
    root: str | Path,
    rng: np.random.Generator,
    classes: Sequence[int] = (0, 2, 10),
    per_class: int = 2,
    n_events: int = 200,
) -> Samples:
    """The *extracted* layout ``root/extract/ES-imagenet-0.18/{train/class<k>, val, vallabel.txt}``.

    (The release is a multi-volume RAR, which cannot be written offline.) Time stamps are the
    step index 0 ... 7.
    """
    root = Path(root)
    base = root / "extract" / "ES-imagenet-0.18"
    out: Samples = {"train": [], "test": []}
    lines = []
    for k in classes:
        for i in range(per_class):
            ev = _es_events(rng, n_events)
            path = base / "train" / f"class{k}" / f"class{k}_{i}.npz"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_es_imagenet(path, ev)
            out["train"].append((ev, k))
            ev = _es_events(rng, n_events)
            name = f"ILSVRC2012_val_{k * 100 + i:08d}"
            (base / "val").mkdir(parents=True, exist_ok=True)
            write_es_imagenet(base / "val" / f"{name}.npz", ev)
            lines.append(f"{name}.npz {k} 254 254")
            out["test"].append((ev, k))
    (base / "vallabel.txt").write_text("\n".join(lines) + "\n")
    return out


def _es_events(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """ES-ImageNet events in the reader's order: by step, then ON before OFF."""
    t = np.sort(rng.integers(0, 8, n))
    p = rng.integers(0, 2, n)
    order = np.lexsort((-p, t))  # by t, then ON (1) first
    return make_events(t[order], rng.integers(17, 240, n), rng.integers(17, 240, n), p[order])


def fake_hardvs(
    root: str | Path,
    rng: np.random.Generator,
    actions: Sequence[int] = (1, 2, 300),
    per_split: int = 1,
    n_events: int = 300,
) -> Samples:
    """``MINI_HARDVS_files.zip`` (a zip of ``action_XXX.zip``) and the three ``*_label.txt`` files."""
    root = Path(root)
    out: Samples = {"train": [], "val": [], "test": []}
    scratch = _scratch(root)
    inner, listings = {}, {s: [] for s in out}
    for a in actions:
        folder = f"action_{a:03d}"
        members = {}
        for j, split in enumerate(out):
            for k in range(per_split):
                name = f"dvSave-2021_10_{a % 28 + 1:02d}_{j:02d}_{k:02d}_00"
                ev = random_events(rng, n_events, 346, 260, t_max=2_000_000)
                members[f"{folder}/{name}.npz"] = _file_bytes(write_hardvs, ".npz", ev, scratch)
                listings[split].append((folder, name))
                out[split].append((ev, a - 1))
        inner[f"MINI_HARDVS_files/{folder}.zip"] = _zip_bytes(members)
    _zip(root / "download" / "MINI_HARDVS_files.zip", inner)
    for split, entries in listings.items():
        write_hardvs_split(root / "download" / f"{split}_label.txt", entries)
    return out


def fake_shd(root: str | Path, rng: np.random.Generator, per_split: int = 12, n_events: int = 400) -> Samples:
    """``shd_train.h5.zip`` / ``shd_test.h5.zip`` holding SHD HDF5 files (700 channels)."""
    root = Path(root)
    out: Samples = {"train": [], "test": []}
    scratch = _scratch(root)
    for split in ("train", "test"):
        samples = []
        for i in range(per_split):
            t = quantize_shd_times(np.sort(rng.integers(0, 1_000_000, n_events)))
            ev = make_events(t, rng.integers(0, 700, n_events), np.zeros(n_events), np.zeros(n_events))
            label = int(i % 20)
            samples.append((ev, label))
        h5 = scratch / f"shd_{split}.h5"
        write_shd(h5, samples)
        _zip(root / "download" / f"shd_{split}.h5.zip", {h5.name: h5.read_bytes()})
        h5.unlink()
        out[split] = samples
    return out


def fake_dvslip(root: str | Path, rng: np.random.Generator, n_events: int = 200) -> Samples:
    """``DVS-Lip.zip`` with one ``DVS-Lip/{train,test}/<word>/<n>.npy`` per word and split."""
    from .neuromorphic import DVSLip

    root = Path(root)
    out: Samples = {"train": [], "test": []}
    scratch = _scratch(root)
    members = {}
    for split in ("train", "test"):
        for label, word in enumerate(DVSLip.classes):
            ev = random_events(rng, n_events, 128, 128, t_max=1_000_000)
            members[f"DVS-Lip/{split}/{word}/{label}.npy"] = _file_bytes(write_dvs_lip, ".npy", ev, scratch)
            out[split].append((ev, label))
    _zip(root / "download" / "DVS-Lip.zip", members)
    return out
