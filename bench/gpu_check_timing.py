"""The timing part of ``gpu_check.py``: multi-step LIF per backend against the copy-bandwidth floor."""

from __future__ import annotations

import itertools

from gpu_check_common import GREEN, RED, RESET


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
