r"""``@triton.jit`` kernels of multi-step CUBA-LIF and CLIF: one launch forward, one backward.

Same layout and loop as :mod:`.linear_charge_kernels`: every tensor is ``[T, N]``
contiguous, each program owns ``BLOCK`` consecutive elements of a step and loops over all
``T`` steps with both states in float32 registers.

**CUBA-LIF** forward, in the order of :mod:`jelly.neurons.functional.cuba_lif` (so float32
results equal the reference bit for bit)::

    c = c · c_decay + x;   h = v · v_decay + c;   s = h >= v_th
    v = s ? v_r : h  (hard)      v = s ? h - v_th : h  (soft)

It writes spikes, membranes, the last current and, for the backward, ``h`` (guarded in
float16/bfloat16 as in :mod:`.linear_charge_kernels`, so that the backward recomputes the
forward's spikes). Backward, from ``t = T-1`` down to 0 (``σ = g'(h - v_th)``, ``∂v/∂h`` the
reset's derivative, ``σ`` terms dropped by ``DETACH_RESET``)::

    ḡ_h[t] = ḡ_s[t] σ + (ḡ_v[t] + v_decay ḡ_h[t+1]) ∂v/∂h
    ḡ_c[t] = ḡ_h[t] + c_decay ḡ_c[t+1]      (ḡ_c[T-1] = ḡ_h[T-1] + ḡ_c_last),   ḡ_x[t] = ḡ_c[t]
    ḡ_c_init = c_decay ḡ_c[0],   ḡ_v_init = v_decay ḡ_h[0]

**CLIF** forward, in the order of :mod:`jelly.neurons.functional.clif` (soft reset only)::

    h = (v - v/τ) + x;   s = h >= v_th;   m = m · sig(h/τ) + s;   v = h - s · (v_th + sig(m))

with ``sig(z) = 1 / (1 + exp(-z))`` evaluated as PyTorch does: on CUDA libdevice ``expf``
and a correctly rounded division (PyTorch's CUDA ``sigmoid``), so float32 results can match
bit for bit there. In Triton's CPU interpreter ``exp`` is NumPy's, while PyTorch's CPU
``sigmoid`` uses its own vectorised ``exp`` (SLEEF, within 1 ulp): the two may differ in the
last bit, so on CPU the CLIF ``m``/``v`` match the reference to ~1e-7 relative, not exactly.
Divisions by ``τ`` follow PyTorch per device (``RECIPROCAL``, see :mod:`.linear_charge_kernels`).

CLIF backward (``p = sig(h[t]/τ)``, ``q = sig(m[t])``; ``m[t]`` is the saved output and
``m[-1] = m_init``)::

    V = ḡ_v[t] + (1 - 1/τ) ḡ_h[t+1]
    M = ḡ_m[t] + p[t+1] M[t+1] - V s q (1 - q)
    S = ḡ_s[t] + M - V (v_th + q)
    ḡ_h[t] = V + S σ + M m[t-1] p (1 - p) / τ,    ḡ_x[t] = ḡ_h[t]
    ḡ_v_init = (1 - 1/τ) ḡ_h[0],   ḡ_m_init = p[0] M[0]
"""

from __future__ import annotations

import triton
import triton.language as tl

from .linear_charge_kernels import _RUNTIME_INTS, _reset, _reset_grad, _saved_h, _scale_by_tau, _to_io
from .nonlinear_if_kernels import _exp

__all__ = [
    "clif_backward_kernel",
    "clif_forward_kernel",
    "cuba_lif_backward_kernel",
    "cuba_lif_forward_kernel",
]


