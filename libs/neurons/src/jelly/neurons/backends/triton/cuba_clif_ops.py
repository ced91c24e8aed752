"""CUBA-LIF and CLIF Triton kernels as ``torch.library`` custom ops, with fake and autograd rules.

Four functional ops (no argument is mutated):

* ``jelly::triton_cuba_lif_fwd(x_seq, c_init, v_init, ...) -> (spike_seq, v_seq, c_last, h_seq)``
* ``jelly::triton_cuba_lif_bwd(grad_spike, grad_v, grad_c_last, h_seq, ...) -> (grad_x, grad_c_init,
  grad_v_init)``
* ``jelly::triton_clif_fwd(x_seq, v_init, m_init, ...) -> (spike_seq, v_seq, m_seq, h_seq)``
* ``jelly::triton_clif_bwd(grad_spike, grad_v, grad_m, h_seq, m_seq, m_init, ...) -> (grad_x,
  grad_v_init, grad_m_init)``

As in :mod:`.linear_charge_ops`, the charged membrane ``h_seq`` is written only when
``need_h`` (some input needs a gradient; else it is empty), every argument is a tensor or a
plain number (the surrogate travels as its name, three scalars and an order), the forward
ops' autograd rules call the backward ops, and nothing synchronises with the host, so
``torch.compile`` traces the ops without graph breaks. The CLIF backward also reads the
``m_seq`` output (kept by autograd, no extra copy) and ``m_init``.

Every option of the torch backends is covered: CUBA-LIF hard reset (any ``v_reset``) and
soft reset, ``detach_reset`` on/off; CLIF (soft reset only, no options). Neither model has
a learnable parameter. Float32 forward results equal the reference bit for bit, except the
CLIF states on CPU tensors (see :mod:`.cuba_clif_kernels`: the interpreter's ``exp`` is
NumPy's, PyTorch's CPU ``sigmoid`` may differ from it in the last bit).
"""

from __future__ import annotations

import torch

from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

from ...functional.cuba_lif import CUBALIFParams
from .availability import raise_if_problem
from .cuba_clif_kernels import (
    clif_backward_kernel,
    clif_forward_kernel,
    cuba_lif_backward_kernel,
    cuba_lif_forward_kernel,
)
from .launch import (
    check_kernel_mode,
    flat_steps,
    launch_per_block,
    saved_h_guard,
    surrogate_arguments,
    tau_argument,
)

__all__ = ["clif_multistep_triton", "cuba_lif_multistep_triton"]


