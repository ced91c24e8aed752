r"""``@triton.jit`` kernels of multi-step IF/LIF/PLIF: one launch forward, one backward.

Layout: every tensor is ``[T, N]`` contiguous (the neuron's ``[T, N, *]`` flattened); each
program owns ``BLOCK`` consecutive elements of a step and loops over all ``T`` steps, so
the membrane stays in registers (float32) between steps and every element of every input
and output crosses memory once.

Forward (``KIND`` 0 = IF, 1 = LIF, 2 = PLIF; the expressions in exactly the order of
:mod:`jelly.neurons.functional.integrate_fire`, ``v_rel = v - v_r`` for a non-zero hard
reset potential, else ``v``)::

    IF   h = v + x
    LIF  h = v + (x - v_rel) / τ             (DECAY_INPUT)   h = (v - v_rel / τ) + x
    PLIF h = v + (x - v_rel) * k             (DECAY_INPUT)   h = (v - v_rel * k) + x
    s = h >= v_th;   v = s ? v_r : h  (hard)     v = s ? h - v_th : h  (soft)

The division by ``τ`` is a correctly rounded division on CPU tensors (what PyTorch's CPU
``div`` does) and a multiplication by ``float32(1 / float32(τ))`` on CUDA tensors (what
PyTorch's CUDA ``div`` by a Python scalar does), so that float32 results match the
reference bit for bit on either device; the launch disables FMA contraction for the same
reason. The charged membrane ``h`` is saved for the backward in the I/O dtype; for
float16/bfloat16 a value that rounds across the threshold is replaced by the nearest
representable value on its own side (``H_BELOW``/``H_ABOVE``), so the backward recomputes
exactly the forward's spikes.

Backward, from ``t = T-1`` down to 0 (``σ = g'(h - v_th)``; see
:mod:`jelly.neurons.backends.torch_bptt` for the derivation)::

    ∂v/∂h = 1 - s + (v_r - h) σ  (hard)      1 - v_th σ  (soft)      (σ terms dropped by DETACH_RESET)
    ḡ_h[t] = ḡ_s[t] σ + (ḡ_v[t] + a ḡ_h[t+1]) ∂v/∂h,    ḡ_x[t] = b ḡ_h[t],    ḡ_v_init = a ḡ_h[0]

with ``a = 1 - 1/τ`` (``1 - k``), ``b = 1/τ`` (``k``) or 1. For PLIF each program also sums
``ḡ_h[t] ∂h[t]/∂k`` over its elements and steps (``∂h/∂k = (h - v[t-1]) / k`` with
DECAY_INPUT, else ``-v_rel[t-1]``, ``v[t-1]`` recomputed from the saved ``h[t-1]``) into one
float32 partial per program; the caller adds the partials.
"""

from __future__ import annotations

import triton
import triton.language as tl

__all__ = ["linear_charge_backward_kernel", "linear_charge_forward_kernel"]

#: Integer arguments Triton must not turn into compile-time constants (it does so for the
#: value 1): one kernel serves every length and width, and ``steps - 1`` stays a tensor.
_RUNTIME_INTS = ["steps", "numel"]


@triton.jit
def _scale_by_tau(value, tau_arg, RECIPROCAL: tl.constexpr):
    """``value / τ``: multiply by the given reciprocal (CUDA) or divide, correctly rounded (CPU)."""
    if RECIPROCAL:
        return value * tau_arg
    else:
        return tl.math.div_rn(value, tau_arg)


@triton.jit
def _to_io(value, dtype: tl.constexpr):
    """float32 ``value`` rounded to the I/O ``dtype`` (round to nearest even).

    bfloat16 is rounded here with integer operations, so that the conversion that follows is
    exact: Triton's CPU interpreter truncates float32 to bfloat16 instead of rounding (the GPU
    rounds; both now give the same bits). NaN and infinity are not special-cased.
    """
    if dtype == tl.bfloat16:
        bits = value.to(tl.uint32, bitcast=True)
        bits = ((bits + (((bits >> 16) & 1) + 0x7FFF)) >> 16) << 16
        value = bits.to(tl.float32, bitcast=True)
    return value.to(dtype)


