r"""``@triton.jit`` kernels of the multi-step Izhikevich neuron: one launch forward, one backward.

Same layout and loop as :mod:`.linear_charge_kernels` (``[T, N]`` contiguous, one block of
elements per program, all ``T`` steps in a loop, ``v`` and ``w`` in float32 registers).
Forward, in the order of :mod:`jelly.neurons.functional.izhikevich` (float32 results equal
the reference bit for bit; divisions by ``τ``/``τ_w`` follow PyTorch per device,
``RECIPROCAL``, and the launch disables FMA contraction)::

    h = v + ((x + (a0 (v - v_rest)) (v - v_c)) - w) / τ
    s = h >= v_th
    w = (w + (a (h - v_rest) - w) / τ_w) + b s
    v = s ? v_r : h  (hard)      v = s ? h - v_th : h  (soft)

It writes spikes, membranes, the last ``w`` and, for the backward, ``h`` (guarded in
float16/bfloat16 so that the backward recomputes the forward's spikes). ``w`` enters every
relation linearly, so the backward needs none of its values; ``v[t]`` is recomputed from
the saved ``h[t]``. Backward, from ``t = T-1`` down to 0 (``σ = g'(h - v_th)``, ``∂v/∂h``
the reset's derivative; ``DETACH_RESET`` drops the ``σ`` terms of both resets, the
membrane's and the jump ``b s``)::

    ḡ_h[t] = ḡ_s[t] σ + (ḡ_v[t] + ḡ_h[t+1] f(v[t])) ∂v/∂h + W[t] (a/τ_w + b σ)
    W[t-1] = (1 - 1/τ_w) W[t] - ḡ_h[t] / τ       (W[T-1] = ḡ_w_last)
    ḡ_x[t] = ḡ_h[t] / τ,   ḡ_v_init = ḡ_h[0] f(v_init),   ḡ_w_init = W[-1]

with ``f(v) = ∂h/∂v = v d0 + d1``, ``d0 = 2 a0/τ``, ``d1 = 1 - a0 (v_rest + v_c)/τ``.
"""

from __future__ import annotations

import triton
import triton.language as tl

from .linear_charge_kernels import _RUNTIME_INTS, _reset, _reset_grad, _saved_h, _scale_by_tau, _to_io

__all__ = ["izhikevich_backward_kernel", "izhikevich_forward_kernel"]


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def izhikevich_forward_kernel(
    x_ptr, v_init_ptr, w_init_ptr, spike_ptr, v_ptr, w_last_ptr, h_ptr,
    steps, numel,
    tau_arg, tau_w_arg, a0, v_rest, v_c, a, b, v_threshold, v_reset, h_below, h_above,
    HARD_RESET: tl.constexpr, RECIPROCAL: tl.constexpr, STORE_H: tl.constexpr, GUARD_H: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Forward over all ``steps`` for one block of ``BLOCK`` elements (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    v = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    w = tl.load(w_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    x_ptrs = x_ptr + offs
    spike_ptrs = spike_ptr + offs
    v_ptrs = v_ptr + offs
    h_ptrs = h_ptr + offs
    for _ in range(steps):
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        h = v + _scale_by_tau((x + (a0 * (v - v_rest)) * (v - v_c)) - w, tau_arg, RECIPROCAL)
        fired = h >= v_threshold
        s = tl.where(fired, 1.0, 0.0)
        w = (w + _scale_by_tau(a * (h - v_rest) - w, tau_w_arg, RECIPROCAL)) + b * s
        v = _reset(h, fired, v_threshold, v_reset, HARD_RESET)
        tl.store(spike_ptrs, s.to(spike_ptr.dtype.element_ty), mask=mask)
        tl.store(v_ptrs, _to_io(v, v_ptr.dtype.element_ty), mask=mask)
        if STORE_H:
            tl.store(h_ptrs, _saved_h(h, fired, v_threshold, h_below, h_above, h_ptr.dtype.element_ty, GUARD_H),
                     mask=mask)
        x_ptrs += numel
        spike_ptrs += numel
        v_ptrs += numel
        h_ptrs += numel
    tl.store(w_last_ptr + offs, _to_io(w, w_last_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def izhikevich_backward_kernel(
    grad_spike_ptr, grad_v_ptr, grad_w_last_ptr, h_ptr, v_init_ptr,
    grad_x_ptr, grad_v_init_ptr, grad_w_init_ptr,
    steps, numel,
    inv_tau, w_keep, a_over_tau_w, b, d0, d1, v_threshold, v_reset, sg_p0, sg_p1, sg_p2,
    SG_FN: tl.constexpr, SG_ORDER: tl.constexpr,
    HARD_RESET: tl.constexpr, DETACH_RESET: tl.constexpr, BLOCK: tl.constexpr,
):
    """Backward through time over all ``steps`` for one block (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    last = (steps - 1).to(tl.int64) * numel
    grad_spike_ptrs = grad_spike_ptr + last + offs
    grad_v_ptrs = grad_v_ptr + last + offs
    h_ptrs = h_ptr + last + offs
    grad_x_ptrs = grad_x_ptr + last + offs
    grad_h_next = tl.zeros([BLOCK], tl.float32)
    grad_w = tl.load(grad_w_last_ptr + offs, mask=mask, other=0.0).to(tl.float32)  # W[t]
    for i in range(steps):
        h = tl.load(h_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_spike = tl.load(grad_spike_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_v = tl.load(grad_v_ptrs, mask=mask, other=0.0).to(tl.float32)
        sg = SG_FN(h - v_threshold, sg_p0, sg_p1, sg_p2, SG_ORDER)
        fired = h >= v_threshold
        dv_dh = _reset_grad(h, sg, fired, v_threshold, v_reset, HARD_RESET, DETACH_RESET)
        # v[t] after the reset links this step to the next one through ∂h[t+1]/∂v[t]
        # (nothing flows in at the last step: skipped, so that a huge v gives no 0 * inf).
        v_here = _reset(h, fired, v_threshold, v_reset, HARD_RESET)
        carry = tl.where(i > 0, grad_h_next * (v_here * d0 + d1), 0.0)
        if DETACH_RESET:
            dw_dh = a_over_tau_w
        else:
            dw_dh = a_over_tau_w + b * sg
        grad_h = grad_spike * sg + (grad_v + carry) * dv_dh + grad_w * dw_dh
        tl.store(grad_x_ptrs, _to_io(grad_h * inv_tau, grad_x_ptr.dtype.element_ty), mask=mask)
        grad_w = grad_w * w_keep - grad_h * inv_tau
        grad_h_next = grad_h
        grad_spike_ptrs -= numel
        grad_v_ptrs -= numel
        h_ptrs -= numel
        grad_x_ptrs -= numel
    v_init = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(grad_v_init_ptr + offs, _to_io(grad_h_next * (v_init * d0 + d1), grad_v_init_ptr.dtype.element_ty),
             mask=mask)
    tl.store(grad_w_init_ptr + offs, _to_io(grad_w, grad_w_init_ptr.dtype.element_ty), mask=mask)
