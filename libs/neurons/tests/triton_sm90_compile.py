"""Compile the Triton kernels for an H100/H200 (sm_90) without a GPU and check their PTX.

Run as a script (``python triton_sm90_compile.py``) in a process *without*
``TRITON_INTERPRET=1``: the kernels must be loaded in compiled mode. Triton's bundled LLVM
and ``ptxas`` build PTX and a cubin for a given target without a driver, so this checks
what the CPU interpreter cannot: that every variant lowers for the GPU (libdevice, bf16
bit operations, the CUDA-only branches) and that the bit-exact forward design holds there,
i.e. the IF/LIF/PLIF/QIF forward PTX has no fused multiply-add and no division (PyTorch's
CUDA ``div`` by a Python scalar multiplies by the reciprocal, and so do the kernels).

``--quick`` compiles one representative variant per kernel and I/O dtype (what the test
suite runs, ~15 s); without it every variant below (~35 s on 2 cores). Prints one JSON line:
``{"compiled": n, "failures": [...]}``; exits 1 on a failure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from jelly.neurons.backends.triton import linear_charge_kernels as linear
from jelly.neurons.backends.triton import nonlinear_if_kernels as nonlinear
from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

TARGET = GPUTarget("cuda", 90, 32)
IO_TYPES = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}
FLOAT32_POINTERS = {"k_ptr", "grad_k_partial_ptr"}
#: Runtime integer arguments of the kernels (every other non-pointer, non-constexpr one is float32).
INT_ARGUMENTS = {"steps", "numel", "channels", "inner"}


def compile_variant(kernel, io: str, constants: dict, float32_pointers=frozenset(FLOAT32_POINTERS)) -> str:
    """Compile ``kernel`` with I/O pointers of type ``io`` and the given constexprs; returns PTX.

    Pointers named in ``float32_pointers`` are float32 whatever ``io`` is.
    """
    signature = {}
    for param in kernel.params:
        name = param.name
        if param.is_constexpr:
            signature[name] = "constexpr"
        elif name.endswith("_ptr"):
            signature[name] = "*fp32" if name in float32_pointers else f"*{IO_TYPES[io]}"
        elif name in INT_ARGUMENTS:
            signature[name] = "i32"
        else:
            signature[name] = "fp32"
    source = ASTSource(fn=kernel, signature=signature, constexprs=constants)
    compiled = triton.compile(source, target=TARGET, options={"num_warps": 4, "enable_fp_fusion": False})
    assert "cubin" in compiled.asm
    return compiled.asm["ptx"]


def body_ops(ptx: str) -> set[str]:
    """Floating-point instructions of the kernel body (``fma.rn.f32``, ``div.rn.f32``, ...)."""
    return set(re.findall(r"\b((?:fma|div)(?:\.\w+)*\.f32|ex2(?:\.\w+)+)", ptx))


def variants(quick: bool):
    """(label, kernel, io dtype, constexprs, forbidden PTX ops)."""
    common = {"RECIPROCAL": True, "BLOCK": 1024}
    for io in IO_TYPES:
        for kind in (2,) if quick else (0, 1, 2):
            for decay, hard, relative in ((False, True, True),) if quick else (
                (True, True, True), (False, True, False), (True, False, False)
            ):
                constants = dict(common, KIND=kind, DECAY_INPUT=decay, HARD_RESET=hard, RELATIVE=relative,
                                 STORE_H=True, GUARD_H=io != "float32")
                yield f"linear_fwd/{io}/kind{kind}/decay{decay}/hard{hard}", linear.linear_charge_forward_kernel, io, \
                    constants, ("fma", "div")
        for kind in ((0,) if io == "float32" else (1,) if io == "float16" else ()) if quick else (0, 1):
            constants = dict(common, KIND=kind, HARD_RESET=True, PRECISE_EXP=True, STORE_H=True,
                             GUARD_H=io != "float32")
            yield f"nonlinear_fwd/{io}/kind{kind}", nonlinear.nonlinear_if_forward_kernel, io, constants, \
                (("fma", "div") if kind == 0 else ("div.rn",))
    for name, fn in TRITON_DERIVATIVES.items():
        if quick and name not in ("ATan", "SquarewaveFourierSeries"):
            continue
        for io in ("bfloat16",) if quick else ("float32", "bfloat16") if name == "ATan" else ("float32",):
            constants = dict(BLOCK=1024, SG_FN=fn, SG_ORDER=3, KIND=2, DECAY_INPUT=True, HARD_RESET=True,
                             RELATIVE=False, DETACH_RESET=False)
            yield f"linear_bwd/{io}/{name}", linear.linear_charge_backward_kernel, io, constants, ()
    for kind in (1,) if quick else (0, 1):
        constants = dict(BLOCK=1024, SG_FN=TRITON_DERIVATIVES["Sigmoid"], SG_ORDER=0, KIND=kind, HARD_RESET=False,
                         DETACH_RESET=False, RECIPROCAL=True, PRECISE_EXP=True)
        yield f"nonlinear_bwd/kind{kind}", nonlinear.nonlinear_if_backward_kernel, "float16", constants, ()


def all_variants(quick: bool):
    """:func:`variants`, then those of every ``sm90_variants_*.py`` module next to this script.

    Such a module defines ``variants(quick)`` yielding ``(label, kernel, io dtype, constexprs,
    forbidden PTX op prefixes)`` and, optionally, a sixth item: the names of the pointers that
    are float32 whatever the I/O dtype.
    """
    yield from variants(quick)
    here = Path(__file__).resolve().parent
    for path in sorted(here.glob("sm90_variants_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield from module.variants(quick)


def main() -> int:
    if os.environ.get("TRITON_INTERPRET") == "1":
        print("run without TRITON_INTERPRET=1", file=sys.stderr)
        return 2
    failures, compiled = [], 0
    for label, kernel, io, constants, forbidden, *pointers in all_variants(quick="--quick" in sys.argv):
        try:
            ops = body_ops(compile_variant(kernel, io, constants, *pointers))
        except Exception as error:  # noqa: BLE001 - every failure is reported with its variant
            failures.append(f"{label}: {type(error).__name__}: {str(error)[:300]}")
            continue
        compiled += 1
        bad = sorted(op for op in ops if any(op.startswith(prefix) for prefix in forbidden))
        if bad:
            failures.append(f"{label}: forbidden instructions {bad}")
    print(json.dumps({"compiled": compiled, "failures": failures}))
    return 1 if failures or not compiled else 0


if __name__ == "__main__":
    sys.exit(main())
