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
trajectory) are left out of the other comparisons; at most 0.1% (float32) or 1% (16-bit)
may flip. In 16-bit, as many element-wise values as may flip (1%) may also exceed the
tolerance: a value rounded onto the other side of a kink of the surrogate's derivative
(e.g. ``PiecewiseLeakyReLU`` at its corners) gets another slope.
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
import copy
import itertools
import json
import os
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_COLOR = sys.stdout.isatty() or bool(os.environ.get("FORCE_COLOR"))
GREEN, RED, DIM, RESET = ("\033[32m", "\033[31m", "\033[2m", "\033[0m") if _COLOR else ("", "", "", "")


def add_pythonpath(root: Path) -> list[str]:
    """Put every ``libs/*/src`` of ``root`` first on ``sys.path``; returns them."""
    paths = [str(p) for p in sorted((root / "libs").glob("*/src"))]
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    return paths


# --------------------------------------------------------------------------- cases
class NotApplicable(Exception):
    """This neuron has no such configuration (e.g. CLIF with hard reset)."""


def neuron_factories():
    """name -> factory(reset, surrogate, detach_reset, T, channels) -> module (step_mode 'm')."""
    import torch

    from jelly import neurons as n

    def common(reset, sg, detach, hard_value=0.0):
        return {"v_reset": hard_value if reset == "hard" else None, "surrogate_function": sg, "detach_reset": detach,
                "step_mode": "m", "store_v_seq": True}

    def clif(reset, sg, detach, T, C):
        if reset == "hard":
            raise NotApplicable("CLIF has a soft reset only")
        return n.ComplementaryLIFNode(tau=2.0, surrogate_function=sg, step_mode="m")

    def glif(reset, sg, detach, T, C):
        if reset == "soft":
            raise NotApplicable("GLIF's reset is learned (gates), run once as 'hard'")
        return n.GatedLIFNode(T=T, inplane=C, surrogate_function=sg, step_mode="m")

    return {
        "IF": lambda r, sg, d, T, C: n.IFNode(**common(r, sg, d)),
        "LIF": lambda r, sg, d, T, C: n.LIFNode(tau=2.0, **common(r, sg, d)),
        "LIF(decay_input=False)": lambda r, sg, d, T, C: n.LIFNode(tau=3.0, decay_input=False, **common(r, sg, d)),
        "PLIF": lambda r, sg, d, T, C: n.ParametricLIFNode(init_tau=2.0, **common(r, sg, d)),
        "PLIF(decay_input=False)": lambda r, sg, d, T, C: n.ParametricLIFNode(
            init_tau=3.0, decay_input=False, **common(r, sg, d)),
        "QIF": lambda r, sg, d, T, C: n.QIFNode(**common(r, sg, d, -0.1)),
        "EIF": lambda r, sg, d, T, C: n.EIFNode(**common(r, sg, d, -0.1)),
        "Izhikevich": lambda r, sg, d, T, C: n.IzhikevichNode(a=0.5, b=0.2, **common(r, sg, d)),
        "KLIF": lambda r, sg, d, T, C: n.KLIFNode(**common(r, sg, d)),
        "KLIF(scale_reset)": lambda r, sg, d, T, C: n.KLIFNode(scale_reset=True, **common(r, sg, d)),
        "CUBA-LIF": lambda r, sg, d, T, C: n.CUBALIFNode(**common(r, sg, d)),
        "CLIF": clif,
        "LIAF": lambda r, sg, d, T, C: n.LIAFNode(act=torch.relu, threshold_related=True, **common(r, sg, d)),
        "GatedLIF": glif,
    }


def surrogate_list(quick: bool):
    """Every surrogate with a closed-form derivative and a deterministic forward (defaults)."""
    from jelly.surrogates import cuda_sources

    classes = list(cuda_sources.supported_surrogate_types())
    if quick:
        names = ("ATan", "Sigmoid", "PiecewiseQuadratic")
        classes = [c for c in classes if c.__name__ in names]
    return [cls.__name__ for cls in classes]


