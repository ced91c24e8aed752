"""Izhikevich Triton kernels as ``torch.library`` custom ops, with fake and autograd rules.

* ``jelly::triton_izhikevich_fwd(x_seq, v_init, w_init, ...) -> (spike_seq, v_seq, w_last, h_seq)``
* ``jelly::triton_izhikevich_bwd(grad_spike, grad_v, grad_w_last, h_seq, v_init, ...) -> (grad_x,
  grad_v_init, grad_w_init)``

As in :mod:`.linear_charge_ops`, ``h_seq`` is written only when ``need_h`` (some input needs
a gradient), every argument is a tensor or a plain number, and nothing synchronises with
the host. Every option of the torch backend is covered: hard reset (any ``v_reset``) and
soft reset, ``detach_reset`` (which also detaches the spike in the jump ``b s``, as the
reference), any ``a``, ``b``, ``τ``, ``τ_w``, ``a0``, ``v_rest``, ``v_c``. The model has no
learnable parameter. Float32 results equal the reference bit for bit (see
:mod:`.izhikevich_kernels`).
"""

from __future__ import annotations

import torch

from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

from ...functional.izhikevich import IzhikevichParams
from .availability import raise_if_problem
from .cuba_clif_ops import _check_states
from .izhikevich_kernels import izhikevich_backward_kernel, izhikevich_forward_kernel
from .launch import (
    check_kernel_mode,
    flat_steps,
    launch_per_block,
    saved_h_guard,
    surrogate_arguments,
    tau_argument,
)

__all__ = ["izhikevich_multistep_triton"]


