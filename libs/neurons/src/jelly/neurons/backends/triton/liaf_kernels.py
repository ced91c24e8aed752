r"""``@triton.jit`` kernels of the LIAF recurrence: one launch forward, one backward.

LIAF (:mod:`jelly.neurons.functional.liaf`) is a LIF neuron whose output is an analog
``act(h)``; the fused part is the LIF recurrence, which returns the charged membranes
``h_seq`` and the post-reset membranes ``v_seq`` (``act`` runs afterwards with ordinary
autograd, as in :mod:`jelly.neurons.backends.torch_liaf`). Same layout and loop as
:mod:`.linear_charge_kernels` (``[T, N]`` contiguous, ``BLOCK`` elements per program, all
``T`` steps in a loop with the membrane in float32 registers).

Forward, in the order of :func:`jelly.neurons.functional.integrate_fire.lif_charge`
(``v_rel = v - v_r`` for a hard reset to a non-zero ``v_r``, else ``v``)::

    h = v + (x - v_rel) / τ      (DECAY_INPUT)       h = (v - v_rel / τ) + x
    s = h >= v_th;   v = s ? v_r : h  (hard)     v = s ? h - v_th : h  (soft)

The division by ``τ`` follows PyTorch per device (see :mod:`.linear_charge_kernels`), so
float32 ``h_seq`` and ``v_seq`` equal the reference bit for bit. ``h_seq`` is an output *and*
what the backward reads: for float16/bfloat16 a value that rounds across the threshold is
replaced by the nearest representable value on its own side (``GUARD_H``), so the backward
recomputes exactly the forward's spikes and ``act(h - v_th)`` sees the same side of the
threshold as the reset did (such an output is off by at most one unit in the last place
instead of half of one).

Backward, from ``t = T-1`` down to 0 (``σ = g'(h - v_th)``, ``a = 1 - 1/τ``, ``b = 1/τ``
with DECAY_INPUT, else 1; ``ḡ_h_out``, ``ḡ_v_out`` the incoming gradients of the outputs)::

    ∂v/∂h  = 1 - s + (v_r - h) σ  (hard)      1 - v_th σ  (soft)      (σ terms dropped by DETACH_RESET)
    ḡ_v[t] = ḡ_v_out[t] + a ḡ_h[t+1]
    ḡ_h[t] = ḡ_h_out[t] + ḡ_v[t] ∂v/∂h,       ḡ_x[t] = b ḡ_h[t],       ḡ_v_init = a ḡ_h[0]

An absent incoming gradient (``HAS_GRAD_H``/``HAS_GRAD_V`` false) is read as zeros without
touching memory.
"""

from __future__ import annotations

import triton
import triton.language as tl

from .linear_charge_kernels import _RUNTIME_INTS, _reset, _reset_grad, _saved_h, _scale_by_tau, _to_io

__all__ = ["liaf_backward_kernel", "liaf_forward_kernel"]


@triton.jit
def _lif_charge(x, v, v_reset, tau_arg, DECAY_INPUT: tl.constexpr, RELATIVE: tl.constexpr,
                RECIPROCAL: tl.constexpr):
    """The LIF charge ``h``, in the reference's operation order (see the module docstring)."""
    if RELATIVE:
        v_rel = v - v_reset
    else:
        v_rel = v
    if DECAY_INPUT:
        h = v + _scale_by_tau(x - v_rel, tau_arg, RECIPROCAL)
    else:
        h = (v - _scale_by_tau(v_rel, tau_arg, RECIPROCAL)) + x
    return h


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def liaf_forward_kernel(
    x_ptr, v_init_ptr, h_ptr, v_ptr,
    steps, numel,
    v_threshold, v_reset, tau_arg, h_below, h_above,
    DECAY_INPUT: tl.constexpr, HARD_RESET: tl.constexpr, RELATIVE: tl.constexpr, RECIPROCAL: tl.constexpr,
    GUARD_H: tl.constexpr, BLOCK: tl.constexpr,
):
    """Forward over all ``steps`` for one block of ``BLOCK`` elements (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    v = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    x_ptrs = x_ptr + offs
    h_ptrs = h_ptr + offs
    v_ptrs = v_ptr + offs
    for _ in range(steps):
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        h = _lif_charge(x, v, v_reset, tau_arg, DECAY_INPUT, RELATIVE, RECIPROCAL)
        fired = h >= v_threshold
        v = _reset(h, fired, v_threshold, v_reset, HARD_RESET)
        tl.store(h_ptrs, _saved_h(h, fired, v_threshold, h_below, h_above, h_ptr.dtype.element_ty, GUARD_H),
                 mask=mask)
        tl.store(v_ptrs, _to_io(v, v_ptr.dtype.element_ty), mask=mask)
        x_ptrs += numel
        h_ptrs += numel
        v_ptrs += numel


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def liaf_backward_kernel(
    grad_h_ptr, grad_v_ptr, h_ptr, grad_x_ptr, grad_v_init_ptr,
    steps, numel,
    v_threshold, v_reset, coef_a, coef_b, sg_p0, sg_p1, sg_p2,
    SG_FN: tl.constexpr, SG_ORDER: tl.constexpr,
    HARD_RESET: tl.constexpr, DETACH_RESET: tl.constexpr, HAS_GRAD_H: tl.constexpr, HAS_GRAD_V: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Backward through time over all ``steps`` for one block (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    last = (steps - 1).to(tl.int64) * numel
    grad_h_ptrs = grad_h_ptr + last + offs
    grad_v_ptrs = grad_v_ptr + last + offs
    h_ptrs = h_ptr + last + offs
    grad_x_ptrs = grad_x_ptr + last + offs
    grad_h_next = tl.zeros([BLOCK], tl.float32)
    for _ in range(steps):
        h = tl.load(h_ptrs, mask=mask, other=0.0).to(tl.float32)
        fired = h >= v_threshold
        if DETACH_RESET:
            sg = 0.0
        else:
            sg = SG_FN(h - v_threshold, sg_p0, sg_p1, sg_p2, SG_ORDER)
        grad_v = coef_a * grad_h_next
        if HAS_GRAD_V:
            grad_v += tl.load(grad_v_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_h = grad_v * _reset_grad(h, sg, fired, v_threshold, v_reset, HARD_RESET, DETACH_RESET)
        if HAS_GRAD_H:
            grad_h += tl.load(grad_h_ptrs, mask=mask, other=0.0).to(tl.float32)
        tl.store(grad_x_ptrs, _to_io(coef_b * grad_h, grad_x_ptr.dtype.element_ty), mask=mask)
        grad_h_next = grad_h
        grad_h_ptrs -= numel
        grad_v_ptrs -= numel
        h_ptrs -= numel
        grad_x_ptrs -= numel
    tl.store(grad_v_init_ptr + offs, _to_io(coef_a * grad_h_next, grad_v_init_ptr.dtype.element_ty), mask=mask)
