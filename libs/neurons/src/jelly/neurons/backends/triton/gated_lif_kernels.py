r"""``@triton.jit`` kernels of the multi-step Gated LIF (GLIF): one launch forward, one backward.

Layout: ``[T, N]`` contiguous as in :mod:`.linear_charge_kernels`, one step seen as
``[positions, channels, inner]`` (``[N, C, prod(*)]`` for channel-wise gates, ``[1, 1, numel]``
for layer-wise ones). A program owns a tile of ``BLOCK_S`` positions-within-a-channel
(``s = n * inner + j``) by ``BLOCK_C`` channels and loops over all ``T`` steps with the
state (``u``, the previous spike) in float32 registers; the tile's element ``(s, c)`` is
at ``(s // inner) * C * inner + c * inner + s % inner``. ``BLOCK_C`` is 1 when ``inner`` is
large (each program reads runs of one channel) and grows when ``inner`` is small (a row of
the tile then reads neighbouring channels), so the loads stay contiguous in both cases,
and the backward can reduce its parameter gradients per channel with one ``tl.sum`` over
the tile's first axis.

The gates (after the sigmoid) arrive as a float32 ``[7, C]`` matrix (rows ``α, β, γ, τ,
v_th, ld, v_sr``) and the conductances as a float32 ``[T, C]`` matrix. Forward, in exactly
the order of :func:`jelly.neurons.functional.gated_lif.gated_lif_step` (so float32 results
match the reference bit for bit; the launch disables FMA contraction)::

    k = 1 - α (1 - τ),   l = (1 - α) ld,   r = (1 - γ) v_sr
    u[t] = (((k u[t-1] - l) + x[t] (1 - β (1 - g[t]))) - ((k u[t-1]) γ) s[t-1]) - r s[t-1]
    s[t] = u[t] >= v_th

For float16/bfloat16 I/O (``GUARD``) a membrane ``u < v_th`` that rounds up to ``v_th``
(which is representable: the gates are given in the I/O dtype) is stored as the largest
representable value below it (``below_ptr``, per channel), so the stored ``u_seq`` agrees
with the spikes and the backward recomputes exactly the forward's spikes from it.

Backward, from ``t = T-1`` down to 0, with ``σ[t] = g'(u[t] - v_th)``, ``p[t] = 1 - γ s[t-1]``
and ``F[t] = 1 - β (1 - g[t])`` (see :mod:`jelly.neurons.backends.torch_gated_lif`)::

    s̄[t] = s̄_out[t] + c_s[t+1],   ū[t] = ū_out[t] + c_u[t+1] + s̄[t] σ[t]
    c_u[t] = ū[t] k p[t],   c_s[t] = -ū[t] (k γ u[t-1] + (1 - γ) v_sr),   x̄[t] = ū[t] F[t]

``c_u[0]`` and ``c_s[0]`` are the gradients of ``u_init`` and ``spike_init``; ``s[t-1]`` is
recomputed from the saved ``u[t-1]`` (``spike_init`` at ``t = 0``). Per program and channel
the kernel writes five float32 sums over its tile and all steps, ``Σ ū u[t-1] p``,
``Σ ū s[t-1] (v_sr - k u[t-1])``, ``Σ ū s[t-1]``, ``Σ ū`` and ``Σ s̄ σ``, and, per step,
``Σ ū[t] x[t]``; the op adds the programs' sums with torch and forms the gate gradients.
"""

from __future__ import annotations

import triton
import triton.language as tl

from .linear_charge_kernels import _RUNTIME_INTS, _to_io

__all__ = ["gated_lif_backward_kernel", "gated_lif_forward_kernel"]

#: Runtime integers (never specialised into constants, see ``_RUNTIME_INTS``).
_GLIF_RUNTIME_INTS = [*_RUNTIME_INTS, "channels", "inner"]

#: Rows of the gate matrix (the order of :class:`~jelly.neurons.functional.gated_lif.GLIFGates`).
GATE_ROWS = 7
#: Rows of the backward's per-program sums: ``Σ ū u[t-1] p``, ``Σ ū s[t-1] (v_sr - k u[t-1])``,
#: ``Σ ū s[t-1]``, ``Σ ū``, ``Σ s̄ σ``.
SUM_ROWS = 5


