"""Milliseconds per image to evaluate the converted MNIST CNN at T=100: Jelly vs SpikingJelly 2.0.

The network is the ann2snn example's CNN (3 × [Conv 3x3 32ch, BatchNorm(eps=1e-3), ReLU,
AvgPool 2], Flatten, Linear(32, 10)), converted with mode 'max'. Both libraries convert the
same weights (random, or ``-checkpoint`` = the example's ``ann.pt``) and run the same
images (MNIST test images with ``-data-dir``, else uniform noise; dense CPU kernels do not
care about spike sparsity).

* Jelly, multi-step: ``jelly.ann2snn.simulate`` (chunks of ``-chunk`` time steps, time merged
  into the batch, the layers before the first neuron run once), with the converter's default
  channels-last convolution weights on CPU and with ``channels_last=False``.
* Jelly, single-step: ``T`` calls of ``snn(x)`` (SpikingJelly's usage, for reference).
* SpikingJelly 2.0: its example's loop, ``T`` calls of the converted ``GraphModule``.
  SpikingJelly runs in its own interpreter (``-sj-python``, a venv with spikingjelly 2.0.0),
  interleaved with the Jelly runs so both see the same machine load.

Each configuration is timed ``-repeats`` times; the minimum is reported.

    python bench/ann2snn_eval.py -sj-python /tmp/sjvenv/bin/python -images 200 -threads 1 2
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn


def mnist_cnn() -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 1
    for _ in range(3):
        layers += [nn.Conv2d(channels, 32, 3), nn.BatchNorm2d(32, eps=1e-3), nn.ReLU(), nn.AvgPool2d(2)]
        channels = 32
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(32, 10))


def load_images(data_dir: str | None, n: int) -> torch.Tensor:
    if data_dir is None:
        return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    raw = gzip.open(Path(data_dir) / "t10k-images-idx3-ubyte.gz", "rb").read()
    images = torch.frombuffer(bytearray(raw[16:]), dtype=torch.uint8).reshape(-1, 1, 28, 28)
    return images[:n].float() / 255.0


def batches(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    return [x[i: i + size] for i in range(0, x.shape[0], size)]


def time_min(fn, repeats: int) -> tuple[float, float]:
    """Minimum (CPU seconds of this process, wall seconds) over ``repeats`` runs after a warm-up.

    CPU time is the robust figure on a shared machine (other jobs inflate wall time but not
    the work done); with several threads it sums over them.
    """
    fn()  # warm-up (allocations, first-call overheads)
    cpu = wall = float("inf")
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu, wall = min(cpu, time.process_time() - c0), min(wall, time.perf_counter() - w0)
    return cpu, wall


# -- SpikingJelly (runs in its own interpreter) ---------------------------------------------------
def run_spikingjelly(state_path: str, images_path: str, T: int, batch: int, threads: int, repeats: int) -> dict:
    from spikingjelly.activation_based import ann2snn, functional

    torch.set_num_threads(threads)
    model = mnist_cnn()
    model.load_state_dict(torch.load(state_path))
    model.eval()
    x = torch.load(images_path)
    calib = [(b, torch.zeros(b.shape[0], dtype=torch.long)) for b in batches(x, batch)]
    snn = ann2snn.Converter(ann2snn.RateCodingRecipe(dataloader=calib, mode="max")).convert(model)

    def evaluate():
        with torch.no_grad():
            for b in batches(x, batch):
                functional.reset_net(snn)
                out = 0.0
                for _ in range(T):
                    out = out + snn(b)

    cpu, wall = time_min(evaluate, repeats)
    return {"SpikingJelly 2.0, single-step loop": (1e3 * cpu / x.shape[0], 1e3 * wall / x.shape[0])}


# -- Jelly ----------------------------------------------------------------------------------------
def run_jelly(model: nn.Module, x: torch.Tensor, T: int, batch: int, chunk: int | None, threads: int,
              repeats: int) -> dict:
    from jelly.ann2snn import Converter, simulate
    from jelly.core import functional

    torch.set_num_threads(threads)
    calib = [(b, torch.zeros(b.shape[0], dtype=torch.long)) for b in batches(x, batch)]
    snn = Converter(calib, mode="max", progress=False)(model)  # channels-last conv weights on CPU
    snn_plain = Converter(calib, mode="max", channels_last=False, progress=False)(model)
    xs = batches(x, batch)
    label = "auto" if chunk is None else str(chunk)
    results = {}

    def multi(net):
        def run():
            for b in xs:
                simulate(net, b, T, chunk_size=chunk)
        return run

    def single():
        functional.set_step_mode(snn, "s")
        with torch.no_grad():
            for b in xs:
                functional.reset_net(snn)
                out = 0.0
                for _ in range(T):
                    out = out + snn(b)

    results[f"Jelly, simulate (chunk {label})"] = time_min(multi(snn), repeats)
    results[f"Jelly, simulate (chunk {label}), channels_last=False"] = time_min(multi(snn_plain), repeats)
    results["Jelly, single-step loop"] = time_min(single, repeats)
    return {k: (1e3 * cpu / x.shape[0], 1e3 * wall / x.shape[0]) for k, (cpu, wall) in results.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-T", type=int, default=100)
    p.add_argument("-images", type=int, default=200)
    p.add_argument("-b", type=int, nargs="+", default=[25, 100], help="images per batch (each is measured)")
    p.add_argument("-chunk", type=int, default=None, help="time steps per multi-step call (Jelly; default auto)")
    p.add_argument("-threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("-repeats", type=int, default=3)
    p.add_argument("-data-dir", default=None, help="MNIST folder (t10k-images-idx3-ubyte.gz); default: noise")
    p.add_argument("-checkpoint", default=None, help="state_dict of the CNN (the example's ann.pt)")
    p.add_argument("-sj-python", default=None, help="python of a venv with spikingjelly==2.0.0")
    p.add_argument("-rounds", type=int, default=2, help="interleaved rounds of Jelly and SpikingJelly")
    p.add_argument("--sj-worker", nargs=3, metavar=("STATE", "IMAGES", "THREADS"), help=argparse.SUPPRESS)
    args = p.parse_args()

    if args.sj_worker:
        state, images, threads = args.sj_worker
        print(json.dumps(run_spikingjelly(state, images, args.T, args.b[0], int(threads), args.repeats)))
        return

    torch.manual_seed(0)
    model = mnist_cnn()
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
    model = model.eval().to(memory_format=torch.contiguous_format)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    x = load_images(args.data_dir, args.images)
    best: dict[tuple[int, int, str], tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        state_path, images_path = f"{tmp}/state.pt", f"{tmp}/images.pt"
        torch.save(state, state_path)
        torch.save(x, images_path)
        for _ in range(args.rounds):
            for threads in args.threads:
                for batch in args.b:
                    timings = run_jelly(model, x, args.T, batch, args.chunk, threads, args.repeats)
                    if args.sj_python:
                        cmd = [args.sj_python, __file__, "-T", str(args.T), "-b", str(batch), "-repeats",
                               str(args.repeats), "--sj-worker", state_path, images_path, str(threads)]
                        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                        if done.returncode != 0:
                            sys.exit(f"SpikingJelly run failed:\n{done.stderr[-2000:]}")
                        timings.update({k: tuple(v) for k, v in
                                        json.loads(done.stdout.strip().splitlines()[-1]).items()})
                    for name, (cpu, wall) in timings.items():
                        old = best.get((threads, batch, name), (float("inf"), float("inf")))
                        best[(threads, batch, name)] = (min(cpu, old[0]), min(wall, old[1]))

    print(f"\nms per image at T={args.T} ({args.images} images; min over {args.rounds} rounds x "
          f"{args.repeats} repeats; CPU = process CPU time, summed over threads)\n")
    print("| threads | batch | implementation | CPU ms/image | wall ms/image | speed-up (CPU) | speed-up (wall) |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for (threads, batch, name), (cpu, wall) in best.items():
        ref = best.get((threads, batch, "SpikingJelly 2.0, single-step loop"))
        ratios = (f"{ref[0] / cpu:.1f}x", f"{ref[1] / wall:.1f}x") if ref else ("n/a", "n/a")
        print(f"| {threads} | {batch} | {name} | {cpu:.1f} | {wall:.1f} | {ratios[0]} | {ratios[1]} |")


if __name__ == "__main__":
    main()