def make_surrogate(name: str):
    from jelly import surrogates

    return getattr(surrogates, name)()


def _run(module, x, grad_out, grad_v):
    """Forward + backward of ``module`` on ``x``; returns outputs and gradients (float32, detached)."""
    import torch

    x = x.detach().clone().requires_grad_(True)
    out = module(x)
    v_seq = getattr(module, "v_seq", None)
    loss = (out.float() * grad_out).sum()
    if isinstance(v_seq, torch.Tensor) and v_seq.requires_grad:
        loss = loss + (v_seq.float() * grad_v).sum()
    loss.backward()
    result = {"out": out.detach().float(), "grad_x": x.grad.float()}
    if isinstance(v_seq, torch.Tensor):
        result["v"] = v_seq.detach().float()
    for name, p in module.named_parameters():
        result[f"grad_{name}"] = (p.grad if p.grad is not None else torch.zeros_like(p)).detach().float()
    return result


TOLERANCES = {  # dtype -> (rtol, atol, parameter-gradient tolerance, max fraction of flipped elements)
    "float32": (1e-4, 1e-5, 1e-3, 1e-3),
    "float16": (2e-2, 2e-3, 3e-2, 1e-2),
    "bfloat16": (8e-2, 2e-2, 1e-1, 1e-2),
}
PER_ELEMENT = ("out", "v", "grad_x")  # [T, N, C] results, compared element by element


def measure(got: dict, ref: dict, dtype: str) -> tuple[float, dict[str, tuple[float, float]], str]:
    """How far ``got`` is from ``ref``: ``(flipped fraction, {key: (error, limit)}, problem)``.

    Elements whose spikes differ are left out of the element-wise errors; a parameter's
    gradient (a sum over every element) is compared relative to its size.
    """
    import torch

    rtol, atol, param_tol, _ = TOLERANCES[dtype]
    out, ref_out = got["out"], ref["out"]
    if out.shape != ref_out.shape:
        return 1.0, {}, f"output shape {tuple(out.shape)} != {tuple(ref_out.shape)}"
    T = out.shape[0]
    binary = bool(((ref_out == 0) | (ref_out == 1)).all())
    flips = (out != ref_out).reshape(T, -1).any(dim=0) if binary else torch.zeros_like(ref_out[0].flatten(), dtype=bool)
    flipped = float(flips.float().mean())
    keep = ~flips
    errors = {}
    for key, b in ref.items():
        a = got.get(key)
        if a is None or a.shape != b.shape:
            return flipped, errors, f"{key}: missing or of shape {None if a is None else tuple(a.shape)}"
        if not torch.isfinite(b).all():
            return flipped, errors, f"reference {key} is not finite (pick smaller inputs)"
        if key in PER_ELEMENT:
            a2, b2 = a.reshape(T, -1)[:, keep], b.reshape(T, -1)[:, keep]
            excess = (a2 - b2).abs() - rtol * b2.abs()
            limit = atol * max(1.0, float(b2.abs().max()) if b2.numel() else 1.0)
            if dtype != "float32" and excess.numel():
                # 16-bit: a few values may sit on a kink of the surrogate's derivative (or at the
                # threshold) once rounded; as many as spikes may flip are left out, the largest first
                outliers = int(TOLERANCES[dtype][3] * excess.numel())
                excess = excess.flatten().sort().values[: excess.numel() - outliers]
            err = float(excess.max()) if excess.numel() else 0.0
        else:
            err = float((a - b).abs().max())
            limit = (param_tol if flipped == 0 else 0.2) * max(float(b.abs().max()), 1e-3)
        errors[key] = (err if err == err else float("inf"), limit)
    return flipped, errors, ""


