"""One GPU check of the fused neuron backends: parity with the torch reference, then speed.

Run from the repository root on a machine with a CUDA GPU. Nothing needs installing
beyond PyTorch (and CuPy / Triton for those backends): the repo's libraries are put on
``sys.path`` (every ``libs/*/src`` under ``--pythonpath``, the repository root by default)::

    python bench/gpu_check.py                       # parity table, then the LIF timing table
    nox -s gpu                                      # the same, with the current interpreter
    python bench/gpu_check.py --quick               # 3 surrogates instead of all of them
    python bench/gpu_check.py --skip-timing --json parity.json
    python bench/gpu_check.py --cpu --quick         # no GPU: parity of the torch backend on CPU
    python bench/gpu_check.py --compile-only        # no GPU needed: every CuPy kernel through NVRTC

**Compile.** Every CuPy kernel (neuron x reset x surrogate x detach_reset x dtype x vector
width: 5,568 distinct kernels) is compiled to PTX for compute_90 with NVRTC in a process
pool, so the whole cross product is known to build; parity then runs what it launches.

**Parity.** For every neuron x backend x dtype x reset x surrogate (``detach_reset``
alternates with the surrogate) a module with ``backend=<b>`` runs forward and backward on
random ``[T, N, C]`` input, and is compared with the same module on ``backend='reference'``
(the per-step autograd loop): outputs, stored membranes, the input gradient and every
parameter gradient. float16/bfloat16 runs are compared with the reference in the same
dtype *and* with the float32 reference on the same (rounded) input; a run passes if it
matches either (kernels that accumulate in float32 match the latter), where against the
float32 reference it may be off by up to twice what the 16-bit reference loop itself is
off (three times for a parameter's gradient: for such sums half arithmetic loses a lot).
Elements whose spikes differ (a flip near the threshold changes the rest of that element's
trajectory) are left out of the other comparisons, and so are the channels holding them in
per-channel parameter gradients (a scalar parameter's gradient then gets a 20% tolerance);
at most 0.1% (float32) or 1% (16-bit) may flip. The inputs and the modules' initial
parameters are seeded per case, so a run repeats exactly. In 16-bit, as many element-wise
values as may flip (1%) may also exceed the tolerance: a value rounded onto the other side
of a kink of the surrogate's derivative (e.g. ``PiecewiseLeakyReLU`` at its corners) gets
another slope.
Cases run in a pool of worker processes (``--workers``), which also compiles the CuPy and
Triton variants in parallel (both keep compiled kernels in their on-disk caches).

**'auto'.** For each timing input, one training call with ``backend='auto'`` lets the
registry measure the available backends (:mod:`jelly.neurons.backends.autotune`); the
table says which it keeps and the times it measured.

**Timing.** Multi-step LIF (tau=2, hard reset, Sigmoid surrogate) for T in {4, 16, 64} and
2^20 and 2^24 elements per step, float32 and float16, for each backend: the forward
under ``torch.no_grad()`` and forward+backward (gradient into the spikes only). Each time
is reported as a fraction of its bytes-moved floor, ``bytes / copy bandwidth``, where
the bandwidth is measured in the same run by a device-to-device copy (read + write bytes
over time) and the bytes-moved model per element and step, with ``s`` the element size, is

* forward (inference): read x, write spike and v: ``3 s``
* forward+backward: forward 4 s (also writes h for the backward), backward 3 s (reads
  the spike gradient and h, writes the input gradient): ``7 s``

Exit status: 0 if every parity case passed (or was not applicable), 1 otherwise, 2 without
a GPU (unless ``--cpu``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the gpu_check_* parts next to this file

from gpu_check_common import GREEN, RED, RESET, ROOT, add_pythonpath  # noqa: E402
from gpu_check_compile import compile_all  # noqa: E402
from gpu_check_parity import parity, print_parity  # noqa: E402
from gpu_check_timing import timing  # noqa: E402


def environment(device) -> str:
    import torch

    parts = [f"torch {torch.__version__} (CUDA {torch.version.cuda})", f"device {device}"]
    if device.type == "cuda":
        parts.append(torch.cuda.get_device_name(device))
    for name in ("cupy", "triton"):
        try:
            parts.append(f"{name} {__import__(name).__version__}")
        except Exception:  # noqa: BLE001
            parts.append(f"{name} not importable")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pythonpath", type=Path, default=ROOT, help="repository whose libs/*/src to import")
    parser.add_argument("--cpu", "--dry-run", dest="cpu", action="store_true",
                        help="no GPU: parity of the CPU backends (torch by default), no timing")
    parser.add_argument("--backends", type=lambda s: s.split(","), default=None)
    parser.add_argument("--neurons", type=lambda s: s.split(","), default=None)
    parser.add_argument("--dtypes", type=lambda s: s.split(","), default=None)
    parser.add_argument("--quick", action="store_true", help="3 surrogates instead of all")
    parser.add_argument("--steps", type=int, default=8, help="T of the parity cases")
    parser.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    parser.add_argument("--skip-compile", action="store_true", help="do not compile every CuPy variant first")
    parser.add_argument("--compile-only", action="store_true",
                        help="only compile every CuPy kernel variant with NVRTC (works without a GPU)")
    parser.add_argument("--skip-parity", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--timing-sizes", type=lambda s: [int(v) for v in s.split(",")], default=[20, 24],
                        help="log2 of the elements per step")
    parser.add_argument("--timing-dtypes", type=lambda s: s.split(","), default=["float32", "float16"])
    parser.add_argument("--json", type=Path, help="write every row here")
    args = parser.parse_args(argv)

    paths = add_pythonpath(args.pythonpath)
    import torch

    from jelly.neurons.backends.registry import _REGISTRY

    if args.compile_only:
        return 0 if compile_all(args, paths) else 1
    if args.cpu:
        device = torch.device("cpu")
        args.backends = args.backends or ["torch"]
        args.dtypes = args.dtypes or ["float32"]
        args.workers = 1
        args.skip_timing = True
    else:
        if not torch.cuda.is_available():
            print("gpu_check: no CUDA GPU visible to PyTorch (torch.cuda.is_available() is False; "
                  f"torch {torch.__version__}, CUDA build {torch.version.cuda}). Run it on a GPU machine, "
                  "or use --cpu to check the torch backend on the CPU.", file=sys.stderr)
            return 2
        device = torch.device("cuda", 0)
        registered = {b for entries in _REGISTRY.values() for b in entries}
        args.backends = args.backends or [b for b in ("cupy", "triton", "torch") if b in registered]
        args.dtypes = args.dtypes or ["float32", "float16", "bfloat16"]
    print(environment(device))
    print(f"backends {args.backends}, dtypes {args.dtypes}, libs from {args.pythonpath}")
    rows: dict[str, list] = {}
    ok = True
    if "cupy" in args.backends and not args.skip_compile:
        ok = compile_all(args, paths)
    if not args.skip_parity:
        rows["parity"] = parity(args, paths, device.type)
        ok = print_parity(rows["parity"], args.backends) and ok
    if not args.skip_timing:
        rows["timing"] = timing(args, device)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))
    print(f"\n{GREEN + 'all parity cases passed' if ok else RED + 'parity failures'}{RESET}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
