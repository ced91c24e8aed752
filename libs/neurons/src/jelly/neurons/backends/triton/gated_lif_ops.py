r"""Gated LIF (GLIF) Triton kernels as ``torch.library`` custom ops, with fake and autograd rules.

* ``jelly::triton_gated_lif_fwd(x_seq, u_init, spike_init, gates, conduct, ...) -> (spike_seq, u_seq)``
* ``jelly::triton_gated_lif_bwd(grad_spike, grad_u, x_seq, u_seq, u_init, spike_init, gates, conduct,
  ...) -> (grad_x, grad_u_init, grad_spike_init, grad_gates, grad_conduct)``

``gates`` is the float32 ``[7, C]`` matrix of the gates after the sigmoid (rows ``α, β, γ,
τ, v_th, ld, v_sr``, ``C = 1`` when all are layer-wise) and ``conduct`` the float32 ``[T, C]``
conductances. :func:`gated_lif_multistep_triton` builds both from the module's gates with
ordinary (differentiable) torch ops: each gate is cast to the I/O dtype, as the module does,
then to float32, and a layer-wise one is broadcast over the channels, so autograd carries
the ``[7, C]`` and ``[T, C]`` gradients back to the gates' own shapes and dtypes, and on
through the sigmoid. Gates of another shape (neither a scalar nor one per channel along
dimension 1 of a step ``[N, C, *]``) raise :class:`~jelly.neurons.backends.BackendUnavailableError`
(use ``backend='torch'``); the module never makes such gates.

What the backward needs is the input ``x_seq`` and the membranes ``u_seq``, which are an
output anyway (the spikes are recomputed from them, see :mod:`.gated_lif_kernels` for the
float16/bfloat16 guard that makes this exact), plus the initial state; nothing else is
written, so nothing is saved beyond what autograd keeps when a gradient is needed. Extra
backward memory: the per-program, per-channel float32 partial sums, ``(5 + T) C P``
values with ``P = ceil(N inner / BLOCK_S)``, i.e. at most ``(5 + T) / 32`` of one step's
elements (``BLOCK_S >= 32`` on CUDA), which torch adds up. No host synchronisation.
"""

from __future__ import annotations

import math

import torch
import triton

from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

from ...functional.gated_lif import GLIFGates
from ..registry import BackendUnavailableError
from . import launch
from .availability import raise_if_problem
from .gated_lif_kernels import GATE_ROWS, SUM_ROWS, gated_lif_backward_kernel, gated_lif_forward_kernel
from .launch import (
    check_kernel_mode,
    device_guard,
    flat_steps,
    launch_options,
    surrogate_arguments,
)

__all__ = ["gated_lif_multistep_triton", "tile_shape"]

#: Contiguous elements wanted along a tile row when the channels are interleaved finely.
_TILE_ROW = 32


def _step_view(x_seq: torch.Tensor, channels: int) -> tuple[int, int]:
    """``(span, inner)`` of one step seen as ``[positions, channels, inner]``, ``span = positions * inner``."""
    numel = math.prod(x_seq.shape[1:])
    if channels == 1:
        return numel, max(numel, 1)
    inner = math.prod(x_seq.shape[3:])
    return x_seq.shape[1] * inner, max(inner, 1)