@triton.jit
def _tile(numel, channels, inner, BLOCK_S: tl.constexpr, BLOCK_C: tl.constexpr):
    """Position block, element offsets ``[BLOCK_S, BLOCK_C]``, mask, channels ``[1, BLOCK_C]`` and their mask."""
    pid = tl.program_id(0)
    span = numel // channels
    channel_blocks = tl.cdiv(channels, BLOCK_C)
    pid_s = pid // channel_blocks
    pid_c = pid % channel_blocks
    s = pid_s.to(tl.int64) * BLOCK_S + tl.arange(0, BLOCK_S).to(tl.int64)[:, None]
    c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)[None, :]
    n = s // inner
    offs = n * channels * inner + c.to(tl.int64) * inner + (s - n * inner)
    c_mask = c < channels
    mask = (s < span) & c_mask
    return pid_s, offs, mask, c, c_mask


@triton.jit
def _gate(gates_ptr, row: tl.constexpr, channels, c, c_mask):
    """Row ``row`` of the float32 gate matrix at the tile's channels (``[1, BLOCK_C]``)."""
    return tl.load(gates_ptr + row * channels + c, mask=c_mask, other=0.0)


@triton.jit(do_not_specialize=_GLIF_RUNTIME_INTS)
def gated_lif_forward_kernel(
    x_ptr, u_init_ptr, s_init_ptr, gates_ptr, conduct_ptr, below_ptr, spike_ptr, u_ptr,
    steps, numel, channels, inner,
    GUARD: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_C: tl.constexpr,
):
    """Forward over all ``steps`` for one tile (see the module docstring)."""
    _pid_s, offs, mask, c, c_mask = _tile(numel, channels, inner, BLOCK_S, BLOCK_C)
    alpha = _gate(gates_ptr, 0, channels, c, c_mask)
    beta = _gate(gates_ptr, 1, channels, c, c_mask)
    gamma = _gate(gates_ptr, 2, channels, c, c_mask)
    tau = _gate(gates_ptr, 3, channels, c, c_mask)
    v_th = _gate(gates_ptr, 4, channels, c, c_mask)
    linear_decay = _gate(gates_ptr, 5, channels, c, c_mask)
    v_subreset = _gate(gates_ptr, 6, channels, c, c_mask)
    leak = 1.0 - alpha * (1.0 - tau)
    linear = (1.0 - alpha) * linear_decay
    subreset = (1.0 - gamma) * v_subreset
    if GUARD:
        below = tl.load(below_ptr + c, mask=c_mask, other=0.0)
    u = tl.load(u_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    spike = tl.load(s_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    conduct_ptrs = conduct_ptr + c
    x_ptrs = x_ptr + offs
    spike_ptrs = spike_ptr + offs
    u_ptrs = u_ptr + offs
    for _ in range(steps):
        g = tl.load(conduct_ptrs, mask=c_mask, other=0.0)
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        current = x * (1.0 - beta * (1.0 - g))
        u_next = (leak * u - linear) + current
        u = (u_next - leak * u * gamma * spike) - subreset * spike
        fired = u >= v_th
        spike = tl.where(fired, 1.0, 0.0)
        tl.store(spike_ptrs, spike.to(spike_ptr.dtype.element_ty), mask=mask)
        u_io = _to_io(u, u_ptr.dtype.element_ty)
        if GUARD:
            # rounding is monotonic and v_th representable: only u < v_th can round onto v_th
            u_back = u_io.to(tl.float32)
            u_io = tl.where((u_back >= v_th) != fired, below, u_back).to(u_ptr.dtype.element_ty)
        tl.store(u_ptrs, u_io, mask=mask)
        conduct_ptrs += channels
        x_ptrs += numel
        spike_ptrs += numel
        u_ptrs += numel


@triton.jit(do_not_specialize=_GLIF_RUNTIME_INTS)
def gated_lif_backward_kernel(
    grad_spike_ptr, grad_u_ptr, x_ptr, u_ptr, u_init_ptr, s_init_ptr, gates_ptr, conduct_ptr,
    grad_x_ptr, grad_u_init_ptr, grad_s_init_ptr, sums_ptr, conduct_sums_ptr,
    steps, numel, channels, inner,
    sg_p0, sg_p1, sg_p2,
    SG_FN: tl.constexpr, SG_ORDER: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_C: tl.constexpr,
):
    """Backward through time for one tile, with per-channel partial sums (see the module docstring)."""
    pid_s, offs, mask, c, c_mask = _tile(numel, channels, inner, BLOCK_S, BLOCK_C)
    alpha = _gate(gates_ptr, 0, channels, c, c_mask)
    beta = _gate(gates_ptr, 1, channels, c, c_mask)
    gamma = _gate(gates_ptr, 2, channels, c, c_mask)
    tau = _gate(gates_ptr, 3, channels, c, c_mask)
    v_th = _gate(gates_ptr, 4, channels, c, c_mask)
    v_subreset = _gate(gates_ptr, 6, channels, c, c_mask)
    leak = 1.0 - alpha * (1.0 - tau)
    subreset = (1.0 - gamma) * v_subreset
    u_init = tl.load(u_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    s_init = tl.load(s_init_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    # one row of partial sums per program: [5, programs_s, C] and [T, programs_s, C]
    row = pid_s.to(tl.int64) * channels + c
    stride = tl.cdiv(numel // channels, BLOCK_S).to(tl.int64) * channels
    last = (steps - 1).to(tl.int64)
    grad_spike_ptrs = grad_spike_ptr + last * numel + offs
    grad_u_ptrs = grad_u_ptr + last * numel + offs
    x_ptrs = x_ptr + last * numel + offs
    u_ptrs = u_ptr + last * numel + offs
    grad_x_ptrs = grad_x_ptr + last * numel + offs
    conduct_ptrs = conduct_ptr + last * channels + c
    conduct_sums_ptrs = conduct_sums_ptr + last * stride + row
    zero = tl.zeros([BLOCK_S, BLOCK_C], tl.float32)
    carry_u = zero
    carry_s = zero
    sum_leak = zero
    sum_gamma = zero
    sum_subreset = zero
    sum_u = zero
    sum_threshold = zero
    u = tl.load(u_ptrs, mask=mask, other=0.0).to(tl.float32)
    for i in range(steps):
        # u[t-1] and s[t-1]: from the saved membranes, or the initial state at t = 0
        has_prev = (tl.zeros([1, 1], tl.int32) + i) < steps - 1
        u_saved = tl.load(u_ptrs - numel, mask=mask & has_prev, other=0.0).to(tl.float32)
        u_prev = tl.where(has_prev, u_saved, u_init)
        s_prev = tl.where(has_prev, tl.where(u_saved >= v_th, 1.0, 0.0), s_init)
        grad_s = tl.load(grad_spike_ptrs, mask=mask, other=0.0).to(tl.float32) + carry_s
        through_spike = grad_s * SG_FN(u - v_th, sg_p0, sg_p1, sg_p2, SG_ORDER)
        grad_u = tl.load(grad_u_ptrs, mask=mask, other=0.0).to(tl.float32) + carry_u + through_spike
        g = tl.load(conduct_ptrs, mask=c_mask, other=0.0)
        x = tl.load(x_ptrs, mask=mask, other=0.0).to(tl.float32)
        tl.store(grad_x_ptrs, _to_io(grad_u * (1.0 - beta * (1.0 - g)), grad_x_ptr.dtype.element_ty), mask=mask)
        tl.store(conduct_sums_ptrs, tl.sum(grad_u * x, axis=0)[None, :], mask=c_mask)
        kept = 1.0 - gamma * s_prev
        sum_threshold += through_spike
        sum_leak += grad_u * u_prev * kept
        sum_gamma += grad_u * s_prev * (v_subreset - leak * u_prev)
        sum_subreset += grad_u * s_prev
        sum_u += grad_u
        carry_u = grad_u * leak * kept
        carry_s = -grad_u * (leak * gamma * u_prev + subreset)
        u = u_prev
        grad_spike_ptrs -= numel
        grad_u_ptrs -= numel
        x_ptrs -= numel
        u_ptrs -= numel
        grad_x_ptrs -= numel
        conduct_ptrs -= channels
        conduct_sums_ptrs -= stride
    tl.store(grad_u_init_ptr + offs, _to_io(carry_u, grad_u_init_ptr.dtype.element_ty), mask=mask)
    tl.store(grad_s_init_ptr + offs, _to_io(carry_s, grad_s_init_ptr.dtype.element_ty), mask=mask)
    sums_ptrs = sums_ptr + row
    tl.store(sums_ptrs, tl.sum(tl.where(mask, sum_leak, 0.0), axis=0)[None, :], mask=c_mask)
    tl.store(sums_ptrs + stride, tl.sum(tl.where(mask, sum_gamma, 0.0), axis=0)[None, :], mask=c_mask)
    tl.store(sums_ptrs + 2 * stride, tl.sum(tl.where(mask, sum_subreset, 0.0), axis=0)[None, :], mask=c_mask)
    tl.store(sums_ptrs + 3 * stride, tl.sum(tl.where(mask, sum_u, 0.0), axis=0)[None, :], mask=c_mask)
    tl.store(sums_ptrs + 4 * stride, tl.sum(tl.where(mask, sum_threshold, 0.0), axis=0)[None, :], mask=c_mask)
