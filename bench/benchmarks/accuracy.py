"""Accuracy of the examples as ``track_`` error rates (asv counts a higher value as worse).

Both train once per commit in ``setup_cache`` on real MNIST, for a short fixed budget, with
fixed seeds, single-threaded:

- ``LifFcMnistError``: the ``lif_fc_mnist`` example (``jelly.examples.lif_fc_mnist.train``)
  with T = 20, batch 64, Adam(lr=1e-3), one epoch cut to the first 160 batches
  (10,240 training images, shuffled with seed 0); the test error is measured on the first
  160 test batches (all 10,000 test images).
- ``Ann2SnnCnnMnistError``: the CNN of ``jelly.examples.ann2snn_cnn_mnist`` trained for 300
  batches of 64 (Adam, lr=1e-3), converted with ``Converter(mode='99.9%')`` calibrated on 20
  training batches, evaluated on the first 2,000 test images; the ANN's error and the SNN's
  error at T = 16 and T = 64 (one simulation, read at both T).

MNIST is looked for in ``JELLY_MNIST_DIR``, else in ``../shared/data/mnist`` relative to the
repository root (see ``_common.find_mnist_dir``); without it these benchmarks are skipped.
The error rates move with the training budget, not only with the code: a change of the
budget here shows as a step in the graph and should be noted in the commit message.
"""

from __future__ import annotations

import importlib
import tempfile

import torch

from ._common import CNN_EXAMPLE_MODULES, cnn_example_attr, find_mnist_dir, preimport, set_threads, skip

preimport("jelly.examples.lif_fc_mnist", *CNN_EXAMPLE_MODULES)

LIF_FC_ARGS = ["-T", "20", "-b", "64", "-epochs", "1", "-max-batches", "160", "-lr", "1e-3",
               "-opt", "adam", "-seed", "0", "-no-plots", "-quiet"]


class LifFcMnistError:
    """Error rates of ``lif_fc_mnist`` after a short fixed training budget."""

    timeout = 900
    warmup_time = 0.0

    def setup_cache(self):
        mnist = find_mnist_dir()
        if mnist is None:
            return {"skip": "MNIST not found (set JELLY_MNIST_DIR)"}
        try:
            from jelly.examples import lif_fc_mnist
        except ImportError as exc:
            return {"skip": f"jelly.examples.lif_fc_mnist is not importable at this commit: {exc}"}
        set_threads()
        with tempfile.TemporaryDirectory() as out_dir:
            try:
                args = lif_fc_mnist.build_parser().parse_args(
                    LIF_FC_ARGS + ["-data-dir", str(mnist), "-out-dir", out_dir])
            except SystemExit:
                return {"skip": "lif_fc_mnist does not take the benchmark's flags at this commit"}
            _, history = lif_fc_mnist.train(args)
        record = history[-1]
        return {"test_error": 1.0 - float(record["test_acc"]), "train_error": 1.0 - float(record["train_acc"])}

    def setup(self, cache):
        if "skip" in cache:
            skip(cache["skip"])

    def track_test_error(self, cache):
        return cache["test_error"]

    def track_train_error(self, cache):
        return cache["train_error"]

    track_test_error.unit = "error rate"
    track_train_error.unit = "error rate"


def _mnist_tensors(mnist_dir: str):
    """MNIST train and test images ``[N, 1, 28, 28]`` in [0, 1] and labels (``jelly.datasets.MNIST``)."""
    mnist = importlib.import_module("jelly.datasets").MNIST
    splits = [mnist(mnist_dir, train=train) for train in (True, False)]
    return [(s.data.unsqueeze(1).float().div_(255.0), s.targets) for s in splits]


def _ann2snn_errors(mnist_dir: str) -> dict:
    ann2snn = importlib.import_module("jelly.ann2snn")
    try:
        mnist_cnn = cnn_example_attr("mnist_cnn")
    except NotImplementedError as why:
        return {"skip": str(why)}
    torch.manual_seed(0)
    (images, labels), (test_images, test_labels) = _mnist_tensors(mnist_dir)
    test_images, test_labels = test_images[:2000], test_labels[:2000]
    model = mnist_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    model.train()
    for i in range(300):
        idx = order[i * 64:(i + 1) * 64]
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(images[idx]), labels[idx]).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        ann_correct = sum(int((model(test_images[i:i + 500]).argmax(1) == test_labels[i:i + 500]).sum())
                          for i in range(0, len(test_labels), 500))
    calib = [(images[order[i * 64:(i + 1) * 64]], labels[order[i * 64:(i + 1) * 64]]) for i in range(20)]
    snn = ann2snn.Converter(calib, mode="99.9%", progress=False)(model)
    test_batches = [(test_images[i:i + 250], test_labels[i:i + 250]) for i in range(0, len(test_labels), 250)]
    acc = ann2snn.accuracy_vs_time(snn, test_batches, [16, 64], chunk_size=16, progress=False)
    return {"ann_error": 1.0 - ann_correct / len(test_labels), "snn_error": {t: 1.0 - a for t, a in acc.items()}}


class Ann2SnnCnnMnistError:
    """Error rates of the ann2snn MNIST CNN: the ANN, and its SNN at T = 16 and T = 64."""

    timeout = 900
    warmup_time = 0.0

    def setup_cache(self):
        mnist = find_mnist_dir()
        if mnist is None:
            return {"skip": "MNIST not found (set JELLY_MNIST_DIR)"}
        try:
            importlib.import_module("jelly.ann2snn")
            importlib.import_module("jelly.datasets")
        except ImportError as exc:
            return {"skip": f"jelly.ann2snn or jelly.datasets is not importable at this commit: {exc}"}
        set_threads()
        return _ann2snn_errors(str(mnist))

    def setup(self, cache):
        if "skip" in cache:
            skip(cache["skip"])

    def track_ann_error(self, cache):
        return cache["ann_error"]

    def track_snn_error_T16(self, cache):
        return cache["snn_error"][16]

    def track_snn_error_T64(self, cache):
        return cache["snn_error"][64]

    track_ann_error.unit = "error rate"
    track_snn_error_T16.unit = "error rate"
    track_snn_error_T64.unit = "error rate"