def tile_shape(span: int, channels: int, inner: int, device: torch.device) -> tuple[int, int]:
    """``(BLOCK_S, BLOCK_C)``: positions and channels per program (powers of two).

    One channel per program when a channel's runs (``inner`` elements) are long, else enough
    neighbouring channels for a tile row of about 32 contiguous elements.
    """
    total = launch.BLOCK_CUDA if device.type == "cuda" else launch.block_size(span * channels, device)
    if channels == 1 or inner >= _TILE_ROW:
        block_c = 1
    else:
        block_c = min(triton.next_power_of_2(channels), triton.next_power_of_2(-(-_TILE_ROW // inner)), total)
    return max(1, total // block_c), block_c


@torch.library.custom_op("jelly::triton_gated_lif_fwd", mutates_args=())
def gated_lif_forward_op(
    x_seq: torch.Tensor,
    u_init: torch.Tensor,
    spike_init: torch.Tensor,
    gates: torch.Tensor,
    conduct: torch.Tensor,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fused multi-step GLIF forward; returns ``(spike_seq, u_seq)`` in ``x_seq``'s dtype."""
    x = x_seq.contiguous()
    spike_seq, u_seq = torch.empty_like(x), torch.empty_like(x)
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return spike_seq, u_seq
    check_kernel_mode(gated_lif_forward_kernel, x)
    gates = gates.contiguous()
    channels = gates.shape[1]
    span, inner = _step_view(x, channels)
    block_s, block_c = tile_shape(span, channels, inner, x.device)
    guard = x.dtype != torch.float32
    if guard:  # the largest I/O value below each (representable) threshold
        v_th = gates[4].to(x.dtype)
        below = torch.nextafter(v_th, torch.full_like(v_th, float("-inf"))).float()
    else:
        below = gates
    programs = triton.cdiv(span, block_s) * triton.cdiv(channels, block_c)
    with device_guard(x):
        gated_lif_forward_kernel[(programs,)](
            x, u_init.contiguous(), spike_init.contiguous(), gates, conduct.contiguous(), below, spike_seq, u_seq,
            steps, numel, channels, inner,
            GUARD=guard, BLOCK_S=block_s, BLOCK_C=block_c, enable_fp_fusion=False, **launch_options(x),
        )
    return spike_seq, u_seq


@gated_lif_forward_op.register_fake
def _forward_fake(x_seq, u_init, spike_init, gates, conduct, surrogate, sg_scalars, sg_order):
    return x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape)


@torch.library.custom_op("jelly::triton_gated_lif_bwd", mutates_args=())
def gated_lif_backward_op(
    grad_spike: torch.Tensor,
    grad_u: torch.Tensor,
    x_seq: torch.Tensor,
    u_seq: torch.Tensor,
    u_init: torch.Tensor,
    spike_init: torch.Tensor,
    gates: torch.Tensor,
    conduct: torch.Tensor,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused GLIF backward; returns ``(grad_x, grad_u_init, grad_spike_init, grad_gates, grad_conduct)``.

    ``grad_gates`` (``[7, C]``) and ``grad_conduct`` (``[T, C]``) are float32, like ``gates``
    and ``conduct``.
    """
    x = x_seq.contiguous()
    u = u_seq.contiguous()
    grad_x = torch.empty_like(x)
    grad_u_init = torch.zeros_like(u_init, memory_format=torch.contiguous_format)
    grad_spike_init = torch.zeros_like(spike_init, memory_format=torch.contiguous_format)
    gates = gates.contiguous()
    channels = gates.shape[1]
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return grad_x, grad_u_init, grad_spike_init, torch.zeros_like(gates), torch.zeros_like(conduct)
    check_kernel_mode(gated_lif_backward_kernel, x)
    span, inner = _step_view(x, channels)
    block_s, block_c = tile_shape(span, channels, inner, x.device)
    position_blocks = triton.cdiv(span, block_s)
    sums = torch.empty(SUM_ROWS, position_blocks, channels, dtype=torch.float32, device=x.device)
    conduct_sums = torch.empty(steps, position_blocks, channels, dtype=torch.float32, device=x.device)
    conduct = conduct.contiguous()
    with device_guard(x):
        gated_lif_backward_kernel[(position_blocks * triton.cdiv(channels, block_c),)](
            grad_spike.contiguous(), grad_u.contiguous(), x, u, u_init.contiguous(), spike_init.contiguous(),
            gates, conduct, grad_x, grad_u_init, grad_spike_init, sums, conduct_sums,
            steps, numel, channels, inner, *(float(p) for p in sg_scalars),
            SG_FN=TRITON_DERIVATIVES[surrogate], SG_ORDER=sg_order, BLOCK_S=block_s, BLOCK_C=block_c,
            enable_fp_fusion=True, **launch_options(x),
        )
    sum_leak, sum_gamma, sum_subreset, sum_u, sum_threshold = sums.sum(1)
    grad_u_x = conduct_sums.sum(1)  # Σ ū[t] x[t] per step and channel
    alpha, beta, gamma, tau, _v_th, linear_decay, _v_subreset = gates
    grad_gates = torch.stack((
        -(1 - tau) * sum_leak + linear_decay * sum_u,
        -(grad_u_x * (1 - conduct)).sum(0),
        sum_gamma,
        alpha * sum_leak,
        -sum_threshold,
        -(1 - alpha) * sum_u,
        -(1 - gamma) * sum_subreset,
    ))
    return grad_x, grad_u_init, grad_spike_init, grad_gates, beta * grad_u_x


@gated_lif_backward_op.register_fake
def _backward_fake(grad_spike, grad_u, x_seq, u_seq, u_init, spike_init, gates, conduct, *options):
    return (x_seq.new_empty(x_seq.shape), u_init.new_empty(u_init.shape), spike_init.new_empty(spike_init.shape),
            gates.new_empty(gates.shape), conduct.new_empty(conduct.shape))


def _setup_context(ctx, inputs, output) -> None:
    x_seq, u_init, spike_init, gates, conduct, *options = inputs
    ctx.options = tuple(options)
    ctx.save_for_backward(x_seq, output[1], u_init, spike_init, gates, conduct)


def _backward(ctx, grad_spike, grad_u):
    x_seq, u_seq, *rest = ctx.saved_tensors
    grad_spike = torch.zeros_like(u_seq) if grad_spike is None else grad_spike
    grad_u = torch.zeros_like(u_seq) if grad_u is None else grad_u
    grads = gated_lif_backward_op(grad_spike, grad_u, x_seq, u_seq, *rest, *ctx.options)
    return (*grads, None, None, None)


gated_lif_forward_op.register_autograd(_backward, setup_context=_setup_context)


def _is_per_channel(name: str, shape: tuple[int, ...], step_shape: tuple[int, ...]) -> bool:
    """``False`` for a scalar, ``True`` for one value per channel (dim 1 of a step); else raise."""
    if len(shape) <= len(step_shape):
        if math.prod(shape) == 1:
            return False
        padded = (1,) * (len(step_shape) - len(shape)) + tuple(shape)
        if len(step_shape) >= 2 and all(size == 1 for i, size in enumerate(padded) if i != 1):
            if padded[1] == step_shape[1]:
                return True
    raise BackendUnavailableError(
        f"backend 'triton' cannot run GLIF with {name} of shape {tuple(shape)} for steps of shape "
        f"{tuple(step_shape)}: it takes layer-wise gates (one value) or channel-wise ones (one per "
        "channel, dimension 1 of a step [N, C, *]); use backend='torch' for other shapes"
    )


def _broadcast_state(name: str, state: torch.Tensor, x_seq: torch.Tensor) -> torch.Tensor:
    step_shape = tuple(x_seq.shape[1:])
    try:
        fits = torch.broadcast_shapes(tuple(state.shape), step_shape) == step_shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"{name} of shape {tuple(state.shape)} does not broadcast to one step of x_seq {step_shape}")
    return state.to(device=x_seq.device, dtype=x_seq.dtype).expand(step_shape)


def gated_lif_multistep_triton(
    x_seq: torch.Tensor,
    u_init: torch.Tensor,
    spike_init: torch.Tensor,
    gates: GLIFGates,
    conduct_seq: torch.Tensor,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step GLIF with the fused Triton kernels (``[T, N, C, *]`` in and out).

    Args:
        x_seq: ``[T, N, *]`` input (``[T, N, C, *]`` for channel-wise gates), float32, float16
            or bfloat16, on a CUDA device (or on the CPU under ``TRITON_INTERPRET=1``).
        u_init: membrane before the first step, broadcasting to one step.
        spike_init: spike of the step before the first one, broadcasting to one step.
        gates: the seven gates after the sigmoid, each a scalar or one value per channel
            shaped to broadcast against one step (``[C, 1, ...]``); cast to ``x_seq``'s dtype.
        conduct_seq: ``[T', ...]`` conductances after the sigmoid (``T' >= T``), ``conduct_seq[t]``
            a scalar or one value per channel.
        surrogate_function: a surrogate with a Triton derivative, in spiking mode.

    Returns:
        ``(spike_seq, u_seq)`` in ``x_seq``'s dtype, as
        :func:`~jelly.neurons.functional.gated_lif.gated_lif_multistep_reference`.

    Raises:
        BackendUnavailableError: the input, dtype, surrogate or a gate's shape is not
            supported here (the message says what to use instead).
        ValueError: a state does not fit one step, ``gates`` is not seven tensors, or
            ``conduct_seq`` has fewer than ``T`` steps.
    """
    raise_if_problem(x_seq)
    surrogate, sg_scalars, sg_order = surrogate_arguments(surrogate_function)
    if x_seq.dim() < 1:
        raise ValueError("x_seq must be [T, N, *], got a 0-d tensor")
    if len(gates) != GATE_ROWS:
        raise ValueError(f"gates must be the {GATE_ROWS} GLIFGates tensors {GLIFGates._fields}, got {len(gates)}")
    steps, step_shape = x_seq.shape[0], tuple(x_seq.shape[1:])
    if conduct_seq.dim() < 1 or conduct_seq.shape[0] < steps:
        raise ValueError(f"conduct_seq of shape {tuple(conduct_seq.shape)} needs one entry per step ({steps} steps)")
    gates = [torch.as_tensor(g, device=x_seq.device) for g in gates]
    conduct = conduct_seq[:steps]
    per_channel = [_is_per_channel(name, tuple(g.shape), step_shape) for name, g in zip(GLIFGates._fields, gates)]
    per_channel.append(_is_per_channel("conduct_seq[t]", tuple(conduct.shape[1:]), step_shape))
    channels = step_shape[1] if any(per_channel) else 1

    def as_float32(value: torch.Tensor) -> torch.Tensor:  # the I/O dtype's value, as the module passes it
        return value.to(device=x_seq.device, dtype=x_seq.dtype).to(torch.float32)

    matrix = torch.stack([as_float32(g).reshape(-1).expand(channels) for g in gates])
    conduct = as_float32(conduct).reshape(steps, math.prod(conduct.shape[1:])).expand(steps, channels)
    spike_seq, u_seq = gated_lif_forward_op(
        x_seq, _broadcast_state("u_init", u_init, x_seq), _broadcast_state("spike_init", spike_init, x_seq),
        matrix, conduct, surrogate, sg_scalars, sg_order,
    )
    return spike_seq, u_seq
