"""Broken inputs raise errors naming the file and what is wrong; nothing is left half-cached."""

import zipfile

import numpy as np
import pytest

from jelly.datasets import (
    ASLDVS,
    CIFAR10DVS,
    NMNIST,
    SHD,
    ChecksumError,
    CorruptFileError,
    DVS128Gesture,
    ESImageNet,
    MissingDataError,
    fakes,
)
from jelly.datasets.formats.atis_bin import encode_atis_bin


def complete_dirs(root):
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.endswith(".partial"))


def rewrite_zip(path, edit):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    edit(members)
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)


def test_missing_files_message_names_url_and_target(tmp_path):
    with pytest.raises(MissingDataError) as info:
        DVS128Gesture(tmp_path, train=True)
    msg = str(info.value)
    assert "DvsGesture.tar.gz" in msg and "https://ibm.ent.box.com" in msg
    assert (
        str(tmp_path / "download" / "DvsGesture.tar.gz") in msg
        and "cannot be downloaded automatically" in msg
    )
    with pytest.raises(MissingDataError, match="download=True") as info:
        SHD(tmp_path / "shd", train=True)
    assert "https://zenkelab.org/datasets/shd_train.h5.zip" in str(info.value)
    with pytest.raises(MissingDataError, match="openi"):
        ASLDVS(tmp_path / "asl")
    with pytest.raises(MissingDataError, match="part01.rar"):
        ESImageNet(tmp_path / "es", train=True)


def test_checksum_mismatch_names_the_file(tmp_path):
    fakes.fake_cifar10dvs(tmp_path, np.random.default_rng(0), per_class=1)
    with pytest.raises(ChecksumError, match="airplane.zip"):
        CIFAR10DVS(tmp_path)
    assert complete_dirs(tmp_path) == ["download"]


def test_corrupt_archive(tmp_path):
    fakes.fake_nmnist(tmp_path, np.random.default_rng(0), per_class=1)
    archive = tmp_path / "download" / "Test.zip"
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="Test.zip.*corrupt or truncated zip"):
        NMNIST(tmp_path, train=True, verify=False, num_workers=0)
    assert complete_dirs(tmp_path) == ["download"]  # no extract folder, no half-extracted one
    assert not (tmp_path / "extract.partial").exists()


def test_truncated_sample_file(tmp_path):
    fakes.fake_nmnist(tmp_path, np.random.default_rng(0), per_class=1)

    def truncate(members):
        members["Train/3/03000.bin"] = members["Train/3/03000.bin"][:-2]

    rewrite_zip(tmp_path / "download" / "Train.zip", truncate)
    with pytest.raises(CorruptFileError) as info:
        NMNIST(tmp_path, train=True, verify=False, num_workers=0)
    assert "03000.bin" in str(info.value)
    assert not any(d.startswith("events_") for d in complete_dirs(tmp_path))


def test_wrong_header(tmp_path):
    fakes.fake_cifar10dvs(tmp_path, np.random.default_rng(0), per_class=1)

    def break_magic(members):
        name = "cat/cifar10_cat_0.aedat"
        members[name] = members[name].replace(b"#!AER-DAT2.0", b"#!AER-DAT9.9", 1)

    rewrite_zip(tmp_path / "download" / "cat.zip", break_magic)
    with pytest.raises(CorruptFileError, match="cifar10_cat_0.aedat"):
        CIFAR10DVS(tmp_path, verify=False, num_workers=0)


def test_missing_label_csv(tmp_path):
    fakes.fake_dvs128gesture(
        tmp_path, np.random.default_rng(0), recordings=(("train", "user01_led"), ("test", "user24_led"))
    )
    DVS128Gesture(tmp_path, train=False, verify=False, num_workers=0)  # builds extract + events
    import shutil

    for d in tmp_path.iterdir():
        if d.name.startswith("events_"):
            shutil.rmtree(d)
    (tmp_path / "extract" / "DvsGesture" / "user01_led_labels.csv").unlink()
    with pytest.raises(MissingDataError, match="user01_led_labels.csv"):
        DVS128Gesture(tmp_path, train=True, verify=False, num_workers=0)


def test_empty_class_folder(tmp_path):
    fakes.fake_nmnist(tmp_path, np.random.default_rng(0), per_class=1)

    def empty_class_7(members):
        for name in [n for n in members if n.startswith("Test/7/")]:
            del members[name]
        members["Test/7/"] = b""  # the folder stays, without files

    rewrite_zip(tmp_path / "download" / "Test.zip", empty_class_7)
    with pytest.raises(CorruptFileError, match=r"Test/7.*holds no \.bin") as info:
        NMNIST(tmp_path, train=False, verify=False, num_workers=0)
    assert str(tmp_path / "extract" / "Test" / "7") in str(info.value)


