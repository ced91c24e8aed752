"""Every data set, end to end on synthetic files in the real layout: archive → events → frames → DataLoader."""

import hashlib
from collections import Counter

import numpy as np
import pytest
import torch

from jelly.datasets import (
    ASLDVS,
    CIFAR10DVS,
    HARDVS,
    NMNIST,
    SHD,
    DVS128Gesture,
    DVSLip,
    ESImageNet,
    NAVGesture,
    NCaltech101,
    fakes,
    integrate_events_to_frames,
    pad_sequence_collate,
)
from jelly.datasets.events import EVENT_DTYPES

CASES = {
    # class, fake generator, splits to check, extra constructor kwargs
    "NMNIST": (NMNIST, fakes.fake_nmnist, ("train", "test"), {}),
    "NCaltech101": (NCaltech101, fakes.fake_ncaltech101, ("all",), {}),
    "CIFAR10DVS": (CIFAR10DVS, fakes.fake_cifar10dvs, ("all",), {}),
    "DVS128Gesture": (DVS128Gesture, fakes.fake_dvs128gesture, ("train", "test"), {}),
    "ASLDVS": (ASLDVS, fakes.fake_asldvs, ("all",), {}),
    "NAVGesture": (NAVGesture, fakes.fake_navgesture, ("all",), {"subset": "walk"}),
    "ESImageNet": (ESImageNet, fakes.fake_esimagenet, ("train", "test"), {}),
    "HARDVS": (HARDVS, fakes.fake_hardvs, ("train", "val", "test"), {}),
    "SHD": (SHD, fakes.fake_shd, ("train", "test"), {}),
    "DVSLip": (DVSLip, fakes.fake_dvslip, ("train", "test"), {}),
}


def fingerprint(events, label):
    digest = hashlib.sha1()
    for k in "txyp":
        assert events[k].dtype == EVENT_DTYPES[k], (k, events[k].dtype)
        digest.update(events[k].tobytes())
    return int(label), digest.hexdigest()


