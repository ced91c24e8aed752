"""sm_90 compile variants of the KLIF and LIAF Triton kernels, for ``triton_sm90_compile.py``.

:func:`variants` yields ``(label, kernel, io dtype, constexprs, forbidden PTX op prefixes,
float32 pointer names)``. The float32 forwards must hold no fused multiply-add (they match
the reference bit for bit) and no division, except KLIF with ``scale_reset``, whose
reference divides by the tensor ``k``: there only the correctly rounded ``div.rn`` may
appear (``div.full``/``div.approx`` are forbidden).
"""

from __future__ import annotations

from jelly.neurons.backends.triton import klif_kernels, liaf_kernels
from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

#: Pointers of the KLIF kernels that are float32 whatever the I/O dtype.
KLIF_FLOAT32_POINTERS = frozenset({"k_ptr", "grad_k_partial_ptr"})
#: LIAF has none (every pointer has the I/O dtype).
LIAF_FLOAT32_POINTERS = frozenset()
_BLOCK = {"BLOCK": 1024}


def _klif_forward(quick: bool):
    cases = [("float32", True, False, True, False), ("float16", False, True, False, True),
             ("bfloat16", True, True, True, True)]
    if not quick:
        cases += [(io, decay, hard, scale, relative) for io in ("float32", "float16", "bfloat16")
                  for decay in (True, False) for hard in (True, False) for scale in (True, False)
                  for relative in ((True, False) if hard else (False,))]
    for io, decay, hard, scale, relative in dict.fromkeys(cases):
        constants = dict(_BLOCK, DECAY_INPUT=decay, HARD_RESET=hard, RELATIVE=relative, SCALE_RESET=scale,
                         RECIPROCAL=True, STORE_H=True, GUARD_H=io != "float32")
        forbidden = ("fma", "div.full", "div.approx") if scale else ("fma", "div")
        label = f"klif_fwd/{io}/decay{decay}/hard{hard}/scale{scale}/relative{relative}"
        yield label, klif_kernels.klif_forward_kernel, io, constants, forbidden, KLIF_FLOAT32_POINTERS


def _klif_backward(quick: bool):
    cases = [("bfloat16", "ATan", False, True, False), ("float32", "SquarewaveFourierSeries", True, False, False),
             ("float16", "Sigmoid", True, True, True)]
    if not quick:
        cases += [(io, name, hard, scale, detach) for io in ("float32", "float16", "bfloat16")
                  for name in ("ATan",) for hard in (True, False) for scale in (True, False)
                  for detach in (True, False)]
    for io, name, hard, scale, detach in dict.fromkeys(cases):
        constants = dict(_BLOCK, SG_FN=TRITON_DERIVATIVES[name], SG_ORDER=3, HARD_RESET=hard, SCALE_RESET=scale,
                         DETACH_RESET=detach, HAS_GRAD_SPIKE=True, HAS_GRAD_V=not detach, NEED_K=True)
        label = f"klif_bwd/{io}/{name}/hard{hard}/scale{scale}/detach{detach}"
        yield label, klif_kernels.klif_backward_kernel, io, constants, (), KLIF_FLOAT32_POINTERS


def _liaf_forward(quick: bool):
    cases = [("float32", True, True, True), ("float16", True, False, False), ("bfloat16", False, True, False)]
    if not quick:
        cases += [(io, decay, hard, relative) for io in ("float32", "float16", "bfloat16")
                  for decay in (True, False) for hard in (True, False)
                  for relative in ((True, False) if hard else (False,))]
    for io, decay, hard, relative in dict.fromkeys(cases):
        constants = dict(_BLOCK, DECAY_INPUT=decay, HARD_RESET=hard, RELATIVE=relative, RECIPROCAL=True,
                         GUARD_H=io != "float32")
        label = f"liaf_fwd/{io}/decay{decay}/hard{hard}/relative{relative}"
        yield label, liaf_kernels.liaf_forward_kernel, io, constants, ("fma", "div"), LIAF_FLOAT32_POINTERS


def _liaf_backward(quick: bool):
    cases = [("float32", "ATan", True, False, True), ("bfloat16", "Sigmoid", False, True, False),
             ("float16", "SquarewaveFourierSeries", True, False, True)]
    if not quick:
        cases += [(io, name, hard, detach, has_v) for io in ("float32", "float16", "bfloat16")
                  for name in ("Erf",) for hard in (True, False) for detach in (True, False)
                  for has_v in (True, False)]
    for io, name, hard, detach, has_v in dict.fromkeys(cases):
        constants = dict(_BLOCK, SG_FN=TRITON_DERIVATIVES[name], SG_ORDER=3, HARD_RESET=hard, DETACH_RESET=detach,
                         HAS_GRAD_H=True, HAS_GRAD_V=has_v)
        label = f"liaf_bwd/{io}/{name}/hard{hard}/detach{detach}/grad_v{has_v}"
        yield label, liaf_kernels.liaf_backward_kernel, io, constants, (), LIAF_FLOAT32_POINTERS


def variants(quick: bool):
    """Every KLIF/LIAF kernel in representative constexpr sets (3 per kernel with ``quick``)."""
    for group in (_klif_forward, _klif_backward, _liaf_forward, _liaf_backward):
        yield from group(quick)
