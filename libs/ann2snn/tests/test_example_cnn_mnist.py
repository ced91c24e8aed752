"""The MNIST example: IDX reader on synthetic files, and an end-to-end run on tiny fake data."""

import gzip
import json
import struct

import numpy as np
import pytest

from jelly.ann2snn import examples_cnn_mnist as example


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_fake_mnist(folder, n_train=120, n_test=30, seed=0):
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 40, (n, 28, 28))
        for i, label in enumerate(labels):  # a bright bar whose row depends on the label
            images[i, 2 + 2 * label: 4 + 2 * label, 4:24] = 255
        image_name, label_name = example.MNIST_FILES[split]
        (folder / f"{image_name}.gz").write_bytes(gzip.compress(_idx_bytes(images)))
        (folder / label_name).write_bytes(_idx_bytes(labels))  # plain (not gzipped) works too


def test_read_idx_roundtrip_and_errors(tmp_path):
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.gz").write_bytes(gzip.compress(_idx_bytes(data)))
    np.testing.assert_array_equal(example.read_idx(tmp_path / "a.gz"), data)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + b"\x00" * 8)  # float32 type code
    with pytest.raises(ValueError, match="not an unsigned-byte IDX file"):
        example.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(_idx_bytes(data)[:-5])
    with pytest.raises(ValueError, match=r"header says shape \(2, 3, 4\)"):
        example.read_idx(tmp_path / "short")
    (tmp_path / "hdr").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="truncated header"):
        example.read_idx(tmp_path / "hdr")
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        example.load_mnist(tmp_path, "test")


def test_cnn_shapes():
    import torch

    model = example.mnist_cnn().eval()
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert model[-1].in_features == 32  # 28 -> 26 -> 13 -> 11 -> 5 -> 3 -> 1, times 32 channels
    assert model[1].eps == 1e-3
    assert example.parse_mode_arg("1/4") == 0.25 and example.parse_mode_arg("99.9%") == "99.9%"


def test_end_to_end_on_fake_data(tmp_path, capsys):
    pytest.importorskip("matplotlib")  # the example's optional dependency (jelly-ann2snn[examples])
    _write_fake_mnist(tmp_path)
    out = tmp_path / "out"
    args = ["-data-dir", str(tmp_path), "-out-dir", str(out), "-epochs", "1", "-b", "30", "-T", "4", "2",
            "-modes", "max", "99%", "1/2", "-calib-batches", "2", "-threads", "1", "-chunk", "3"]
    summary = example.main(args)
    assert set(summary["snn_accuracy"]) == {"max", "99%", "0.5"}
    assert summary["time_steps"] == [2, 4]
    for name in ("ann.pt", "ann_training.json", "results.json", "accuracy_vs_T.png", "reports.txt"):
        assert (out / name).is_file(), name
    assert json.loads((out / "results.json").read_text())["test_images"] == 30
    assert "Conversion report (mode max" in (out / "reports.txt").read_text()
    printed = capsys.readouterr().out
    assert "T=2" in printed and "T=4" in printed and "trained the ANN" in printed
    # a second run converts from the saved checkpoint instead of training again
    example.main(args + ["-modes", "max"])
    assert "loaded the trained ANN" in capsys.readouterr().out