def split_kwargs(split):
    return {"train": None} if split == "all" else {"split": split}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Write every fake data set once; keep the expected samples."""
    out = {}
    for name, (_cls, fake, _, _) in CASES.items():
        root = tmp_path_factory.mktemp(name)
        out[name] = (root, fake(root, np.random.default_rng(len(name))))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_events_read_back_exactly(built, name):
    cls, _, splits, extra = CASES[name]
    root, expected = built[name]
    for split in splits:
        ds = cls(root, data_type="event", verify=False, num_workers=0, **split_kwargs(split), **extra)
        got = Counter(fingerprint(*ds[i]) for i in range(len(ds)))
        want = Counter(fingerprint(ev, label) for ev, label in expected[split])
        assert got == want, f"{name} {split}: samples differ"
        assert ds.targets == [ds[i][1] for i in range(len(ds))]
        assert all(0 <= t < len(cls.classes) for t in ds.targets)


@pytest.mark.parametrize("name", list(CASES))
def test_frames_and_dataloader(built, name):
    cls, _, splits, extra = CASES[name]
    root, expected = built[name]
    split = splits[0]
    W, H, _ = cls.sensor_size
    ds = cls(
        root,
        data_type="frame",
        frames_number=4,
        split_by="number",
        verify=False,
        num_workers=0,
        **split_kwargs(split),
        **extra,
    )
    want = Counter()
    for ev, label in expected[split]:
        frames = integrate_events_to_frames(ev, H, W, 4, "number")
        if name == "SHD":
            frames = frames.sum(axis=(1, 2))
        want[(label, hashlib.sha1(frames.tobytes()).hexdigest())] += 1
    got = Counter()
    for i in range(len(ds)):
        frames, label = ds[i]
        assert frames.dtype == np.float32
        assert frames.shape == ((4, W) if name == "SHD" else (4, 2, H, W))
        got[(label, hashlib.sha1(frames.tobytes()).hexdigest())] += 1
    assert got == want
    # variable-length frames (fixed duration) through a DataLoader with padding
    duration = 2 if name == "ESImageNet" else 200_000
    ds = cls(
        root,
        data_type="frame",
        duration=duration,
        verify=False,
        num_workers=0,
        **split_kwargs(split),
        **extra,
    )
    loader = torch.utils.data.DataLoader(ds, batch_size=3, shuffle=False, collate_fn=pad_sequence_collate)
    x, y, lengths = next(iter(loader))
    assert x.shape[0] == 3 and x.shape[1] == int(lengths.max()) and y.shape == (3,)
    assert int(x.sum()) == sum(int(ds.load_sample(i).sum()) for i in range(3))
    assert lengths.tolist() == [ds.load_sample(i).shape[0] for i in range(3)]


def test_label_numbering_by_numeric_id(built):
    # DVS128 Gesture: CSV class id - 1 (SpikingJelly's string-sorted folders would give '10' -> 2)
    root, expected = built["DVS128Gesture"]
    ds = DVS128Gesture(root, train=True, verify=False, num_workers=0)
    assert sorted(set(ds.targets)) == list(range(11))
    # ES-ImageNet: class10 is label 10, not 1 (string order class0, class10, class2)
    root, _ = built["ESImageNet"]
    assert sorted(set(ESImageNet(root, train=True, num_workers=0).targets)) == [0, 2, 10]
    # HARDVS: action_300 -> 299
    root, _ = built["HARDVS"]
    assert sorted(set(HARDVS(root, split="val", verify=False, num_workers=0).targets)) == [0, 1, 299]


def test_ncaltech_without_background(built):
    root, _ = built["NCaltech101"]
    ds = NCaltech101(root, verify=False, num_workers=0, include_background=False)
    assert len(ds) == 100 and sorted(ds.targets) == list(range(100))


def test_frames_cache_is_used_without_raw_data(built, tmp_path):
    import shutil

    root, _ = built["CIFAR10DVS"]
    copy = tmp_path / "c"
    shutil.copytree(root, copy)
    a = CIFAR10DVS(copy, data_type="frame", frames_number=3, split_by="time", verify=False, num_workers=0)
    for folder in ("download", "extract"):
        shutil.rmtree(copy / folder)
    for d in copy.iterdir():
        if d.name.startswith("events_"):
            shutil.rmtree(d)
    b = CIFAR10DVS(copy, data_type="frame", frames_number=3, split_by="time", verify=False, num_workers=0)
    np.testing.assert_array_equal(a[5][0], b[5][0])


def test_default_split_and_parallel_conversion(built, tmp_path):
    import shutil

    root, expected = built["NMNIST"]
    assert NMNIST(root, verify=False, num_workers=0).split == "train"  # SpikingJelly's default train=True
    assert len(NMNIST(root, train=None, verify=False, num_workers=0)) == 40  # both splits
    assert CIFAR10DVS(built["CIFAR10DVS"][0], verify=False, num_workers=0).split == "all"
    copy = tmp_path / "nmnist"
    shutil.copytree(root / "download", copy / "download")
    serial = NMNIST(
        root, train=False, data_type="frame", frames_number=5, split_by="time", verify=False, num_workers=0
    )
    parallel = NMNIST(
        copy, train=False, data_type="frame", frames_number=5, split_by="time", verify=False, num_workers=2
    )
    assert parallel.entries == serial.entries
    for i in range(len(serial)):
        np.testing.assert_array_equal(parallel[i][0], serial[i][0])
    loader = torch.utils.data.DataLoader(parallel, batch_size=4, num_workers=2)
    assert sum(int(y.shape[0]) for _, y in loader) == 20


def test_tonic_transform_on_a_dataset(built):
    tonic_transforms = pytest.importorskip("tonic.transforms")
    from jelly.datasets import tonic_transform

    root, _ = built["DVS128Gesture"]
    to_frame = tonic_transform(
        tonic_transforms.ToFrame(sensor_size=DVS128Gesture.sensor_size, n_event_bins=4)
    )
    ds = DVS128Gesture(root, train=True, transform=to_frame, verify=False, num_workers=0)
    frames, _ = ds[0]
    events = ds.load_sample(0)
    n = events["t"].shape[0]
    assert frames.shape == (4, 2, 128, 128)
    assert int(frames.sum()) == 4 * (n // 4)  # tonic's n_event_bins drops the last n % 4 events (we do not)
