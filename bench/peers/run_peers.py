"""Jelly against its peers, in one run: the same workloads, interleaved, repeated.

Workloads (CPU, one intra-op thread by default):

1. multi-step LIF forward and forward+backward (``peer_lif``): Jelly, SpikingJelly,
   snnTorch, Norse;
2. one ``lif_fc_mnist`` training batch (``peer_mnist``): Jelly, SpikingJelly (tutorial loop
   and multi-step), snnTorch, Norse;
3. event stream → frames (``peer_frames``): Jelly, SpikingJelly, tonic.

Peers that are not installed are skipped and named. Before timing, each workload checks
that the configurations coincide by comparing outputs (spikes, gradients, frames); the
report lists what matched and where the models cannot coincide. The table gives median
and minimum milliseconds per call and the ratio ``peer / ours`` (above 1: we are faster).

    pip install -c constraints.txt -r bench/peers/requirements.txt   (see that file)
    python bench/peers/run_peers.py                      # everything, ~5 min on 2 cores
    python bench/peers/run_peers.py --only lif --repeats 5 --markdown
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peer_frames  # noqa: E402
import peer_lif  # noqa: E402
import peer_mnist  # noqa: E402
from peer_timing import Measurement, format_table, interleaved  # noqa: E402

PACKAGES = ("torch", "numpy", "jelly-neurons", "spikingjelly", "snntorch", "norse", "tonic")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _default_mnist() -> str | None:
    env = os.environ.get("JELLY_MNIST_DIR")
    if env:
        return env
    candidate = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"
    return str(candidate) if candidate.is_dir() else None


def main(argv: list[str] | None = None) -> list[Measurement]:
    """Run the comparison and print the table; returns the measurements."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", choices=["lif", "mnist", "frames"], default=["lif", "mnist", "frames"])
    p.add_argument("--repeats", type=int, default=15, help="interleaved samples per implementation")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    p.add_argument("--lif-T", dest="lif_T", type=int, default=32)
    p.add_argument("--lif-size", dest="lif_size", type=int, default=65536, help="neurons per step")
    p.add_argument("--mnist-T", dest="mnist_T", type=int, nargs="+", default=[8, 100])
    p.add_argument("--data-dir", default=_default_mnist(), help="MNIST folder (default: JELLY_MNIST_DIR or "
                   "../shared/data/mnist); synthetic images without one")
    p.add_argument("--events", type=int, default=2_000_000)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load_before = os.getloadavg()
    print(f"# Jelly vs peers — {datetime.datetime.now().isoformat(timespec='minutes')}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {args.threads} torch thread(s), {args.repeats} interleaved repeats")
    print("versions: " + ", ".join(f"{d} {_version(d)}" for d in PACKAGES))
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")

    measurements: list[Measurement] = []
    notes: list[str] = []
    missing_all: dict[str, str] = {}

    if "lif" in args.only:
        impls, missing = peer_lif.available()
        missing_all.update(missing)
        generator = torch.Generator().manual_seed(0)
        shape = (args.lif_T, 64, args.lif_size // 64)
        x = torch.rand(shape, generator=generator) * 1.5
        g = torch.rand(shape, generator=generator) * 2 - 1
        notes += [f"LIF: {n}" for n in peer_lif.check(impls, x, g)]
        notes.append(f"LIF: Jelly's backend='auto' ran {peer_lif.jelly_backend(x)!r} for this input")
        for workload, calls in peer_lif.workloads(impls, x, g).items():
            measurements += interleaved(workload, calls, args.repeats)

    if "mnist" in args.only:
        for T in args.mnist_T:
            torch.manual_seed(0)
            calls, missing, checks, data_name = peer_mnist.setup(T, args.data_dir)
            missing_all.update(missing)
            notes += [f"lif_fc_mnist T={T} ({data_name}): {n}" for n in checks]
            measurements += interleaved(f"lif_fc_mnist batch T={T}", calls, args.repeats,
                                        calls_per_repeat=max(1, 200 // T))

    if "frames" in args.only:
        workloads, missing, checks = peer_frames.setup(args.events, args.frames)
        missing_all.update(missing)
        notes += [f"frames: {n}" for n in checks]
        for workload, calls in workloads.items():
            measurements += interleaved(workload, calls, args.repeats)

    load_after = os.getloadavg()
    print(f"load average after:  {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}\n")
    print(format_table(measurements, markdown=args.markdown))
    print("\nchecks (same configuration, compared outputs):")
    for note in notes:
        print(f"  - {note}")
    for name, why in missing_all.items():
        print(f"  - skipped {name}: {why}")
    return measurements


if __name__ == "__main__":
    main()