def compare(got: dict, ref: dict, dtype: str, baseline: tuple | None = None) -> tuple[bool, str, float]:
    """Whether ``got`` matches ``ref`` (see the module docstring).

    ``baseline`` is :func:`measure` of the reference in ``dtype`` against ``ref`` (the
    float32 reference): a 16-bit run may then be as far from ``ref`` as twice the
    16-bit reference itself is (half arithmetic in the reference loop loses as much), and
    three times for a parameter's gradient (a sum over every element and step, where the
    order of the 16-bit roundings differs between implementations).

    Returns:
        ``(ok, why, worst)`` with ``worst`` the largest error over its limit (<= 1 passes).
    """
    max_flip = TOLERANCES[dtype][3]
    flipped, errors, problem = measure(got, ref, dtype)
    if problem:
        return False, problem, float("inf")
    if baseline is not None:
        max_flip = max(max_flip, 2 * baseline[0])
    if flipped > max_flip:
        return False, f"{flipped:.2%} of elements spike differently", flipped / max_flip
    worst = 0.0
    for key, (err, limit) in errors.items():
        if baseline is not None and key in baseline[1]:
            limit = max(limit, (2 if key in PER_ELEMENT else 3) * baseline[1][key][0])
        worst = max(worst, err / limit)
        if not err <= limit:
            return False, f"{key}: error {err:.3g} > {limit:.3g}", worst
    return True, (f"({flipped:.2%} flipped)" if flipped else ""), worst


def run_case(case: tuple) -> list[dict]:
    """One (neuron, dtype, reset, surrogate) on every backend; returns one row per backend."""
    import torch

    neuron, dtype_name, reset, surrogate_name, detach, backends, device_name, shape = case
    device = torch.device(device_name)
    dtype = getattr(torch, dtype_name)
    seed = zlib.crc32(repr(case[:4]).encode())
    gen = torch.Generator(device="cpu").manual_seed(seed)
    T, N, C = shape
    base = {"neuron": neuron, "dtype": dtype_name, "reset": reset, "surrogate": surrogate_name, "detach": detach}
    try:
        sg = make_surrogate(surrogate_name)
        module = neuron_factories()[neuron](reset, sg, detach, T, C)
    except NotApplicable as why:
        return [dict(base, backend=b, status="n/a", detail=str(why), worst=0.0) for b in backends]
    for p in module.parameters():  # move learnable constants off their initial values
        with torch.no_grad():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    scale = 1.2 if neuron in ("QIF", "EIF", "Izhikevich") else 2.5
    x32 = (torch.rand(T, N, C, generator=gen) * scale - 0.4).to(device)
    x = x32.to(dtype)
    grad_out = torch.randn(T, N, C, generator=gen).to(device)
    grad_v = torch.randn(T, N, C, generator=gen).to(device)

    def run_with(backend: str, inp):
        m = copy.deepcopy(module).to(device)
        m.backend = backend
        return _run(m, inp, grad_out, grad_v)

    references = {"same dtype": run_with("reference", x)}
    baseline = None
    if dtype != torch.float32:
        references["float32"] = run_with("reference", x.float())
        baseline = measure(references["same dtype"], references["float32"], dtype_name)
    rows = []
    for backend in backends:
        row = dict(base, backend=backend)
        try:
            got = run_with(backend, x)
        except ValueError as error:  # backend not registered for this neuron
            rows.append(dict(row, status="n/a", detail=str(error).split(",")[0], worst=0.0))
            continue
        except Exception as error:  # noqa: BLE001 - reported in the table
            rows.append(dict(row, status="error", detail=f"{type(error).__name__}: {error}"[:300], worst=float("inf")))
            continue
        verdicts = {"same dtype": compare(got, references["same dtype"], dtype_name)}
        if "float32" in references:
            verdicts["float32"] = compare(got, references["float32"], dtype_name, baseline)
        passed = [name for name, (ok, _, _) in verdicts.items() if ok]
        if passed:
            ok, detail, worst = verdicts[passed[0]]
            rows.append(dict(row, status="ok", detail=f"vs {passed[0]} reference {detail}".strip(), worst=worst))
        else:
            detail = "; ".join(f"vs {name}: {why}" for name, (_, why, _) in verdicts.items())
            rows.append(dict(row, status="fail", detail=detail, worst=min(v[2] for v in verdicts.values())))
    return rows


