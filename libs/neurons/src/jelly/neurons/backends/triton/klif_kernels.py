r"""``@triton.jit`` kernels of multi-step KLIF: one launch forward, one backward.

KLIF (:mod:`jelly.neurons.functional.klif`) is a LIF charge followed by a learnable scale
``k`` (a one-element float32 tensor, read from device memory: nothing waits for the host).
Same layout and loop as :mod:`.linear_charge_kernels`. Forward, in the reference's order
(``_lif_charge`` of :mod:`.liaf_kernels`)::

    h = LIF charge of (x, v)
    f = ReLU(k h) = (k h > 0) ? k h : 0,      s = f >= v_th
    v = s ? v_r : f  (hard)                   v = s ? f - v_th : f  (soft)
    SCALE_RESET:  v = s ? v_r : f / k  (hard)      v = s ? f / k - (1 / k) v_th : f / k  (soft)

``f / k`` and ``1 / k`` are correctly rounded divisions (``div_rn``), as PyTorch divides by a
tensor on either device (``v_th / k`` is ``reciprocal(k) * v_th`` in PyTorch), and FMA
contraction is off, so float32 spikes and membranes equal the reference bit for bit.

The LIF charge ``h`` is all the backward needs. It is saved in the I/O dtype; for
float16/bfloat16 the spike ``ReLU(k h) >= v_th`` and the sign test ``k h > 0`` depend on
the runtime ``k``, so instead of precomputed neighbours of the threshold the kernel
re-tests the rounded value and, where a test flips, moves it one unit in the last place
towards the float32 ``h`` (``GUARD_H``): ``k h`` rounds monotonically in ``h``, and ``h``
lies between the rounded value and that neighbour, so the neighbour passes both tests as
``h`` does and the backward recomputes exactly the forward's spikes.

Backward, from ``t = T-1`` down to 0 (``σ = g'(f - v_th)``, ``[·]`` the indicator,
``a = 1 - 1/τ``, ``b = 1/τ`` with DECAY_INPUT, else 1; see
:mod:`jelly.neurons.backends.torch_klif`)::

    ḡ_v[t] = ḡ_v_out[t] + a ḡ_h[t+1]
    ḡ_f[t] = ḡ_s[t] σ + ḡ_v[t] ∂v/∂f,      ḡ_h[t] = ḡ_f[t] k [k h > 0],      ḡ_x[t] = b ḡ_h[t]
    ḡ_k   += ḡ_f[t] h [k h > 0] + ḡ_v[t] ∂v/∂k,                             ḡ_v_init = a ḡ_h[0]

with ``∂v/∂f = 1 - s + (v_r - f) σ`` (hard) or ``1 - v_th σ`` (soft) and ``∂v/∂k = 0``;
with SCALE_RESET ``∂v/∂f = (1 - s)/k + (v_r - f/k) σ``, ``∂v/∂k = -(f/k²)(1 - s)`` (hard) or
``∂v/∂f = (1 - v_th σ)/k``, ``∂v/∂k = (s v_th - f)/k²`` (soft); the ``σ`` terms of the
reset are dropped by DETACH_RESET. Each program sums its ``ḡ_k`` terms into one float32
partial; the caller adds the partials.
"""

from __future__ import annotations

import triton
import triton.language as tl

from .liaf_kernels import _lif_charge
from .linear_charge_kernels import _RUNTIME_INTS, _reset, _to_io

__all__ = ["klif_backward_kernel", "klif_forward_kernel"]


@triton.jit
def _scaled(h, k, v_threshold):
    """``(f, positive, fired)``: ``f = ReLU(k h)``, ``k h > 0`` and ``f >= v_th``."""
    kh = k * h
    positive = kh > 0.0
    f = tl.where(positive, kh, 0.0)
    return f, positive, f >= v_threshold