class CrashAfter:
    """A frame-integration function that fails on its n-th call (a simulated crash)."""

    calls = 0
    crash_at = None

    @classmethod
    def integrate(cls, events, H, W):
        cls.calls += 1
        if cls.crash_at is not None and cls.calls == cls.crash_at:
            raise KeyboardInterrupt("simulated crash")
        return np.full((2, 2, H, W), events["t"].shape[0], dtype=np.float32)


def test_crash_during_frame_conversion_then_resume(tmp_path):
    fakes.fake_cifar10dvs(tmp_path, np.random.default_rng(0), per_class=4)  # 40 samples, 2 cache tasks
    kwargs = dict(
        data_type="frame", custom_integrate_function=CrashAfter.integrate, verify=False, num_workers=0
    )
    CrashAfter.calls, CrashAfter.crash_at = 0, 35
    with pytest.raises(KeyboardInterrupt):
        CIFAR10DVS(tmp_path, **kwargs)
    frames_dirs = [d for d in tmp_path.iterdir() if d.name.startswith("frames_")]
    assert len(frames_dirs) == 1 and frames_dirs[0].name.endswith(".partial")  # nothing looks complete
    assert not list(frames_dirs[0].rglob("*.tmp"))
    done = len(list(frames_dirs[0].rglob("*.npz")))
    assert done == 34
    CrashAfter.calls, CrashAfter.crash_at = 0, None
    ds = CIFAR10DVS(tmp_path, **kwargs)
    assert CrashAfter.calls == 40 - done  # resumed: only the missing samples were converted
    assert len(ds) == 40 and ds[0][0].shape == (2, 2, 128, 128)
    assert "CrashAfter.integrate" in ds.cache_dir.name


def test_argument_errors(tmp_path):
    fakes.fake_cifar10dvs(tmp_path, np.random.default_rng(0), per_class=1)
    with pytest.raises(ValueError, match="no official train/test split"):
        CIFAR10DVS(tmp_path, train=True)
    with pytest.raises(ValueError, match="exactly one of"):
        CIFAR10DVS(tmp_path, data_type="frame")
    with pytest.raises(ValueError, match="exactly one of"):
        CIFAR10DVS(tmp_path, data_type="frame", frames_number=4, split_by="number", duration=10)
    with pytest.raises(ValueError, match="split_by"):
        CIFAR10DVS(tmp_path, data_type="frame", frames_number=4)
    with pytest.raises(ValueError, match="data_type"):
        CIFAR10DVS(tmp_path, data_type="video")
    with pytest.raises(ValueError, match="split must be one of"):
        NMNIST(tmp_path, split="val")


def test_custom_dir_name_and_class_metadata(tmp_path):
    fakes.fake_cifar10dvs(tmp_path, np.random.default_rng(0), per_class=1)
    ds = CIFAR10DVS(
        tmp_path,
        data_type="frame",
        custom_integrate_function=CrashAfter.integrate,
        custom_integrated_frames_dir_name="my_frames",
        verify=False,
        num_workers=0,
    )
    assert ds.cache_dir == tmp_path / "my_frames"
    assert CIFAR10DVS.get_H_W() == (128, 128) and NMNIST.get_H_W() == (34, 34)
    assert len(CIFAR10DVS.resource_url_md5()) == 10 and CIFAR10DVS.downloadable
    assert ASLDVS.resources[0].md5 is None  # no published checksum


def test_atis_overflow_through_the_pipeline(tmp_path):
    ev = {
        "t": np.array([0, 2**23 + 5, 3 * 2**23 + 7]),
        "x": np.array([1, 2, 3]),
        "y": np.array([4, 5, 6]),
        "p": np.array([1, 0, 1]),
    }
    fakes.fake_nmnist(tmp_path, np.random.default_rng(0), per_class=1)
    rewrite_zip(
        tmp_path / "download" / "Train.zip", lambda m: m.update({"Train/0/00000.bin": encode_atis_bin(ev)})
    )
    ds = NMNIST(tmp_path, train=True, verify=False, num_workers=0)
    assert ds[0][0]["t"].tolist() == [0, 2**23 + 5, 3 * 2**23 + 7] and ds[0][1] == 0