def _worker_init(paths: list[str]) -> None:
    for path in reversed(paths):
        if path not in sys.path:
            sys.path.insert(0, path)
    import torch

    torch.set_num_threads(1)


def parity(args, paths: list[str], device: str) -> list[dict]:
    """Run every case (in a process pool on a GPU); returns all rows."""
    factories = neuron_factories()
    neurons = [n for n in factories if not args.neurons or n in args.neurons]
    surrogates = surrogate_list(args.quick)
    cases = []
    for neuron, dtype, reset in itertools.product(neurons, args.dtypes, ("hard", "soft")):
        for i, sg in enumerate(surrogates):
            shape = (args.steps, 4, 700) if i % 3 else (args.steps, 3, 333)  # 999 elements: the scalar kernels
            cases.append((neuron, dtype, reset, sg, bool(i % 2), tuple(args.backends), device, shape))
    started = time.perf_counter()
    if args.workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(args.workers, _worker_init, (paths,)) as pool:
            chunks = pool.imap_unordered(run_case, cases, chunksize=4)
            rows = [row for chunk in chunks for row in chunk]
    else:
        rows = [row for case in cases for row in run_case(case)]
    print(f"parity: {len(cases)} cases x {len(args.backends)} backends in {time.perf_counter() - started:.0f} s")
    return rows


def print_parity(rows: list[dict], backends: list[str]) -> bool:
    """A table per (neuron, dtype, reset) with passed/total per backend; then the failures."""
    groups: dict[tuple, dict[str, list[dict]]] = {}
    for row in rows:
        groups.setdefault((row["neuron"], row["dtype"], row["reset"]), {}).setdefault(row["backend"], []).append(row)
    width = max(len(f"{k[0]} {k[1]} {k[2]}") for k in groups) + 2
    print("\nparity with the torch reference (passed / applicable surrogates)")
    print("".ljust(width) + "".join(b.ljust(14) for b in backends))
    all_ok = True
    for key in sorted(groups):
        line = f"{key[0]} {key[1]} {key[2]}".ljust(width)
        for backend in backends:
            cells = groups[key].get(backend, [])
            applicable = [r for r in cells if r["status"] != "n/a"]
            passed = sum(r["status"] == "ok" for r in applicable)
            if not applicable:
                line += f"{DIM}{'n/a'.ljust(14)}{RESET}"
                continue
            good = passed == len(applicable)
            all_ok &= good
            cell = f"{passed}/{len(applicable)} {'ok' if good else 'FAIL'}"
            line += f"{GREEN if good else RED}{cell.ljust(14)}{RESET}"
        print(line)
    failures = [r for r in rows if r["status"] in ("fail", "error")]
    for r in failures[:60]:
        print(f"{RED}FAIL{RESET} {r['backend']} {r['neuron']} {r['dtype']} {r['reset']} {r['surrogate']} "
              f"detach={r['detach']}: {r['detail']}")
    if len(failures) > 60:
        print(f"... and {len(failures) - 60} more failures")
    return all_ok


# --------------------------------------------------------------------------- compile
def cupy_programs(chunk: int = 48) -> list:
    """Every CuPy kernel instantiation, grouped into NVRTC programs of ``chunk`` kernels."""
    from jelly.neurons.backends.cupy import gated_lif, loader, multi_state, single_state

    by_source: dict[str, list[str]] = {}
    for variant in itertools.chain(single_state.all_variants(), multi_state.all_variants(),
                                   gated_lif.all_variants()):
        by_source.setdefault(variant.source, []).extend(variant.names)
    programs = []
    for source, names in by_source.items():
        unique = list(dict.fromkeys(names))
        programs += [loader.Variant(source, tuple(unique[i:i + chunk])) for i in range(0, len(unique), chunk)]
    return programs


def _compile_program(program) -> tuple[int, str]:
    from jelly.neurons.backends.cupy import loader

    try:
        loader.nvrtc_ptx(program, arch="compute_90")
    except Exception as error:  # noqa: BLE001 - reported
        return 0, f"{program.source}: {str(error)[:2000]}"
    return len(program.names), ""


