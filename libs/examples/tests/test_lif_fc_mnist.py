"""Smoke tests of the lif_fc_mnist example: training, resume, plots, DDP with 2 processes."""

import json
import os
import time
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from jelly.examples import lif_fc_mnist

MNIST_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "mnist"


def _args(tmp_path, *extra):
    return lif_fc_mnist.build_parser().parse_args(
        ["-T", "4", "-b", "32", "-epochs", "1", "-lr", "1e-2", "-out-dir", str(tmp_path), "-quiet", *extra]
    )


def test_trains_on_embedded_digits_and_saves_outputs(tmp_path):
    args = _args(tmp_path, "-epochs", "2")
    model, history = lif_fc_mnist.train(args)
    assert len(history) == 2
    assert history[-1]["test_acc"] > 0.3  # 10 classes: chance is 0.1
    assert (tmp_path / "learning_curves.png").stat().st_size > 1000
    assert (tmp_path / "output_dynamics.png").stat().st_size > 1000
    assert json.loads((tmp_path / "history.json").read_text())[-1]["epoch"] == 1
    ckpt = torch.load(tmp_path / "checkpoint_latest.pt", weights_only=False)
    assert ckpt["epoch"] == 1


def test_resume_continues_from_checkpoint(tmp_path):
    lif_fc_mnist.train(_args(tmp_path, "-no-plots", "-max-batches", "3"))
    model, history = lif_fc_mnist.train(_args(tmp_path, "-no-plots", "-max-batches", "3", "-epochs", "2", "-resume"))
    assert [h["epoch"] for h in history] == [0, 1]
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        lif_fc_mnist.train(_args(tmp_path / "empty", "-resume"))


@pytest.mark.skipif(not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists(), reason="real MNIST not present")
def test_reads_real_mnist(tmp_path):
    args = _args(tmp_path, "-data-dir", str(MNIST_DIR), "-max-batches", "20", "-no-plots", "-T", "2")
    model, history = lif_fc_mnist.train(args)
    assert model.layer[1].in_features == 784
    assert 0.0 <= history[0]["test_acc"] <= 1.0


def _ddp_worker(rank, world_size, init_file, out_dir):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    args = lif_fc_mnist.build_parser().parse_args([
        "-T", "4", "-b", "16", "-epochs", "1", "-max-batches", "5", "-lr", "1e-2", "-no-plots", "-quiet",
        "-out-dir", str(out_dir), "-dist-url", f"file://{init_file}",
    ])
    model, _ = lif_fc_mnist.train(args)
    torch.save(model.state_dict(), Path(out_dir) / f"weights_rank{rank}.pt")


def test_ddp_two_processes_end_with_identical_weights(tmp_path):
    init_file = tmp_path / "rendezvous"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    context = mp.spawn(_ddp_worker, args=(2, str(init_file), str(out_dir)), nprocs=2, join=False)
    deadline = time.monotonic() + 300
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the 2-process DDP run did not finish within 300 s (hung in a collective?)")
    w0 = torch.load(out_dir / "weights_rank0.pt")
    w1 = torch.load(out_dir / "weights_rank1.pt")
    initial = lif_fc_mnist.LIFNet(64, 2.0)
    assert w0.keys() == w1.keys()
    for key in w0:
        assert torch.equal(w0[key], w1[key]), key
    # training changed the weights (the test would pass trivially otherwise)
    torch.manual_seed(0)
    initial = lif_fc_mnist.LIFNet(64, 2.0)
    assert not torch.equal(initial.state_dict()["layer.1.weight"], w0["layer.1.weight"])


def test_ann2snn_example_entry_point():
    from jelly.examples import ann2snn_cnn_mnist

    args = ann2snn_cnn_mnist.build_parser().parse_args(["-data-dir", "x"])
    assert args.data_dir == "x"
