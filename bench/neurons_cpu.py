"""CPU benchmark of multi-step LIF training: Jelly's backends against SpikingJelly 2.0.

Not a test: run it by hand (it takes several minutes) and read the table::

    python bench/neurons_cpu.py                      # T in {8, 32, 128}, 2^20 and 2^14 elements
    python bench/neurons_cpu.py --steps 32 --log2-elements 14 --repeats 9 --skip-memory

Every implementation is the same neuron, ``LIFNode(tau=2, v_reset=0, ATan surrogate,
decay_input=True, detach_reset=False)`` in multi-step mode on a float32 ``[T, N]`` input:

* ``jelly-numba``, ``jelly-numba_recompute``: the fused numba kernels (``jelly-neurons[cpu]``),
* ``jelly-torch``: one autograd node per layer with a hand-written BPTT in torch ops,
* ``jelly-reference``: the plain per-step autograd loop,
* ``spikingjelly``: SpikingJelly 2.0's ``neuron.LIFNode`` on CPU (``pip install
  spikingjelly==2.0.0 --no-deps loguru``), the baseline of the ratios. Its 2.0 ``LIFNode``
  takes no ``backend`` argument; on CPU with a built-in surrogate it runs the registered op
  ``sj_lif::forward``: a per-step loop of torch ops that stacks spikes and ``h`` (saved),
  and a hand-written backward that is again a per-step loop of torch ops.

Timing: ``fwd`` is the training forward (the input requires grad, so each implementation
saves what its backward needs); ``fwd+bwd`` adds ``spikes.backward(g)`` with a fixed dense
random ``g`` (what a downstream layer would send). The state is reset before each call and
input preparation is outside the timer. Implementations run interleaved (the order rotates
every repeat) after one warm-up call each (which also compiles/loads the numba kernels), so
a change of machine load hits all of them alike; the table gives the median and the ratio
``spikingjelly median / this median`` (above 1: faster than SpikingJelly).

Peak memory: each (implementation, T, N) runs once more in a fresh subprocess: after imports,
the input, the gradient and a small warm-up call, the kernel's peak-RSS counter is reset
(``echo 5 > /proc/self/clear_refs``) and ``VmHWM - VmRSS`` (``/proc/self/status``) after one
``fwd+bwd`` is the extra memory that step needed at its peak: outputs, saved tensors,
gradients (``x.grad`` included, the same for all) and temporaries. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import torch

IMPLEMENTATIONS = ("jelly-numba", "jelly-numba_recompute", "jelly-torch", "jelly-reference", "spikingjelly")
BASELINE = "spikingjelly"


def make_neuron(name: str):
    """The LIF neuron of implementation ``name`` (multi-step mode)."""
    if name == "spikingjelly":
        from spikingjelly.activation_based import neuron, surrogate

        return neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m")
    from jelly import neurons, surrogates

    backend = name.split("-", 1)[1]
    return neurons.LIFNode(tau=2.0, surrogate_function=surrogates.ATan(), step_mode="m", backend=backend)


def make_data(steps: int, elements: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A float32 input that makes about a fifth of the neurons fire per step, and a dense gradient."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(steps, elements, generator=gen) * 0.8 + 0.6
    g = torch.randn(steps, elements, generator=gen)
    return x, g


def run_once(node, x: torch.Tensor, g: torch.Tensor, backward: bool) -> float:
    """Seconds for one forward (and backward) of ``node`` on a fresh leaf view of ``x``."""
    node.reset()
    x_in = x.detach().requires_grad_()
    start = time.perf_counter()
    spikes = node(x_in)
    if backward:
        spikes.backward(g)
    return time.perf_counter() - start


def time_config(names, steps: int, elements: int, repeats: int, budget_s: float) -> dict:
    """Median seconds per (implementation, mode), interleaved; fewer repeats for slow configs."""
    x, g = make_data(steps, elements)
    nodes = {name: make_neuron(name) for name in names}
    for name in names:  # first call: kernel compilation or cache loading, thread pools
        run_once(nodes[name], x, g, True)
    one_round = sum(run_once(nodes[name], x, g, True) for name in names)
    reps = max(3, min(repeats, int(budget_s / max(2 * one_round, 1e-9))))
    samples = {(name, mode): [] for name in names for mode in ("fwd", "fwd+bwd")}
    for r in range(reps):
        order = names[r % len(names):] + names[: r % len(names)]
        for mode in ("fwd", "fwd+bwd"):
            for name in order:
                samples[(name, mode)].append(run_once(nodes[name], x, g, mode == "fwd+bwd"))
    return {key: statistics.median(values) for key, values in samples.items()}, reps


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"{field}:\s+(\d+)", f.read()).group(1))


def memory_probe(name: str, steps: int, elements: int) -> float:
    """Peak extra MiB of one fwd+bwd (run in a fresh process; see the module docstring)."""
    x, g = make_data(steps, elements)
    node = make_neuron(name)
    small_x, small_g = make_data(4, 1024)
    run_once(node, small_x, small_g, True)
    node.reset()
    x_in = x.detach().requires_grad_()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_kib("VmRSS")
    node(x_in).backward(g)
    return (_status_kib("VmHWM") - base) / 1024


def measure_memory(name: str, steps: int, elements: int, threads: int) -> float | None:
    cmd = [sys.executable, __file__, "--threads", str(threads), "--memory-probe", name, str(steps), str(elements)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  memory probe {name} T={steps} N={elements} failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])["peak_mib"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--log2-elements", type=int, nargs="+", default=[20, 14])
    parser.add_argument("--repeats", type=int, default=25, help="repeats per config (at least 3; fewer if slow)")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds of timed runs per config, roughly")
    parser.add_argument("--impls", nargs="+", default=list(IMPLEMENTATIONS), choices=IMPLEMENTATIONS)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-probe", nargs=3, metavar=("IMPL", "T", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.memory_probe:
        name, steps, elements = args.memory_probe
        print(json.dumps({"peak_mib": memory_probe(name, int(steps), int(elements))}))
        return

    names = list(args.impls)
    print(f"torch {torch.__version__}, {args.threads} threads, cpu count {os.cpu_count()}, "
          f"load average at start {os.getloadavg()}")
    rows = []
    for steps in args.steps:
        for log2 in args.log2_elements:
            elements = 1 << log2
            t0 = time.time()
            medians, reps = time_config(names, steps, elements, args.repeats, args.budget)
            memory = {}
            if not args.skip_memory:
                memory = {name: measure_memory(name, steps, elements, args.threads) for name in names}
            for mode in ("fwd", "fwd+bwd"):
                base = medians.get((BASELINE, mode))
                for name in names:
                    ms = medians[(name, mode)] * 1e3
                    ratio = base / medians[(name, mode)] if base else float("nan")
                    mem = memory.get(name) if mode == "fwd+bwd" else None
                    rows.append((steps, log2, mode, name, ms, ratio, mem, reps))
                    mem_txt = "" if mem is None else f"{mem:10.1f}"
                    print(f"T={steps:<4d} N=2^{log2:<3d} {mode:8s} {name:22s} {ms:11.2f} ms  x{ratio:6.2f} {mem_txt}",
                          flush=True)
            print(f"  ({reps} repeats, {time.time() - t0:.0f} s, load average now {os.getloadavg()})", flush=True)
    print()
    print("| T | N | mode | implementation | median ms | speed-up vs SpikingJelly | peak MiB (fwd+bwd) | repeats |")
    print("|---|---|---|---|---|---|---|---|")
    for steps, log2, mode, name, ms, ratio, mem, reps in rows:
        mem_txt = "" if mem is None else f"{mem:.0f}"
        print(f"| {steps} | 2^{log2} | {mode} | {name} | {ms:.2f} | {ratio:.2f} | {mem_txt} | {reps} |")
    print(f"\nload average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