def compile_all(args, paths: list[str]) -> bool:
    """Compile every CuPy kernel variant to PTX with NVRTC (no GPU needed); report failures."""
    try:
        programs = cupy_programs()
        from cupy.cuda import nvrtc

        nvrtc.getVersion()
    except Exception as error:  # noqa: BLE001
        print(f"compile: skipped, CuPy's NVRTC is not usable here ({type(error).__name__}: {error})")
        return True
    started = time.perf_counter()
    if args.workers > 1:
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(args.workers, _worker_init, (paths,)) as pool:
            results = pool.map(_compile_program, programs, chunksize=1)
    else:
        results = [_compile_program(p) for p in programs]
    kernels = sum(n for n, _ in results)
    failures = [why for _, why in results if why]
    total = sum(len(p.names) for p in programs)
    print(f"compile: {kernels}/{total} CuPy kernels ({len(programs)} NVRTC programs) compiled to PTX for "
          f"compute_90 in {time.perf_counter() - started:.0f} s")
    for why in failures[:5]:
        print(f"{RED}FAIL{RESET} {why}")
    return not failures


# --------------------------------------------------------------------------- timing
def _cuda_time(fn, min_seconds: float = 0.2, max_reps: int = 20) -> float:
    """Median seconds per call of ``fn`` on the GPU (CUDA events, after a warm-up call)."""
    import torch

    fn()
    torch.cuda.synchronize()
    times: list[float] = []
    while len(times) < max_reps and (sum(times) < min_seconds or len(times) < 3):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / 1e3)
    return sorted(times)[len(times) // 2]


def copy_bandwidth(device) -> float:
    """Bytes per second of a device-to-device copy (read + write), 1 GiB buffers."""
    import torch

    src = torch.empty(1 << 28, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    seconds = _cuda_time(lambda: dst.copy_(src))
    return 2 * src.numel() * src.element_size() / seconds


#: Bytes-moved model of multi-step LIF, in element sizes per element and step (module docstring).
BYTES_PER_ELEMENT_STEP = {"forward": 3, "forward+backward": 7}


def _time_lif(fn, x, v0, grad, params, sg) -> dict[str, float]:
    """Seconds of the forward (no grad) and of forward+backward of the op ``fn``."""
    import torch

    def forward():
        with torch.no_grad():
            fn(x, v0, params, sg)

    xg = x.detach().clone().requires_grad_(True)

    def forward_backward():
        xg.grad = None
        spikes, _ = fn(xg, v0, params, sg)
        torch.autograd.backward(spikes, grad)

    return {"forward": _cuda_time(forward), "forward+backward": _cuda_time(forward_backward)}


def _auto_pick(x, v0, params, sg, dtype_name: str, T: int, n: int) -> dict:
    """What ``backend='auto'`` picks for this input after measuring (one training call)."""
    from jelly.neurons.backends import autotune_records, resolve
    from jelly.neurons.backends.torch_backends import LINEAR_CHARGE_OP

    xg = x.detach().clone().requires_grad_(True)
    resolve(LINEAR_CHARGE_OP, "auto", xg, surrogate_function=sg).fn(xg, v0, params, sg)
    chosen = resolve(LINEAR_CHARGE_OP, "auto", xg, surrogate_function=sg)
    record = next((r for key, r in autotune_records().items()
                   if key[0] == LINEAR_CHARGE_OP and key[2] == x.dtype and key[3] == T and key[4] == n), None)
    return {"backend": chosen.backend, "dtype": dtype_name, "T": T, "elements": n, "phase": "auto pick",
            "summary": record.summary() if record else chosen.reason}


def timing(args, device) -> list[dict]:
    """Forward and forward+backward of multi-step LIF per backend (see the module docstring)."""
    import torch

    from jelly import surrogates
    from jelly.neurons.backends.registry import _REGISTRY
    from jelly.neurons.backends.torch_backends import LINEAR_CHARGE_OP
    from jelly.neurons.functional.integrate_fire import LinearChargeParams

    bandwidth = copy_bandwidth(device)
    print(f"\ncopy bandwidth (read + write): {bandwidth / 1e9:.0f} GB/s")
    params = LinearChargeParams("lif", 1.0, 0.0, tau=2.0)
    sg = surrogates.Sigmoid()
    rows = []
    for dtype_name, T, log_n in itertools.product(args.timing_dtypes, (4, 16, 64), args.timing_sizes):
        dtype = getattr(torch, dtype_name)
        n = 1 << log_n
        x = torch.rand(T, n, device=device, dtype=dtype) * 2.5 - 0.4
        v0 = torch.zeros(n, device=device, dtype=dtype)
        grad = torch.randn(T, n, device=device, dtype=dtype)
        s = x.element_size()
        for backend in args.backends:
            entry = _REGISTRY[LINEAR_CHARGE_OP].get(backend)
            if entry is None or (entry.check is not None and entry.check(x) is not None):
                continue
            for phase, seconds in _time_lif(entry.fn, x, v0, grad, params, sg).items():
                floor = BYTES_PER_ELEMENT_STEP[phase] * s * T * n / bandwidth
                rows.append({"backend": backend, "dtype": dtype_name, "T": T, "elements": n, "phase": phase,
                             "ms": seconds * 1e3, "floor_fraction": floor / seconds})
        rows.append(_auto_pick(x, v0, params, sg, dtype_name, T, n))
        del x, v0, grad
        torch.cuda.empty_cache()
    print("\n'auto' (measured on the first call per input kind, forward+backward):")
    for r in (r for r in rows if r["phase"] == "auto pick"):
        print(f"  {r['dtype']:9}T={r['T']:<3} 2^{r['elements'].bit_length() - 1:<3} -> {r['backend']:7} {r['summary']}")
    print(f"\nmulti-step LIF, ms (fraction of the bytes-moved floor); floor = bytes / {bandwidth / 1e9:.0f} GB/s")
    print(f"{'dtype':9}{'T':>4}{'elements':>10}  {'phase':18}" + "".join(f"{b:>20}" for b in args.backends))
    keyed = {(r["dtype"], r["T"], r["elements"], r["phase"], r["backend"]): r for r in rows}
    for dtype_name, T, log_n in itertools.product(args.timing_dtypes, (4, 16, 64), args.timing_sizes):
        for phase in ("forward", "forward+backward"):
            line = f"{dtype_name:9}{T:>4}{'2^' + str(log_n):>10}  {phase:18}"
            for backend in args.backends:
                r = keyed.get((dtype_name, T, 1 << log_n, phase, backend))
                line += f"{'-':>20}" if r is None else f"{r['ms']:>11.3f} ({r['floor_fraction']:4.0%})"
            print(line)
    _targets(keyed, args)
    return rows


def _targets(keyed: dict, args) -> None:
    """The issue's targets at T=16, 2^24 elements, forward+backward."""
    n = 1 << 24
    fb = "forward+backward"
    for backend in [b for b in args.backends if b != "torch"]:
        f32 = keyed.get(("float32", 16, n, fb, backend))
        ref = keyed.get(("float32", 16, n, fb, "torch"))
        f16 = keyed.get(("float16", 16, n, fb, backend))
        if f32 is None:
            continue
        checks = [(f"{backend} float32 at >= 60% of the copy floor", f32["floor_fraction"] >= 0.6,
                   f"{f32['floor_fraction']:.0%}")]
        if ref is not None:
            speedup = ref["ms"] / f32["ms"]
            checks.append((f"{backend} float32 >= 5x the torch backend", speedup >= 5, f"{speedup:.1f}x"))
        if f16 is not None:
            ratio = f32["ms"] / f16["ms"]
            checks.append((f"{backend} float16 >= 1.6x float32 throughput", ratio >= 1.6, f"{ratio:.2f}x"))
        for text, ok, value in checks:
            print(f"{GREEN + 'PASS' if ok else RED + 'MISS'}{RESET} {text}: {value}")


# --------------------------------------------------------------------------- main
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