@triton.jit
def _one_ulp_towards(h_io, h, dtype: tl.constexpr):
    """The ``dtype`` neighbour of the rounded ``h_io`` on the side of the float32 ``h``.

    ``h_io`` is ``h`` rounded to nearest, so both have the same sign (or ``h_io`` is zero) and
    the neighbour is one step of the magnitude away from zero (``|h| > |h_io|``) or towards
    it, with the sign of ``h``.
    """
    back = h_io.to(tl.float32)
    away = tl.abs(h) > tl.abs(back)
    sign = h.to(tl.uint32, bitcast=True) & 0x80000000
    if dtype == tl.bfloat16:
        # a bfloat16 value is a float32 whose low 16 bits are zero
        magnitude = back.to(tl.uint32, bitcast=True) & 0x7FFFFFFF
        magnitude = tl.where(away, magnitude + 0x10000, magnitude - 0x10000)
        return (sign | magnitude).to(tl.float32, bitcast=True).to(dtype)
    else:
        magnitude = h_io.to(tl.uint16, bitcast=True).to(tl.uint32) & 0x7FFF
        magnitude = tl.where(away, magnitude + 1, magnitude - 1)
        return ((sign >> 16) | magnitude).to(tl.uint16).to(dtype, bitcast=True)


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def klif_forward_kernel(
    x_ptr, v_init_ptr, k_ptr, spike_ptr, v_ptr, h_ptr,
    steps, numel,
    v_threshold, v_reset, tau_arg,
    DECAY_INPUT: tl.constexpr, HARD_RESET: tl.constexpr, RELATIVE: tl.constexpr, SCALE_RESET: tl.constexpr,
    RECIPROCAL: tl.constexpr, STORE_H: tl.constexpr, GUARD_H: tl.constexpr, BLOCK: tl.constexpr,
):
    """Forward over all ``steps`` for one block of ``BLOCK`` elements (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    v = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    k = tl.load(k_ptr + tl.zeros([BLOCK], tl.int32)).to(tl.float32)
    if SCALE_RESET:
        threshold_over_k = tl.math.div_rn(tl.full([BLOCK], 1.0, tl.float32), k) * v_threshold
    x_ptrs = x_ptr + offs
    spike_ptrs = spike_ptr + offs
    v_ptrs = v_ptr + offs
    h_ptrs = h_ptr + offs
    for _ in range(steps):
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        h = _lif_charge(x, v, v_reset, tau_arg, DECAY_INPUT, RELATIVE, RECIPROCAL)
        f, positive, fired = _scaled(h, k, v_threshold)
        if SCALE_RESET:
            scaled = tl.math.div_rn(f, k)
            if HARD_RESET:
                v = tl.where(fired, v_reset, scaled)
            else:
                v = tl.where(fired, scaled - threshold_over_k, scaled)
        else:
            v = _reset(f, fired, v_threshold, v_reset, HARD_RESET)
        tl.store(spike_ptrs, tl.where(fired, 1.0, 0.0).to(spike_ptr.dtype.element_ty), mask=mask)
        tl.store(v_ptrs, _to_io(v, v_ptr.dtype.element_ty), mask=mask)
        if STORE_H:
            h_io = _to_io(h, h_ptr.dtype.element_ty)
            if GUARD_H:
                _, positive_io, fired_io = _scaled(h_io.to(tl.float32), k, v_threshold)
                flipped = (positive_io != positive) | (fired_io != fired)
                h_io = tl.where(flipped, _one_ulp_towards(h_io, h, h_ptr.dtype.element_ty), h_io)
            tl.store(h_ptrs, h_io, mask=mask)
        x_ptrs += numel
        spike_ptrs += numel
        v_ptrs += numel
        h_ptrs += numel


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def klif_backward_kernel(
    grad_spike_ptr, grad_v_ptr, h_ptr, k_ptr,
    grad_x_ptr, grad_v_init_ptr, grad_k_partial_ptr,
    steps, numel,
    v_threshold, v_reset, coef_a, coef_b, sg_p0, sg_p1, sg_p2,
    SG_FN: tl.constexpr, SG_ORDER: tl.constexpr,
    HARD_RESET: tl.constexpr, SCALE_RESET: tl.constexpr, DETACH_RESET: tl.constexpr,
    HAS_GRAD_SPIKE: tl.constexpr, HAS_GRAD_V: tl.constexpr, NEED_K: tl.constexpr, BLOCK: tl.constexpr,
):
    """Backward through time over all ``steps`` for one block (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    k = tl.load(k_ptr + tl.zeros([BLOCK], tl.int32)).to(tl.float32)
    inv_k = 1.0 / k
    last = (steps - 1).to(tl.int64) * numel
    grad_spike_ptrs = grad_spike_ptr + last + offs
    grad_v_ptrs = grad_v_ptr + last + offs
    h_ptrs = h_ptr + last + offs
    grad_x_ptrs = grad_x_ptr + last + offs
    grad_h_next = tl.zeros([BLOCK], tl.float32)
    grad_k_sum = tl.zeros([BLOCK], tl.float32)
    for _ in range(steps):
        h = tl.load(h_ptrs, mask=mask, other=0.0).to(tl.float32)
        f, positive, fired = _scaled(h, k, v_threshold)
        sg = SG_FN(f - v_threshold, sg_p0, sg_p1, sg_p2, SG_ORDER)
        if DETACH_RESET:
            sg_reset = 0.0
        else:
            sg_reset = sg
        not_fired = tl.where(fired, 0.0, 1.0)
        if SCALE_RESET:
            if HARD_RESET:
                dv_df = not_fired * inv_k + (v_reset - f * inv_k) * sg_reset
                dv_dk = -(f * inv_k * inv_k) * not_fired
            else:
                dv_df = (1.0 - v_threshold * sg_reset) * inv_k
                dv_dk = ((1.0 - not_fired) * v_threshold - f) * inv_k * inv_k
        else:
            if HARD_RESET:
                dv_df = not_fired + (v_reset - f) * sg_reset
            else:
                dv_df = 1.0 - v_threshold * sg_reset
        grad_v = coef_a * grad_h_next
        if HAS_GRAD_V:
            grad_v += tl.load(grad_v_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_f = grad_v * dv_df
        if HAS_GRAD_SPIKE:
            grad_f += tl.load(grad_spike_ptrs, mask=mask, other=0.0).to(tl.float32) * sg
        grad_f = tl.where(positive, grad_f, 0.0)
        grad_h = grad_f * k
        if NEED_K:
            grad_k_sum += grad_f * h
            if SCALE_RESET:
                grad_k_sum += grad_v * dv_dk
        tl.store(grad_x_ptrs, _to_io(coef_b * grad_h, grad_x_ptr.dtype.element_ty), mask=mask)
        grad_h_next = grad_h
        grad_spike_ptrs -= numel
        grad_v_ptrs -= numel
        h_ptrs -= numel
        grad_x_ptrs -= numel
    tl.store(grad_v_init_ptr + offs, _to_io(coef_a * grad_h_next, grad_v_init_ptr.dtype.element_ty), mask=mask)
    if NEED_K:
        grad_k_sum = tl.where(mask, grad_k_sum, 0.0)
        tl.store(grad_k_partial_ptr + pid, tl.sum(grad_k_sum, axis=0))
