"""CuPy kernels of the Gated LIF (GLIF) neuron as PyTorch custom ops.

Two operators, ``jelly_neurons_cupy::gated_lif_forward`` and ``..._backward``, wrap the
fused kernels of ``kernels/gated_lif.cu`` (one launch over all ``T`` steps each). The seven
gates (after the sigmoid) reach the kernels as one float32 ``[7, C]`` tensor and the
conductances as float32 ``[T, C]``, where ``C`` is the channel count (dimension 1 of one
step ``[N, C, *]``) when any of them is channel-wise and 1 when all are scalars;
:func:`prepare_gates` builds both with differentiable torch operations, so autograd carries
the ``[7, C]``/``[T, C]`` gradients of the ops back to the caller's gate shapes and dtypes.

Gate gradients: the backward kernel writes per-thread float32 partial sums,
``[T + 6, ceil(numel / V)]`` (``V`` the elements per thread: 4 for float32 and 8 for the 16-bit
types when the layout allows it, else 1), which :func:`reduce_partials` sums per channel
with torch (deterministic, no atomics). That buffer is transient (freed when the backward
returns) and costs ``4 (T + 6) numel / V`` bytes, i.e. at most one float32 copy of the input
sequence plus six steps (``V = 1``), a quarter of it for float32 input with ``V = 4``.

The backward reads the input ``x_seq`` (saved, not copied) and the output ``u_seq``; the
spikes are recomputed from ``u_seq``, which the forward rounds towards the side of the
threshold its spike was decided on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from . import loader

_NS = "jelly_neurons_cupy"
SOURCE = "gated_lif.cu"
#: Gate rows of the kernels' ``[7, C]`` tensor, in order (the fields of ``GLIFGates``).
GATES = ("alpha", "beta", "gamma", "tau", "v_threshold", "linear_decay", "v_subreset")
#: Partial-sum rows of the backward besides the ``T`` conductance rows (``kGLIFGateRows``).
GATE_ROWS = 6


# --------------------------------------------------------------------------- variants
def variant(surrogate: str, ctype: str, vec: int) -> loader.Variant:
    """The forward and backward kernels for a surrogate functor, C++ dtype and vector width."""
    forward = loader.template_name("gated_lif_forward", ctype, vec)
    backward = loader.template_name("gated_lif_backward", surrogate, ctype, vec)
    return loader.Variant(SOURCE, (forward, backward))


def all_variants(ctypes: Sequence[str] = tuple(loader.CTYPES.values()),
                 wide: bool = True, scalar: bool = True) -> Iterator[loader.Variant]:
    """Every instantiation: surrogate x dtype x vector width (what the GPU check compiles)."""
    from jelly.surrogates.cuda_sources import supported_surrogate_types

    surrogates = [f"jelly::surrogates::{cls.__name__}" for cls in supported_surrogate_types()]
    for surrogate, ctype in itertools.product(surrogates, ctypes):
        for vec in loader.widths(ctype, wide, scalar):
            yield variant(surrogate, ctype, vec)


# --------------------------------------------------------------------------- layout
def _layout(shape: torch.Size, step_shape: torch.Size) -> str | None:
    """``'scalar'``, ``'channel'`` (one value per channel of ``step_shape``) or ``None``."""
    if len(shape) > len(step_shape):
        return None
    if math.prod(shape) == 1:
        return "scalar"
    padded = (1,) * (len(step_shape) - len(shape)) + tuple(shape)
    if len(step_shape) >= 2 and padded[1] == step_shape[1] and all(
        size == 1 for i, size in enumerate(padded) if i != 1
    ):
        return "channel"
    return None


def channel_layout(gates: Sequence[torch.Tensor], conduct_seq: torch.Tensor,
                   step_shape: torch.Size) -> tuple[int, int] | None:
    """``(channels, inner)`` of the kernels for these gates, or ``None`` if they do not fit.

    The kernels take every gate (and each step's conductance) as a scalar or as one value
    per channel (dimension 1 of one step); ``inner`` is the number of elements per channel
    and sample (``prod(step_shape[2:])``), or all elements of a step when every gate is a
    scalar (``channels = 1``).
    """
    layouts = [_layout(g.shape, step_shape) for g in gates]
    layouts.append(_layout(conduct_seq.shape[1:], step_shape) if conduct_seq.dim() >= 1 else None)
    if None in layouts:
        return None
    if "channel" in layouts:
        return int(step_shape[1]), math.prod(step_shape[2:])
    return 1, max(1, math.prod(step_shape))


def prepare_gates(gates: Sequence[torch.Tensor], conduct_seq: torch.Tensor, steps: int,
                  channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernels' float32 ``[7, C]`` gates and ``[steps, C]`` conductances (differentiable).

    ``channels`` is the first value of :func:`channel_layout`; ``conduct_seq[t]`` for
    ``t < steps`` are used (``conduct_seq`` may hold more steps).
    """
    rows = [g.to(torch.float32).reshape(-1).expand(channels) for g in gates]
    packed = torch.stack(rows).contiguous()
    per_step = math.prod(conduct_seq.shape[1:])
    conduct = conduct_seq[:steps].to(torch.float32).reshape(steps, per_step).expand(steps, channels).contiguous()
    return packed, conduct


def kernel_vector_width(numel: int, ctype: str, channels: int, inner: int, *tensors: torch.Tensor | None) -> int:
    """Elements per thread: the dtype's 16-byte width when the layout allows it, else 1.

    Besides :func:`loader.vector_width`'s size and alignment rules, the width must divide
    ``inner`` when there are several channels (a thread's elements share one channel).
    """
    width = loader.vector_width(numel, loader.WIDTHS[ctype], *tensors)
    if channels > 1 and inner % width:
        return 1
    return width


def reduce_partials(partial: torch.Tensor, gates: torch.Tensor, steps: int, channels: int, inner: int,
                    numel: int, vec: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of the ``[7, C]`` gates and ``[T, C]`` conductances from the kernel's partial sums.

    Args:
        partial: float32 ``[steps + 6, ceil(numel / vec)]`` (rows in ``kernels/gated_lif.cu``).
        gates: the float32 ``[7, C]`` gates of the forward.

    Returns:
        ``(grad_gates [7, C], grad_conduct [steps, C])``, float32.
    """
    rows = steps + GATE_ROWS
    if channels == 1:
        per_channel = partial.sum(dim=1, keepdim=True)
    else:
        samples = numel // (channels * inner)
        per_channel = partial.view(rows, samples, channels, inner // vec).sum(dim=(1, 3))
    conduct_sums = per_channel[:steps]
    leak, total_u, gamma_sum, subreset, beta_sum, threshold = per_channel[steps:]
    alpha, beta, gamma, tau, _, linear_decay, _ = gates
    grad_gates = torch.stack([
        -(1 - tau) * leak + linear_decay * total_u,  # alpha: through the leak and (1 - alpha) ld
        -beta_sum,
        gamma_sum,
        alpha * leak,
        -threshold,
        -(1 - alpha) * total_u,
        -(1 - gamma) * subreset,
    ])
    return grad_gates, beta * conduct_sums


# --------------------------------------------------------------------------- custom ops
_STATIC_SCHEMA = "int inner, str surrogate, float[] surrogate_params"


@torch.library.custom_op(
    f"{_NS}::gated_lif_forward", mutates_args=(),
    schema=f"(Tensor x_seq, Tensor u_init, Tensor s_init, Tensor gates, Tensor conduct, {_STATIC_SCHEMA}) "
    "-> (Tensor, Tensor)",
)
def gated_lif_forward(x_seq: torch.Tensor, u_init: torch.Tensor, s_init: torch.Tensor, gates: torch.Tensor,
                      conduct: torch.Tensor, inner: int, surrogate: str,
                      surrogate_params: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Fused GLIF forward over ``[T, N, *]``: ``(spike_seq, u_seq)``.

    ``u_init``/``s_init`` are one step, contiguous, in ``x_seq``'s dtype; ``gates`` float32
    ``[7, C]``, ``conduct`` float32 ``[T, C]``. ``surrogate`` picks the compiled variant
    (forward and backward are built together) and is kept for the backward.
    """
    spike_seq = torch.empty_like(x_seq)
    u_seq = torch.empty_like(x_seq)
    steps, numel, channels = x_seq.shape[0], u_init.numel(), gates.shape[1]
    if steps == 0 or numel == 0:
        return spike_seq, u_seq
    ctype = loader.CTYPES[x_seq.dtype]
    vec = kernel_vector_width(numel, ctype, channels, inner, x_seq, u_init, s_init, spike_seq, u_seq)
    var = variant(surrogate, ctype, vec)
    p = loader.pointer
    loader.launch(loader.kernel(var, var.names[0], x_seq.device), -(-numel // vec), x_seq.device, (
        p(x_seq), p(u_init), p(s_init), p(gates), p(conduct), p(spike_seq), p(u_seq),
        np.int64(inner), np.int32(channels), np.int64(numel), np.int32(steps),
    ))
    return spike_seq, u_seq


@gated_lif_forward.register_fake
def _gated_lif_forward_fake(x_seq, u_init, s_init, gates, conduct, inner, surrogate, surrogate_params):
    return torch.empty_like(x_seq), torch.empty_like(x_seq)


@torch.library.custom_op(
    f"{_NS}::gated_lif_backward", mutates_args=(),
    schema="(Tensor? grad_spike_seq, Tensor? grad_u_seq, Tensor x_seq, Tensor u_seq, Tensor u_init, Tensor s_init, "
    f"Tensor gates, Tensor conduct, {_STATIC_SCHEMA}) -> (Tensor, Tensor, Tensor, Tensor, Tensor)",
)
def gated_lif_backward(grad_spike_seq: torch.Tensor | None, grad_u_seq: torch.Tensor | None, x_seq: torch.Tensor,
                       u_seq: torch.Tensor, u_init: torch.Tensor, s_init: torch.Tensor, gates: torch.Tensor,
                       conduct: torch.Tensor, inner: int, surrogate: str, surrogate_params: list[float]):
    """Fused GLIF BPTT: ``(grad_x_seq, grad_u_init, grad_s_init, grad_gates [7, C], grad_conduct [T, C])``.

    A ``None`` incoming gradient counts as zero.
    """
    grad_x = torch.empty_like(x_seq)
    grad_u0 = torch.empty_like(u_init)
    grad_s0 = torch.empty_like(s_init)
    steps, numel, channels = x_seq.shape[0], u_init.numel(), gates.shape[1]
    if steps == 0 or numel == 0:
        grad_x.zero_()
        grad_u0.zero_()
        grad_s0.zero_()
        return grad_x, grad_u0, grad_s0, torch.zeros_like(gates), torch.zeros_like(conduct)
    grads = [None if g is None else g.contiguous() for g in (grad_spike_seq, grad_u_seq)]
    ctype = loader.CTYPES[x_seq.dtype]
    vec = kernel_vector_width(numel, ctype, channels, inner, x_seq, u_seq, u_init, s_init, grad_x, grad_u0, grad_s0,
                              *grads)
    threads = -(-numel // vec)
    partial = torch.empty(steps + GATE_ROWS, threads, dtype=torch.float32, device=x_seq.device)
    var = variant(surrogate, ctype, vec)
    p = loader.pointer
    sg = [np.float32(v) for v in surrogate_params]
    loader.launch(loader.kernel(var, var.names[1], x_seq.device), threads, x_seq.device, (
        p(grads[0]), p(grads[1]), p(x_seq), p(u_seq), p(u_init), p(s_init), p(gates), p(conduct), p(grad_x),
        p(grad_u0), p(grad_s0), p(partial), *sg, np.int64(inner), np.int32(channels), np.int64(numel),
        np.int32(steps),
    ))
    grad_gates, grad_conduct = reduce_partials(partial, gates, steps, channels, inner, numel, vec)
    return grad_x, grad_u0, grad_s0, grad_gates, grad_conduct


@gated_lif_backward.register_fake
def _gated_lif_backward_fake(grad_spike_seq, grad_u_seq, x_seq, u_seq, u_init, s_init, gates, conduct, inner,
                             surrogate, surrogate_params):
    return (torch.empty_like(x_seq), torch.empty_like(u_init), torch.empty_like(s_init), torch.empty_like(gates),
            torch.empty_like(conduct))


def _setup_context(ctx, inputs, output):
    x_seq, u_init, s_init, gates, conduct, inner, surrogate, surrogate_params = inputs
    _, u_seq = output
    ctx.static = (inner, surrogate, surrogate_params)
    ctx.save_for_backward(x_seq, u_seq, u_init, s_init, gates, conduct)
    ctx.set_materialize_grads(False)


def _backward(ctx, grad_spike_seq, grad_u_seq):
    x_seq, u_seq, u_init, s_init, gates, conduct = ctx.saved_tensors
    if grad_spike_seq is None and grad_u_seq is None:
        zeros = (torch.zeros_like(x_seq), torch.zeros_like(u_init), torch.zeros_like(s_init),
                 torch.zeros_like(gates), torch.zeros_like(conduct))
        return (*zeros, None, None, None)
    grads = gated_lif_backward(grad_spike_seq, grad_u_seq, x_seq, u_seq, u_init, s_init, gates, conduct,
                               *ctx.static)
    return (*grads, None, None, None)


gated_lif_forward.register_autograd(_backward, setup_context=_setup_context)


# --------------------------------------------------------------------------- entry point
def run_gated_lif(x_seq: torch.Tensor, u_init: torch.Tensor, spike_init: torch.Tensor,
                  gates: Sequence[torch.Tensor], conduct_seq: torch.Tensor, layout: tuple[int, int],
                  surrogate) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step GLIF on the GPU: ``(spike_seq, u_seq)``, both ``[T, N, *]``.

    Args:
        gates: the seven ``GLIFGates`` (after the sigmoid), each a scalar or one value per
            channel shaped to broadcast against one step.
        conduct_seq: ``[T', ...]`` with ``T' >= T``; ``conduct_seq[t]`` as a gate.
        layout: ``(channels, inner)`` from :func:`channel_layout`.
        surrogate: the :class:`~jelly.surrogates.cuda_sources.CudaSurrogate` of the spike.

    Raises:
        ValueError: ``conduct_seq`` holds fewer steps than ``x_seq``.
    """
    steps = x_seq.shape[0]
    if conduct_seq.dim() == 0 or conduct_seq.shape[0] < steps:
        raise ValueError(f"gated_lif_multistep: conduct_seq of shape {tuple(conduct_seq.shape)} holds fewer than the "
                         f"{steps} steps of x_seq {tuple(x_seq.shape)}")
    step_shape = x_seq.shape[1:]
    channels, inner = layout
    x_seq = x_seq.contiguous()
    u_init = torch.broadcast_to(u_init, step_shape).to(dtype=x_seq.dtype).contiguous()
    spike_init = torch.broadcast_to(spike_init, step_shape).to(dtype=x_seq.dtype).contiguous()
    packed, conduct = prepare_gates(gates, conduct_seq.to(x_seq.device), steps, channels)
    return gated_lif_forward(x_seq, u_init, spike_init, packed.to(x_seq.device), conduct, inner, surrogate.name,
                             list(surrogate.params))


__all__ = [
    "GATES",
    "GATE_ROWS",
    "SOURCE",
    "all_variants",
    "channel_layout",
    "gated_lif_backward",
    "gated_lif_forward",
    "kernel_vector_width",
    "prepare_gates",
    "reduce_partials",
    "run_gated_lif",
    "variant",
]