@torch.library.custom_op("jelly::triton_izhikevich_fwd", mutates_args=())
def izhikevich_forward_op(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    w_init: torch.Tensor,
    tau: float,
    v_c: float,
    a0: float,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    v_rest: float,
    tau_w: float,
    a: float,
    b: float,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
    need_h: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused Izhikevich forward; returns ``(spike_seq, v_seq, w_last, h_seq)`` (``h_seq`` empty unless ``need_h``)."""
    x = x_seq.contiguous()
    spike_seq, v_seq = torch.empty_like(x), torch.empty_like(x)
    h_seq = torch.empty_like(x) if need_h else x.new_empty(0)
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return spike_seq, v_seq, w_init.clone(memory_format=torch.contiguous_format), h_seq
    check_kernel_mode(izhikevich_forward_kernel, x)
    w_last = torch.empty_like(w_init, memory_format=torch.contiguous_format)
    cuda = x.device.type == "cuda"
    guard_h, below, above = saved_h_guard(need_h, v_threshold, x.dtype)
    launch_per_block(
        izhikevich_forward_kernel, x, numel,
        x, v_init.contiguous(), w_init.contiguous(), spike_seq, v_seq, w_last, h_seq if need_h else x,
        steps, numel,
        tau_argument(tau, cuda), tau_argument(tau_w, cuda),
        float(a0), float(v_rest), float(v_c), float(a), float(b), float(v_threshold), float(v_reset),
        below, above,
        HARD_RESET=hard_reset, RECIPROCAL=cuda, STORE_H=need_h, GUARD_H=guard_h, fp_fusion=False,
    )
    return spike_seq, v_seq, w_last, h_seq


@izhikevich_forward_op.register_fake
def _forward_fake(x_seq, v_init, w_init, *options):
    need_h = options[-1]
    h_seq = x_seq.new_empty(x_seq.shape) if need_h else x_seq.new_empty(0)
    return x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape), w_init.new_empty(w_init.shape), h_seq


@torch.library.custom_op("jelly::triton_izhikevich_bwd", mutates_args=())
def izhikevich_backward_op(
    grad_spike: torch.Tensor,
    grad_v: torch.Tensor,
    grad_w_last: torch.Tensor,
    h_seq: torch.Tensor,
    v_init: torch.Tensor,
    tau: float,
    v_c: float,
    a0: float,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    v_rest: float,
    tau_w: float,
    a: float,
    b: float,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused Izhikevich backward through time; returns ``(grad_x, grad_v_init, grad_w_init)``."""
    h = h_seq.contiguous()
    grad_x = torch.empty_like(h)
    grad_v_init = torch.empty_like(v_init, memory_format=torch.contiguous_format)
    grad_w_init = torch.empty_like(grad_w_last, memory_format=torch.contiguous_format)
    steps, numel = flat_steps(h)
    if steps == 0:
        return grad_x, grad_v_init.zero_(), grad_w_init.copy_(grad_w_last)
    if numel == 0:
        return grad_x, grad_v_init, grad_w_init
    check_kernel_mode(izhikevich_backward_kernel, h)
    d0, d1 = 2.0 * a0 / tau, 1.0 - a0 * (v_rest + v_c) / tau
    launch_per_block(
        izhikevich_backward_kernel, h, numel,
        grad_spike.contiguous(), grad_v.contiguous(), grad_w_last.contiguous(), h, v_init.contiguous(),
        grad_x, grad_v_init, grad_w_init,
        steps, numel,
        1.0 / tau, 1.0 - 1.0 / tau_w, a / tau_w, float(b), d0, d1, float(v_threshold), float(v_reset),
        *(float(p) for p in sg_scalars),
        SG_FN=TRITON_DERIVATIVES[surrogate], SG_ORDER=sg_order, HARD_RESET=hard_reset,
        DETACH_RESET=detach_reset, fp_fusion=True,
    )
    return grad_x, grad_v_init, grad_w_init


@izhikevich_backward_op.register_fake
def _backward_fake(grad_spike, grad_v, grad_w_last, h_seq, v_init, *options):
    return h_seq.new_empty(h_seq.shape), v_init.new_empty(v_init.shape), grad_w_last.new_empty(grad_w_last.shape)


def _setup_context(ctx, inputs, output) -> None:
    _x_seq, v_init, w_init, *options, need_h = inputs
    ctx.options = tuple(options)
    ctx.has_h = need_h
    ctx.state_shape = tuple(w_init.shape)
    ctx.save_for_backward(output[3], v_init)


def _backward(ctx, grad_spike, grad_v, grad_w_last, _grad_h):
    h_seq, v_init = ctx.saved_tensors
    if not ctx.has_h:
        raise RuntimeError("jelly::triton_izhikevich_fwd ran with need_h=False and saved nothing for the backward")
    grad_spike = torch.zeros_like(h_seq) if grad_spike is None else grad_spike
    grad_v = torch.zeros_like(h_seq) if grad_v is None else grad_v
    if grad_w_last is None:
        grad_w_last = h_seq.new_zeros(ctx.state_shape)
    grad_x, grad_v_init, grad_w_init = izhikevich_backward_op(grad_spike, grad_v, grad_w_last, h_seq, v_init,
                                                              *ctx.options)
    return (grad_x, grad_v_init, grad_w_init) + (None,) * (len(ctx.options) + 1)


izhikevich_forward_op.register_autograd(_backward, setup_context=_setup_context)


def izhikevich_multistep_triton(
    x_seq: torch.Tensor, v_init: torch.Tensor, w_init: torch.Tensor, params: IzhikevichParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Multi-step Izhikevich neuron with the fused Triton kernels (``[T, N, *]`` in and out).

    Args:
        x_seq: ``[T, N, *]`` input, float32, float16 or bfloat16, on a CUDA device (or on the
            CPU under ``TRITON_INTERPRET=1``).
        v_init: ``[N, *]`` membrane before the first step (cast to ``x_seq``'s dtype).
        w_init: ``[N, *]`` adaptation current before the first step (same).
        params: the neuron's constants (every option of the torch backend is supported).
        surrogate_function: a surrogate with a Triton derivative, in spiking mode.

    Returns:
        ``(spike_seq, v_seq, w_last)`` in ``x_seq``'s dtype, as the reference.

    Raises:
        BackendUnavailableError: the input, dtype or surrogate is not supported here (the
            message says what to use instead).
        ValueError: ``v_init`` or ``w_init`` does not match one step of ``x_seq``.
    """
    raise_if_problem(x_seq)
    surrogate, sg_scalars, sg_order = surrogate_arguments(surrogate_function)
    _check_states(x_seq, v_init=v_init, w_init=w_init)
    v_init = v_init.to(device=x_seq.device, dtype=x_seq.dtype)
    w_init = w_init.to(device=x_seq.device, dtype=x_seq.dtype)
    hard_reset = params.v_reset is not None
    need_h = torch.is_grad_enabled() and (x_seq.requires_grad or v_init.requires_grad or w_init.requires_grad)
    p = params
    tau, v_c, a0, v_threshold, v_rest, tau_w, a, b = (
        float(value) for value in (p.tau, p.v_c, p.a0, p.v_threshold, p.v_rest, p.tau_w, p.a, p.b)
    )
    v_reset = float(p.v_reset) if hard_reset else 0.0
    spike_seq, v_seq, w_last, _ = izhikevich_forward_op(
        x_seq, v_init, w_init, tau, v_c, a0, v_threshold, v_reset, hard_reset, v_rest, tau_w, a, b,
        bool(p.detach_reset), surrogate, sg_scalars, sg_order, need_h,
    )
    return spike_seq, v_seq, w_last
