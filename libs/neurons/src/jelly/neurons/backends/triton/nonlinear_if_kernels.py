r"""``@triton.jit`` kernels of multi-step QIF and EIF: one launch forward, one backward.

Same layout and loop as :mod:`.linear_charge_kernels` (``[T, N]`` contiguous, one block of
elements per program, all ``T`` steps in a loop, float32 registers). Charges (``KIND`` 0 =
QIF, 1 = EIF), in the order of :mod:`jelly.neurons.functional.nonlinear_if`::

    QIF  h = v + (x + (a0 (v - v_rest)) (v - v_c)) / τ
    EIF  h = v + (((x + v_rest) - v) + Δ_T exp((v - θ_rh) / Δ_T)) / τ

then fire and reset as IF/LIF. Divisions by a Python scalar follow PyTorch per device (see
:mod:`.linear_charge_kernels`); on CUDA the EIF exponential is libdevice's ``expf``, the
function PyTorch's CUDA ``exp`` calls, while the CPU interpreter uses NumPy's ``exp``, which
may differ from PyTorch's CPU ``exp`` in the last bit (EIF membranes then match the
reference to rounding, not bit for bit).

Backward (``σ = g'(h - v_th)``, ``∂v/∂h`` the reset's derivative, ``f_v(v) = ∂h/∂v``)::

    ḡ_h[t] = ḡ_s[t] σ + (ḡ_v[t] + ḡ_h[t+1] f_v(v[t])) ∂v/∂h,   ḡ_x[t] = ḡ_h[t] / τ,   ḡ_v_init = ḡ_h[0] f_v(v_init)

with ``v[t]`` recomputed from the saved ``h[t]``; QIF ``f_v(v) = v d0 + d1`` (``d0 = 2 a0/τ``,
``d1 = 1 - a0 (v_rest + v_c)/τ``), EIF ``f_v(v) = exp((v - θ_rh)/Δ_T) / τ + (1 - 1/τ)``.
"""

from __future__ import annotations

import triton
import triton.language as tl
from triton.language.extra import libdevice

from .linear_charge_kernels import _RUNTIME_INTS, _reset, _reset_grad, _saved_h, _scale_by_tau, _to_io

__all__ = ["nonlinear_if_backward_kernel", "nonlinear_if_forward_kernel"]


@triton.jit
def _exp(z, PRECISE_EXP: tl.constexpr):
    """``exp(z)``: libdevice ``expf`` on CUDA (as PyTorch), ``tl.exp`` in the interpreter."""
    if PRECISE_EXP:
        return libdevice.exp(z)
    else:
        return tl.exp(z)


@triton.jit
def _charge(x, v, tau_arg, delta_arg, c0, c1, c2,
            KIND: tl.constexpr, RECIPROCAL: tl.constexpr, PRECISE_EXP: tl.constexpr):
    """QIF (``c0, c1, c2 = a0, v_rest, v_c``) or EIF (``Δ_T, v_rest, θ_rh``) charge."""
    if KIND == 0:
        inner = x + (c0 * (v - c1)) * (v - c2)
    else:
        inner = ((x + c1) - v) + c0 * _exp(_scale_by_tau(v - c2, delta_arg, RECIPROCAL), PRECISE_EXP)
    return v + _scale_by_tau(inner, tau_arg, RECIPROCAL)


@triton.jit
def _charge_dv(v, delta_arg, c2, d0, d1, KIND: tl.constexpr, RECIPROCAL: tl.constexpr, PRECISE_EXP: tl.constexpr):
    """``∂h/∂v``: QIF ``v d0 + d1``; EIF ``exp((v - θ_rh)/Δ_T) d0 + d1`` (``d0 = 1/τ``, ``d1 = 1 - 1/τ``)."""
    if KIND == 0:
        return v * d0 + d1
    else:
        return _exp(_scale_by_tau(v - c2, delta_arg, RECIPROCAL), PRECISE_EXP) * d0 + d1


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def nonlinear_if_forward_kernel(
    x_ptr, v_init_ptr, spike_ptr, v_ptr, h_ptr,
    steps, numel,
    v_threshold, v_reset, tau_arg, delta_arg, c0, c1, c2, h_below, h_above,
    KIND: tl.constexpr, HARD_RESET: tl.constexpr, RECIPROCAL: tl.constexpr, PRECISE_EXP: tl.constexpr,
    STORE_H: tl.constexpr, GUARD_H: tl.constexpr, BLOCK: tl.constexpr,
):
    """Forward over all ``steps`` for one block of ``BLOCK`` elements (see the module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    v = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    x_ptrs = x_ptr + offs
    spike_ptrs = spike_ptr + offs
    v_ptrs = v_ptr + offs
    h_ptrs = h_ptr + offs
    for _ in range(steps):
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        h = _charge(x, v, tau_arg, delta_arg, c0, c1, c2, KIND, RECIPROCAL, PRECISE_EXP)
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
def nonlinear_if_backward_kernel(
    grad_spike_ptr, grad_v_ptr, h_ptr, v_init_ptr, grad_x_ptr, grad_v_init_ptr,
    steps, numel,
    v_threshold, v_reset, inv_tau, delta_arg, c2, d0, d1, sg_p0, sg_p1, sg_p2,
    SG_FN: tl.constexpr, SG_ORDER: tl.constexpr,
    KIND: tl.constexpr, HARD_RESET: tl.constexpr, DETACH_RESET: tl.constexpr, RECIPROCAL: tl.constexpr,
    PRECISE_EXP: tl.constexpr, BLOCK: tl.constexpr,
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
    grad_h_next = tl.full([BLOCK], 0.0, tl.float32)
    for i in range(steps):
        h = tl.load(h_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_spike = tl.load(grad_spike_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_v = tl.load(grad_v_ptrs, mask=mask, other=0.0).to(tl.float32)
        sg = SG_FN(h - v_threshold, sg_p0, sg_p1, sg_p2, SG_ORDER)
        fired = h >= v_threshold
        dv_dh = _reset_grad(h, sg, fired, v_threshold, v_reset, HARD_RESET, DETACH_RESET)
        # v[t] after the reset links this step to the next one through dh[t+1]/dv[t].
        v_here = _reset(h, fired, v_threshold, v_reset, HARD_RESET)
        # (nothing flows in at the last step: skip it, so that an overflowing EIF exp gives no 0 * inf)
        carry = tl.where(i > 0, grad_h_next * _charge_dv(v_here, delta_arg, c2, d0, d1, KIND, RECIPROCAL,
                                                         PRECISE_EXP), 0.0)
        grad_h = grad_spike * sg + (grad_v + carry) * dv_dh
        tl.store(grad_x_ptrs, _to_io(grad_h * inv_tau, grad_x_ptr.dtype.element_ty), mask=mask)
        grad_h_next = grad_h
        grad_spike_ptrs -= numel
        grad_v_ptrs -= numel
        h_ptrs -= numel
        grad_x_ptrs -= numel
    v_init = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    grad_v_init = grad_h_next * _charge_dv(v_init, delta_arg, c2, d0, d1, KIND, RECIPROCAL, PRECISE_EXP)
    tl.store(grad_v_init_ptr + offs, _to_io(grad_v_init, grad_v_init_ptr.dtype.element_ty), mask=mask)
