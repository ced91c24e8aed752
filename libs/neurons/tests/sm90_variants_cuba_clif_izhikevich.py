"""sm_90 compile variants of the CUBA-LIF, CLIF and Izhikevich Triton kernels.

Loaded by ``triton_sm90_compile.py`` (which compiles each variant for an H100/H200 without
a GPU and checks its PTX). Forbidden instructions:

* CUBA-LIF and Izhikevich forward: no ``fma`` and no ``div`` (the reference multiplies, adds
  and, on CUDA, multiplies by the reciprocal of ``τ``/``τ_w``; contraction is disabled).
* CLIF forward: its ``sigmoid`` is PyTorch's CUDA one, ``1 / (1 + expf(-z))`` with libdevice
  ``expf`` (whose own range reduction uses ``fma``) and a correctly rounded division, so
  ``div.rn`` is required there and approximate divisions (``div.full``/``div.approx``) are
  forbidden, as is ``tl.exp``'s bare ``ex2.approx`` without ``.ftz`` (libdevice uses the
  ``.ftz`` form).
"""

from __future__ import annotations

from jelly.neurons.backends.triton import cuba_clif_kernels as cuba_clif
from jelly.neurons.backends.triton import izhikevich_kernels as izhikevich
from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

IO_TYPES = ("float32", "float16", "bfloat16")
NO_FMA_NO_DIV = ("fma", "div")
PRECISE_SIGMOID = ("div.full", "div.approx", "ex2.approx.f32")
#: These kernels have no float32-only pointer (no parameter gradients).
NO_FLOAT32_POINTERS = frozenset()


def variants(quick: bool):
    """``(label, kernel, io dtype, constexprs, forbidden PTX op prefixes, float32 pointers)``."""
    block = {"BLOCK": 1024}
    for io in ("float32", "bfloat16") if quick else IO_TYPES:
        guard = io != "float32"
        for hard in (True,) if quick else (True, False):
            constants = dict(block, HARD_RESET=hard, STORE_H=True, GUARD_H=guard)
            yield (f"cuba_lif_fwd/{io}/hard{hard}", cuba_clif.cuba_lif_forward_kernel, io, constants,
                   NO_FMA_NO_DIV, NO_FLOAT32_POINTERS)
            constants = dict(block, HARD_RESET=hard, RECIPROCAL=True, STORE_H=True, GUARD_H=guard)
            yield (f"izhikevich_fwd/{io}/hard{hard}", izhikevich.izhikevich_forward_kernel, io, constants,
                   NO_FMA_NO_DIV, NO_FLOAT32_POINTERS)
        for store_h in (True,) if quick else (True, False):
            constants = dict(block, RECIPROCAL=True, PRECISE_EXP=True, STORE_H=store_h, GUARD_H=guard and store_h)
            yield (f"clif_fwd/{io}/store_h{store_h}", cuba_clif.clif_forward_kernel, io, constants,
                   PRECISE_SIGMOID, NO_FLOAT32_POINTERS)
    for name in ("ATan", "SquarewaveFourierSeries") if quick else ("ATan", "Sigmoid", "SquarewaveFourierSeries"):
        sg = {"SG_FN": TRITON_DERIVATIVES[name], "SG_ORDER": 3 if name == "SquarewaveFourierSeries" else 0}
        for io in ("float16",) if quick else IO_TYPES:
            for hard, detach in ((True, False),) if quick else ((True, False), (False, True)):
                constants = dict(block, **sg, HARD_RESET=hard, DETACH_RESET=detach)
                yield (f"cuba_lif_bwd/{io}/{name}/hard{hard}/detach{detach}", cuba_clif.cuba_lif_backward_kernel,
                       io, constants, (), NO_FLOAT32_POINTERS)
                yield (f"izhikevich_bwd/{io}/{name}/hard{hard}/detach{detach}",
                       izhikevich.izhikevich_backward_kernel, io, constants, (), NO_FLOAT32_POINTERS)
            constants = dict(block, **sg, RECIPROCAL=True, PRECISE_EXP=True)
            yield (f"clif_bwd/{io}/{name}", cuba_clif.clif_backward_kernel, io, constants, (), NO_FLOAT32_POINTERS)
