"""The ann2snn MNIST example: the CNN, argument parsing, and an end-to-end run on tiny fake data.

The data loader is replaced by synthetic images (a bright bar whose row depends on the
label); reading the real IDX files is :class:`jelly.datasets.MNIST`'s job and tested there.
"""

import json

import pytest
import torch

from jelly.examples import ann2snn_cnn_mnist as example
from jelly.examples.image_data import ImageSplit


def _fake_split(n, seed):
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=generator)
    images = torch.randint(0, 40, (n, 1, 28, 28), generator=generator).float()
    for i, label in enumerate(labels.tolist()):
        images[i, 0, 2 + 2 * label: 4 + 2 * label, 4:24] = 255
    return ImageSplit(images / 255.0, labels)


def test_cnn_shapes_and_modes():
    model = example.mnist_cnn().eval()
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert model[-1].in_features == 32  # 28 -> 26 -> 13 -> 11 -> 5 -> 3 -> 1, times 32 channels
    assert model[1].eps == 1e-3
    assert example.parse_mode_arg("1/4") == 0.25 and example.parse_mode_arg("99.9%") == "99.9%"


def test_missing_data_is_named(tmp_path):
    from jelly.datasets import MissingDataError

    with pytest.raises(MissingDataError, match="train-images-idx3-ubyte"):
        example.load_mnist_tensors(tmp_path)


def test_end_to_end_on_fake_data(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(example, "load_mnist", lambda data_dir: (_fake_split(120, 0), _fake_split(30, 1), "fake"))
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
