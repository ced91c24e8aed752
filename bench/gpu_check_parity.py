"""The parity part of ``gpu_check.py``: every neuron x backend x dtype x reset x surrogate
against ``backend='reference'`` (criteria in ``gpu_check.py``'s docstring)."""

from __future__ import annotations

import copy
import itertools
import time
import zlib

from gpu_check_common import DIM, GREEN, RED, RESET, map_in_pool


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
        elif flipped and a.dim() and a.shape[-1] == out.shape[-1] and out.dim() >= 2:
            # per-channel parameter: a flipped spike rightly changes its channel's gradient (a sum
            # over few elements), so those channels are left out and the rest compared strictly
            spared = ~flips.reshape(-1, out.shape[-1]).any(dim=0)
            diff = (a - b)[..., spared].abs()
            err = float(diff.max()) if diff.numel() else 0.0
            limit = param_tol * max(float(b.abs().max()), 1e-3)
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
    torch.manual_seed(seed)  # modules that draw their initial parameters (GatedLIF) draw the same ones
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
            best = min(passed, key=lambda name: verdicts[name][2])  # the closer of the two
            ok, detail, worst = verdicts[best]
            rows.append(dict(row, status="ok", detail=f"vs {best} reference {detail}".strip(), worst=worst))
        else:
            detail = "; ".join(f"vs {name}: {why}" for name, (_, why, _) in verdicts.items())
            rows.append(dict(row, status="fail", detail=detail, worst=min(v[2] for v in verdicts.values())))
    return rows


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
    rows = [row for chunk in map_in_pool(run_case, cases, args.workers, paths, chunksize=4) for row in chunk]
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
    passing = sorted((r for r in rows if r["status"] == "ok"), key=lambda r: -r["worst"])[:5]
    if passing:
        cases = (f"{r['backend']} {r['neuron']} {r['dtype']} {r['reset']} {r['surrogate']} {r['worst']:.2f}"
                 for r in passing)
        print("closest to their limits (error / limit): " + ", ".join(cases))
    failures = [r for r in rows if r["status"] in ("fail", "error")]
    for r in failures[:60]:
        print(f"{RED}FAIL{RESET} {r['backend']} {r['neuron']} {r['dtype']} {r['reset']} {r['surrogate']} "
              f"detach={r['detach']}: {r['detail']}")
    if len(failures) > 60:
        print(f"... and {len(failures) - 60} more failures")
    return all_ok