@triton.jit
def _reset(h, fired, v_threshold, v_reset, HARD_RESET: tl.constexpr):
    """The post-reset membrane."""
    if HARD_RESET:
        return tl.where(fired, v_reset, h)
    else:
        return tl.where(fired, h - v_threshold, h)


@triton.jit
def _saved_h(h, fired, v_threshold, h_below, h_above, dtype: tl.constexpr, GUARD_H: tl.constexpr):
    """``h`` in the I/O ``dtype``, kept on the forward's side of the threshold when ``GUARD_H``.

    A 16-bit value that rounds across ``v_th`` is replaced by the nearest representable value
    on its own side (``h_below``/``h_above``), so the backward recomputes the forward's spikes.
    """
    h_io = _to_io(h, dtype)
    if GUARD_H:
        h_back = h_io.to(tl.float32)
        crossed = (h_back >= v_threshold) != fired
        h_io = tl.where(crossed, tl.where(fired, h_above, h_below), h_back).to(dtype)
    return h_io


@triton.jit
def _reset_grad(h, sg, fired, v_threshold, v_reset, HARD_RESET: tl.constexpr, DETACH_RESET: tl.constexpr):
    """``∂v/∂h`` of the reset (hard: ``1 - s + (v_r - h) σ``; soft: ``1 - v_th σ``; no ``σ`` if detached)."""
    if HARD_RESET:
        dv_dh = tl.where(fired, 0.0, 1.0)
        if not DETACH_RESET:
            dv_dh += (v_reset - h) * sg
    else:
        if DETACH_RESET:
            dv_dh = tl.full(h.shape, 1.0, tl.float32)
        else:
            dv_dh = 1.0 - v_threshold * sg
    return dv_dh


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def linear_charge_forward_kernel(
    x_ptr, v_init_ptr, k_ptr, spike_ptr, v_ptr, h_ptr,
    steps, numel,
    v_threshold, v_reset, tau_arg, h_below, h_above,
    KIND: tl.constexpr, DECAY_INPUT: tl.constexpr, HARD_RESET: tl.constexpr, RELATIVE: tl.constexpr,
    RECIPROCAL: tl.constexpr, STORE_H: tl.constexpr, GUARD_H: tl.constexpr, BLOCK: tl.constexpr,
):
    """Forward over all ``steps`` for one block of ``BLOCK`` elements (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    v = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    if KIND == 2:
        k = tl.load(k_ptr).to(tl.float32)
    x_ptrs = x_ptr + offs
    spike_ptrs = spike_ptr + offs
    v_ptrs = v_ptr + offs
    h_ptrs = h_ptr + offs
    for _ in range(steps):
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        if KIND == 0:
            h = v + x
        else:
            if RELATIVE:
                v_rel = v - v_reset
            else:
                v_rel = v
            if DECAY_INPUT:
                if KIND == 1:
                    h = v + _scale_by_tau(x - v_rel, tau_arg, RECIPROCAL)
                else:
                    h = v + (x - v_rel) * k
            else:
                if KIND == 1:
                    h = (v - _scale_by_tau(v_rel, tau_arg, RECIPROCAL)) + x
                else:
                    h = (v - v_rel * k) + x
        fired = h >= v_threshold
        v = _reset(h, fired, v_threshold, v_reset, HARD_RESET)
        tl.store(spike_ptrs, tl.where(fired, 1.0, 0.0).to(spike_ptr.dtype.element_ty), mask=mask)
        tl.store(v_ptrs, _to_io(v, v_ptr.dtype.element_ty), mask=mask)
        if STORE_H:
            tl.store(h_ptrs, _saved_h(h, fired, v_threshold, h_below, h_above, h_ptr.dtype.element_ty, GUARD_H),
                     mask=mask)
        x_ptrs += numel
        spike_ptrs += numel
        v_ptrs += numel
        h_ptrs += numel


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def linear_charge_backward_kernel(
    grad_spike_ptr, grad_v_ptr, h_ptr, v_init_ptr, k_ptr,
    grad_x_ptr, grad_v_init_ptr, grad_k_partial_ptr,
    steps, numel,
    v_threshold, v_reset, coef_a, coef_b, sg_p0, sg_p1, sg_p2,
    SG_FN: tl.constexpr, SG_ORDER: tl.constexpr,
    KIND: tl.constexpr, DECAY_INPUT: tl.constexpr, HARD_RESET: tl.constexpr, RELATIVE: tl.constexpr,
    DETACH_RESET: tl.constexpr, BLOCK: tl.constexpr,
):
    """Backward through time over all ``steps`` for one block (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    if KIND == 2:
        k = tl.load(k_ptr).to(tl.float32)
        a = 1.0 - k
        if DECAY_INPUT:
            b = k
        else:
            b = 1.0
    else:
        a = coef_a
        b = coef_b
    last = (steps - 1).to(tl.int64) * numel
    grad_spike_ptrs = grad_spike_ptr + last + offs
    grad_v_ptrs = grad_v_ptr + last + offs
    h_ptrs = h_ptr + last + offs
    grad_x_ptrs = grad_x_ptr + last + offs
    grad_h_next = tl.zeros([BLOCK], tl.float32)
    h_next = tl.zeros([BLOCK], tl.float32)
    grad_k_sum = tl.zeros([BLOCK], tl.float32)
    for i in range(steps):
        h = tl.load(h_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_spike = tl.load(grad_spike_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_v = tl.load(grad_v_ptrs, mask=mask, other=0.0).to(tl.float32)
        sg = SG_FN(h - v_threshold, sg_p0, sg_p1, sg_p2, SG_ORDER)
        fired = h >= v_threshold
        dv_dh = _reset_grad(h, sg, fired, v_threshold, v_reset, HARD_RESET, DETACH_RESET)
        grad_h = grad_spike * sg + (grad_v + a * grad_h_next) * dv_dh
        tl.store(grad_x_ptrs, _to_io(b * grad_h, grad_x_ptr.dtype.element_ty), mask=mask)
        if KIND == 2:
            # v[t] (the membrane before step t+1) closes the k-gradient term of step t+1.
            v_here = _reset(h, fired, v_threshold, v_reset, HARD_RESET)
            if i > 0:
                grad_k_sum += grad_h_next * _dh_dk(h_next, v_here, k, v_reset, DECAY_INPUT, RELATIVE)
            h_next = h
        grad_h_next = grad_h
        grad_spike_ptrs -= numel
        grad_v_ptrs -= numel
        h_ptrs -= numel
        grad_x_ptrs -= numel
    tl.store(grad_v_init_ptr + offs, _to_io(a * grad_h_next, grad_v_init_ptr.dtype.element_ty), mask=mask)
    if KIND == 2:
        v_init = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        grad_k_sum += grad_h_next * _dh_dk(h_next, v_init, k, v_reset, DECAY_INPUT, RELATIVE)
        grad_k_sum = tl.where(mask, grad_k_sum, 0.0)
        tl.store(grad_k_partial_ptr + pid, tl.sum(grad_k_sum, axis=0))


@triton.jit
def _dh_dk(h, v_prev, k, v_reset, DECAY_INPUT: tl.constexpr, RELATIVE: tl.constexpr):
    """``∂h/∂k`` of the PLIF charge, from ``h`` and the membrane before the step."""
    if DECAY_INPUT:
        return (h - v_prev) / k
    else:
        if RELATIVE:
            return -(v_prev - v_reset)
        else:
            return -v_prev