@triton.jit
def _sigmoid(z, PRECISE_EXP: tl.constexpr):
    """``1 / (1 + exp(-z))`` with a correctly rounded division (PyTorch's CUDA ``sigmoid``)."""
    return tl.math.div_rn(tl.full(z.shape, 1.0, tl.float32), 1.0 + _exp(-z, PRECISE_EXP))


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def cuba_lif_forward_kernel(
    x_ptr, c_init_ptr, v_init_ptr, spike_ptr, v_ptr, c_last_ptr, h_ptr,
    steps, numel,
    c_decay, v_decay, v_threshold, v_reset, h_below, h_above,
    HARD_RESET: tl.constexpr, STORE_H: tl.constexpr, GUARD_H: tl.constexpr, BLOCK: tl.constexpr,
):
    """CUBA-LIF forward over all ``steps`` for one block of ``BLOCK`` elements (module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    c = tl.load(c_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    v = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    x_ptrs = x_ptr + offs
    spike_ptrs = spike_ptr + offs
    v_ptrs = v_ptr + offs
    h_ptrs = h_ptr + offs
    for _ in range(steps):
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        c = c * c_decay + x
        h = v * v_decay + c
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
    tl.store(c_last_ptr + offs, _to_io(c, c_last_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def cuba_lif_backward_kernel(
    grad_spike_ptr, grad_v_ptr, grad_c_last_ptr, h_ptr,
    grad_x_ptr, grad_c_init_ptr, grad_v_init_ptr,
    steps, numel,
    c_decay, v_decay, v_threshold, v_reset, sg_p0, sg_p1, sg_p2,
    SG_FN: tl.constexpr, SG_ORDER: tl.constexpr,
    HARD_RESET: tl.constexpr, DETACH_RESET: tl.constexpr, BLOCK: tl.constexpr,
):
    """CUBA-LIF backward through time over all ``steps`` for one block (module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    last = (steps - 1).to(tl.int64) * numel
    grad_spike_ptrs = grad_spike_ptr + last + offs
    grad_v_ptrs = grad_v_ptr + last + offs
    h_ptrs = h_ptr + last + offs
    grad_x_ptrs = grad_x_ptr + last + offs
    grad_h_carry = tl.zeros([BLOCK], tl.float32)  # v_decay ḡ_h[t+1]
    grad_c_carry = tl.load(grad_c_last_ptr + offs, mask=mask, other=0.0).to(tl.float32)  # c_decay ḡ_c[t+1]
    for _ in range(steps):
        h = tl.load(h_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_spike = tl.load(grad_spike_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_v = tl.load(grad_v_ptrs, mask=mask, other=0.0).to(tl.float32)
        sg = SG_FN(h - v_threshold, sg_p0, sg_p1, sg_p2, SG_ORDER)
        fired = h >= v_threshold
        dv_dh = _reset_grad(h, sg, fired, v_threshold, v_reset, HARD_RESET, DETACH_RESET)
        grad_h = grad_spike * sg + (grad_v + grad_h_carry) * dv_dh
        grad_c = grad_h + grad_c_carry
        tl.store(grad_x_ptrs, _to_io(grad_c, grad_x_ptr.dtype.element_ty), mask=mask)
        grad_h_carry = v_decay * grad_h
        grad_c_carry = c_decay * grad_c
        grad_spike_ptrs -= numel
        grad_v_ptrs -= numel
        h_ptrs -= numel
        grad_x_ptrs -= numel
    tl.store(grad_c_init_ptr + offs, _to_io(grad_c_carry, grad_c_init_ptr.dtype.element_ty), mask=mask)
    tl.store(grad_v_init_ptr + offs, _to_io(grad_h_carry, grad_v_init_ptr.dtype.element_ty), mask=mask)


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def clif_forward_kernel(
    x_ptr, v_init_ptr, m_init_ptr, spike_ptr, v_ptr, m_ptr, h_ptr,
    steps, numel,
    tau_arg, v_threshold, h_below, h_above,
    RECIPROCAL: tl.constexpr, PRECISE_EXP: tl.constexpr, STORE_H: tl.constexpr, GUARD_H: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """CLIF forward over all ``steps`` for one block of ``BLOCK`` elements (module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    v = tl.load(v_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    m = tl.load(m_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    x_ptrs = x_ptr + offs
    spike_ptrs = spike_ptr + offs
    v_ptrs = v_ptr + offs
    m_ptrs = m_ptr + offs
    h_ptrs = h_ptr + offs
    for _ in range(steps):
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        h = (v - _scale_by_tau(v, tau_arg, RECIPROCAL)) + x
        decay = _sigmoid(_scale_by_tau(h, tau_arg, RECIPROCAL), PRECISE_EXP)
        fired = h >= v_threshold
        s = tl.where(fired, 1.0, 0.0)
        m = m * decay + s
        v = h - s * (v_threshold + _sigmoid(m, PRECISE_EXP))
        tl.store(spike_ptrs, s.to(spike_ptr.dtype.element_ty), mask=mask)
        tl.store(v_ptrs, _to_io(v, v_ptr.dtype.element_ty), mask=mask)
        tl.store(m_ptrs, _to_io(m, m_ptr.dtype.element_ty), mask=mask)
        if STORE_H:
            tl.store(h_ptrs, _saved_h(h, fired, v_threshold, h_below, h_above, h_ptr.dtype.element_ty, GUARD_H),
                     mask=mask)
        x_ptrs += numel
        spike_ptrs += numel
        v_ptrs += numel
        m_ptrs += numel
        h_ptrs += numel


@triton.jit(do_not_specialize=_RUNTIME_INTS)
def clif_backward_kernel(
    grad_spike_ptr, grad_v_ptr, grad_m_ptr, h_ptr, m_ptr, m_init_ptr,
    grad_x_ptr, grad_v_init_ptr, grad_m_init_ptr,
    steps, numel,
    tau_arg, inv_tau, decay, v_threshold, sg_p0, sg_p1, sg_p2,
    SG_FN: tl.constexpr, SG_ORDER: tl.constexpr, RECIPROCAL: tl.constexpr, PRECISE_EXP: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """CLIF backward through time over all ``steps`` for one block (module docstring)."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    last = (steps - 1).to(tl.int64) * numel
    grad_spike_ptrs = grad_spike_ptr + last + offs
    grad_v_ptrs = grad_v_ptr + last + offs
    grad_m_ptrs = grad_m_ptr + last + offs
    h_ptrs = h_ptr + last + offs
    m_prev_ptrs = m_ptr + last - numel + offs
    grad_x_ptrs = grad_x_ptr + last + offs
    m = tl.load(m_ptr + last + offs, mask=mask, other=0.0).to(tl.float32)
    grad_h_next = tl.zeros([BLOCK], tl.float32)
    grad_m_carry = tl.zeros([BLOCK], tl.float32)  # p[t+1] M[t+1]
    for i in range(steps):
        h = tl.load(h_ptrs, mask=mask, other=0.0).to(tl.float32)
        if i < steps - 1:
            m_prev = tl.load(m_prev_ptrs, mask=mask, other=0.0).to(tl.float32)
        else:
            m_prev = tl.load(m_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        grad_spike = tl.load(grad_spike_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_v_out = tl.load(grad_v_ptrs, mask=mask, other=0.0).to(tl.float32)
        grad_m_out = tl.load(grad_m_ptrs, mask=mask, other=0.0).to(tl.float32)
        sg = SG_FN(h - v_threshold, sg_p0, sg_p1, sg_p2, SG_ORDER)
        s = tl.where(h >= v_threshold, 1.0, 0.0)
        p = _sigmoid(_scale_by_tau(h, tau_arg, RECIPROCAL), PRECISE_EXP)
        q = _sigmoid(m, PRECISE_EXP)
        grad_v = grad_v_out + decay * grad_h_next
        grad_m = grad_m_out + grad_m_carry - grad_v * s * q * (1.0 - q)
        grad_s = grad_spike + grad_m - grad_v * (v_threshold + q)
        grad_h = grad_v + grad_s * sg + grad_m * m_prev * p * (1.0 - p) * inv_tau
        tl.store(grad_x_ptrs, _to_io(grad_h, grad_x_ptr.dtype.element_ty), mask=mask)
        grad_h_next = grad_h
        grad_m_carry = grad_m * p
        m = m_prev
        grad_spike_ptrs -= numel
        grad_v_ptrs -= numel
        grad_m_ptrs -= numel
        h_ptrs -= numel
        m_prev_ptrs -= numel
        grad_x_ptrs -= numel
    tl.store(grad_v_init_ptr + offs, _to_io(decay * grad_h_next, grad_v_init_ptr.dtype.element_ty), mask=mask)
    tl.store(grad_m_init_ptr + offs, _to_io(grad_m_carry, grad_m_init_ptr.dtype.element_ty), mask=mask)