def _check_states(x_seq: torch.Tensor, **states: torch.Tensor) -> None:
    """``x_seq`` is ``[T, N, *]`` and every state is one step of it (else a ValueError naming it)."""
    if x_seq.dim() < 2:
        raise ValueError(f"x_seq must be [T, N, *], got shape {tuple(x_seq.shape)}")
    for name, state in states.items():
        if not isinstance(state, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got {type(state).__name__}")
        if tuple(state.shape) != tuple(x_seq.shape[1:]):
            raise ValueError(
                f"{name} of shape {tuple(state.shape)} does not match one step of x_seq {tuple(x_seq.shape[1:])}"
            )


# -- CUBA-LIF ------------------------------------------------------------------------------
@torch.library.custom_op("jelly::triton_cuba_lif_fwd", mutates_args=())
def cuba_lif_forward_op(
    x_seq: torch.Tensor,
    c_init: torch.Tensor,
    v_init: torch.Tensor,
    c_decay: float,
    v_decay: float,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
    need_h: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused CUBA-LIF forward; returns ``(spike_seq, v_seq, c_last, h_seq)`` (``h_seq`` empty unless ``need_h``)."""
    x = x_seq.contiguous()
    spike_seq, v_seq = torch.empty_like(x), torch.empty_like(x)
    h_seq = torch.empty_like(x) if need_h else x.new_empty(0)
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return spike_seq, v_seq, c_init.clone(memory_format=torch.contiguous_format), h_seq
    check_kernel_mode(cuba_lif_forward_kernel, x)
    c_last = torch.empty_like(c_init, memory_format=torch.contiguous_format)
    guard_h, below, above = saved_h_guard(need_h, v_threshold, x.dtype)
    launch_per_block(
        cuba_lif_forward_kernel, x, numel,
        x, c_init.contiguous(), v_init.contiguous(), spike_seq, v_seq, c_last, h_seq if need_h else x,
        steps, numel,
        float(c_decay), float(v_decay), float(v_threshold), float(v_reset), below, above,
        HARD_RESET=hard_reset, STORE_H=need_h, GUARD_H=guard_h, fp_fusion=False,
    )
    return spike_seq, v_seq, c_last, h_seq


@cuba_lif_forward_op.register_fake
def _cuba_lif_forward_fake(x_seq, c_init, v_init, *options):
    need_h = options[-1]
    h_seq = x_seq.new_empty(x_seq.shape) if need_h else x_seq.new_empty(0)
    return x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape), c_init.new_empty(c_init.shape), h_seq


@torch.library.custom_op("jelly::triton_cuba_lif_bwd", mutates_args=())
def cuba_lif_backward_op(
    grad_spike: torch.Tensor,
    grad_v: torch.Tensor,
    grad_c_last: torch.Tensor,
    h_seq: torch.Tensor,
    c_decay: float,
    v_decay: float,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused CUBA-LIF backward through time; returns ``(grad_x, grad_c_init, grad_v_init)``."""
    h = h_seq.contiguous()
    grad_x = torch.empty_like(h)
    grad_c_init = torch.empty_like(grad_c_last, memory_format=torch.contiguous_format)
    grad_v_init = torch.empty_like(grad_c_last, memory_format=torch.contiguous_format)
    steps, numel = flat_steps(h)
    if steps == 0:
        return grad_x, grad_c_init.copy_(grad_c_last), grad_v_init.zero_()
    if numel == 0:
        return grad_x, grad_c_init, grad_v_init
    check_kernel_mode(cuba_lif_backward_kernel, h)
    launch_per_block(
        cuba_lif_backward_kernel, h, numel,
        grad_spike.contiguous(), grad_v.contiguous(), grad_c_last.contiguous(), h,
        grad_x, grad_c_init, grad_v_init,
        steps, numel,
        float(c_decay), float(v_decay), float(v_threshold), float(v_reset), *(float(p) for p in sg_scalars),
        SG_FN=TRITON_DERIVATIVES[surrogate], SG_ORDER=sg_order, HARD_RESET=hard_reset,
        DETACH_RESET=detach_reset, fp_fusion=True,
    )
    return grad_x, grad_c_init, grad_v_init


@cuba_lif_backward_op.register_fake
def _cuba_lif_backward_fake(grad_spike, grad_v, grad_c_last, h_seq, *options):
    return h_seq.new_empty(h_seq.shape), grad_c_last.new_empty(grad_c_last.shape), \
        grad_c_last.new_empty(grad_c_last.shape)


def _cuba_lif_setup_context(ctx, inputs, output) -> None:
    _x_seq, c_init, _v_init, *options, need_h = inputs
    ctx.options = tuple(options)
    ctx.has_h = need_h
    ctx.state_shape = tuple(c_init.shape)
    ctx.save_for_backward(output[3])


def _cuba_lif_backward(ctx, grad_spike, grad_v, grad_c_last, _grad_h):
    (h_seq,) = ctx.saved_tensors
    if not ctx.has_h:
        raise RuntimeError("jelly::triton_cuba_lif_fwd ran with need_h=False and saved nothing for the backward")
    grad_spike = torch.zeros_like(h_seq) if grad_spike is None else grad_spike
    grad_v = torch.zeros_like(h_seq) if grad_v is None else grad_v
    if grad_c_last is None:
        grad_c_last = h_seq.new_zeros(ctx.state_shape)
    grad_x, grad_c_init, grad_v_init = cuba_lif_backward_op(grad_spike, grad_v, grad_c_last, h_seq, *ctx.options)
    return (grad_x, grad_c_init, grad_v_init) + (None,) * (len(ctx.options) + 1)


cuba_lif_forward_op.register_autograd(_cuba_lif_backward, setup_context=_cuba_lif_setup_context)


def cuba_lif_multistep_triton(
    x_seq: torch.Tensor, c_init: torch.Tensor, v_init: torch.Tensor, params: CUBALIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Multi-step CUBA-LIF with the fused Triton kernels (``[T, N, *]`` in and out).

    Args:
        x_seq: ``[T, N, *]`` input, float32, float16 or bfloat16, on a CUDA device (or on the
            CPU under ``TRITON_INTERPRET=1``).
        c_init: ``[N, *]`` synaptic current before the first step (cast to ``x_seq``'s dtype).
        v_init: ``[N, *]`` membrane before the first step (cast to ``x_seq``'s dtype).
        params: the neuron's constants (hard or soft reset, ``detach_reset``).
        surrogate_function: a surrogate with a Triton derivative, in spiking mode.

    Returns:
        ``(spike_seq, v_seq, c_last)`` in ``x_seq``'s dtype, as the reference.

    Raises:
        BackendUnavailableError: the input, dtype or surrogate is not supported here (the
            message says what to use instead).
        ValueError: ``c_init`` or ``v_init`` does not match one step of ``x_seq``.
    """
    raise_if_problem(x_seq)
    surrogate, sg_scalars, sg_order = surrogate_arguments(surrogate_function)
    _check_states(x_seq, c_init=c_init, v_init=v_init)
    c_init = c_init.to(device=x_seq.device, dtype=x_seq.dtype)
    v_init = v_init.to(device=x_seq.device, dtype=x_seq.dtype)
    hard_reset = params.v_reset is not None
    need_h = torch.is_grad_enabled() and (x_seq.requires_grad or c_init.requires_grad or v_init.requires_grad)
    spike_seq, v_seq, c_last, _ = cuba_lif_forward_op(
        x_seq, c_init, v_init, float(params.c_decay), float(params.v_decay), float(params.v_threshold),
        float(params.v_reset) if hard_reset else 0.0, hard_reset, bool(params.detach_reset),
        surrogate, sg_scalars, sg_order, need_h,
    )
    return spike_seq, v_seq, c_last


# -- CLIF ----------------------------------------------------------------------------------
@torch.library.custom_op("jelly::triton_clif_fwd", mutates_args=())
def clif_forward_op(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    m_init: torch.Tensor,
    tau: float,
    v_threshold: float,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
    need_h: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused CLIF forward; returns ``(spike_seq, v_seq, m_seq, h_seq)`` (``h_seq`` empty unless ``need_h``)."""
    x = x_seq.contiguous()
    spike_seq, v_seq, m_seq = torch.empty_like(x), torch.empty_like(x), torch.empty_like(x)
    h_seq = torch.empty_like(x) if need_h else x.new_empty(0)
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return spike_seq, v_seq, m_seq, h_seq
    check_kernel_mode(clif_forward_kernel, x)
    cuda = x.device.type == "cuda"
    guard_h, below, above = saved_h_guard(need_h, v_threshold, x.dtype)
    launch_per_block(
        clif_forward_kernel, x, numel,
        x, v_init.contiguous(), m_init.contiguous(), spike_seq, v_seq, m_seq, h_seq if need_h else x,
        steps, numel,
        tau_argument(tau, cuda), float(v_threshold), below, above,
        RECIPROCAL=cuda, PRECISE_EXP=cuda, STORE_H=need_h, GUARD_H=guard_h, fp_fusion=False,
    )
    return spike_seq, v_seq, m_seq, h_seq


@clif_forward_op.register_fake
def _clif_forward_fake(x_seq, v_init, m_init, *options):
    need_h = options[-1]
    h_seq = x_seq.new_empty(x_seq.shape) if need_h else x_seq.new_empty(0)
    return x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape), h_seq


@torch.library.custom_op("jelly::triton_clif_bwd", mutates_args=())
def clif_backward_op(
    grad_spike: torch.Tensor,
    grad_v: torch.Tensor,
    grad_m: torch.Tensor,
    h_seq: torch.Tensor,
    m_seq: torch.Tensor,
    m_init: torch.Tensor,
    tau: float,
    v_threshold: float,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused CLIF backward through time; returns ``(grad_x, grad_v_init, grad_m_init)``."""
    h = h_seq.contiguous()
    grad_x = torch.empty_like(h)
    grad_v_init = torch.empty_like(m_init, memory_format=torch.contiguous_format)
    grad_m_init = torch.empty_like(m_init, memory_format=torch.contiguous_format)
    steps, numel = flat_steps(h)
    if steps == 0:
        return grad_x, grad_v_init.zero_(), grad_m_init.zero_()
    if numel == 0:
        return grad_x, grad_v_init, grad_m_init
    check_kernel_mode(clif_backward_kernel, h)
    cuda = h.device.type == "cuda"
    launch_per_block(
        clif_backward_kernel, h, numel,
        grad_spike.contiguous(), grad_v.contiguous(), grad_m.contiguous(), h, m_seq.contiguous(),
        m_init.contiguous(), grad_x, grad_v_init, grad_m_init,
        steps, numel,
        tau_argument(tau, cuda), 1.0 / tau, 1.0 - 1.0 / tau, float(v_threshold),
        *(float(p) for p in sg_scalars),
        SG_FN=TRITON_DERIVATIVES[surrogate], SG_ORDER=sg_order, RECIPROCAL=cuda, PRECISE_EXP=cuda,
        fp_fusion=True,
    )
    return grad_x, grad_v_init, grad_m_init


@clif_backward_op.register_fake
def _clif_backward_fake(grad_spike, grad_v, grad_m, h_seq, m_seq, m_init, *options):
    return h_seq.new_empty(h_seq.shape), m_init.new_empty(m_init.shape), m_init.new_empty(m_init.shape)


def _clif_setup_context(ctx, inputs, output) -> None:
    _x_seq, _v_init, m_init, *options, need_h = inputs
    ctx.options = tuple(options)
    ctx.has_h = need_h
    ctx.save_for_backward(output[3], output[2], m_init)


def _clif_backward(ctx, grad_spike, grad_v, grad_m, _grad_h):
    h_seq, m_seq, m_init = ctx.saved_tensors
    if not ctx.has_h:
        raise RuntimeError("jelly::triton_clif_fwd ran with need_h=False and saved nothing for the backward")
    grad_spike = torch.zeros_like(h_seq) if grad_spike is None else grad_spike
    grad_v = torch.zeros_like(h_seq) if grad_v is None else grad_v
    grad_m = torch.zeros_like(h_seq) if grad_m is None else grad_m
    grad_x, grad_v_init, grad_m_init = clif_backward_op(grad_spike, grad_v, grad_m, h_seq, m_seq, m_init,
                                                        *ctx.options)
    return (grad_x, grad_v_init, grad_m_init) + (None,) * (len(ctx.options) + 1)


clif_forward_op.register_autograd(_clif_backward, setup_context=_clif_setup_context)


def clif_multistep_triton(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    m_init: torch.Tensor,
    tau: float,
    v_threshold: float,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Multi-step CLIF with the fused Triton kernels (``[T, N, *]`` in and out).

    Args:
        x_seq: ``[T, N, *]`` input, float32, float16 or bfloat16, on a CUDA device (or on the
            CPU under ``TRITON_INTERPRET=1``).
        v_init: ``[N, *]`` membrane before the first step (cast to ``x_seq``'s dtype).
        m_init: ``[N, *]`` complementary potential before the first step (same).
        tau: membrane time constant.
        v_threshold: firing threshold.
        surrogate_function: a surrogate with a Triton derivative, in spiking mode.

    Returns:
        ``(spike_seq, v_seq, m_seq)`` in ``x_seq``'s dtype, as the reference.

    Raises:
        BackendUnavailableError: the input, dtype or surrogate is not supported here (the
            message says what to use instead).
        ValueError: ``v_init`` or ``m_init`` does not match one step of ``x_seq``.
    """
    raise_if_problem(x_seq)
    surrogate, sg_scalars, sg_order = surrogate_arguments(surrogate_function)
    _check_states(x_seq, v_init=v_init, m_init=m_init)
    v_init = v_init.to(device=x_seq.device, dtype=x_seq.dtype)
    m_init = m_init.to(device=x_seq.device, dtype=x_seq.dtype)
    need_h = torch.is_grad_enabled() and (x_seq.requires_grad or v_init.requires_grad or m_init.requires_grad)
    spike_seq, v_seq, m_seq, _ = clif_forward_op(
        x_seq, v_init, m_init, float(tau), float(v_threshold), surrogate, sg_scalars, sg_order, need_h,
    )
    return spike_seq, v_seq, m_seq
