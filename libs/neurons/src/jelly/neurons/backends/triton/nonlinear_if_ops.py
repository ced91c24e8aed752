"""QIF/EIF Triton kernels as ``torch.library`` custom ops, with fake and autograd rules.

* ``jelly::triton_nonlinear_if_fwd(x_seq, v_init, kind, ...) -> (spike_seq, v_seq, h_seq)``
* ``jelly::triton_nonlinear_if_bwd(grad_spike, grad_v, h_seq, v_init, kind, ...) -> (grad_x, grad_v_init)``

``kind`` is 0 for QIF (``c0, c1, c2 = a0, v_rest, v_c``) and 1 for EIF (``Δ_T, v_rest, θ_rh``).
As in :mod:`.linear_charge_ops`, ``h_seq`` is written only when ``need_h`` (some input needs
a gradient), all arguments are tensors and numbers, and nothing synchronises with the host.
"""

from __future__ import annotations

import torch

from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

from ...functional.nonlinear_if import EIFParams, QIFParams
from .availability import raise_if_problem
from .launch import (
    check_kernel_mode,
    flat_steps,
    launch_per_block,
    saved_h_guard,
    surrogate_arguments,
    tau_argument,
)
from .nonlinear_if_kernels import nonlinear_if_backward_kernel, nonlinear_if_forward_kernel

__all__ = ["eif_multistep_triton", "qif_multistep_triton"]

QIF_KIND, EIF_KIND = 0, 1


@torch.library.custom_op("jelly::triton_nonlinear_if_fwd", mutates_args=())
def nonlinear_if_forward_op(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    kind: int,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    tau: float,
    delta_T: float,
    c0: float,
    c1: float,
    c2: float,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
    need_h: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused QIF/EIF forward; returns ``(spike_seq, v_seq, h_seq)`` (``h_seq`` empty unless ``need_h``)."""
    x = x_seq.contiguous()
    spike_seq, v_seq = torch.empty_like(x), torch.empty_like(x)
    h_seq = torch.empty_like(x) if need_h else x.new_empty(0)
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return spike_seq, v_seq, h_seq
    check_kernel_mode(nonlinear_if_forward_kernel, x)
    cuda = x.device.type == "cuda"
    guard_h, below, above = saved_h_guard(need_h, v_threshold, x.dtype)
    launch_per_block(
        nonlinear_if_forward_kernel, x, numel,
        x, v_init.contiguous(), spike_seq, v_seq, h_seq if need_h else x, steps, numel,
        float(v_threshold), float(v_reset), tau_argument(tau, cuda), tau_argument(delta_T, cuda),
        float(c0), float(c1), float(c2), below, above,
        KIND=kind, HARD_RESET=hard_reset, RECIPROCAL=cuda, PRECISE_EXP=cuda,
        STORE_H=need_h, GUARD_H=guard_h, fp_fusion=False,
    )
    return spike_seq, v_seq, h_seq


@nonlinear_if_forward_op.register_fake
def _forward_fake(x_seq, v_init, kind, v_threshold, v_reset, hard_reset, tau, delta_T, c0, c1, c2, detach_reset,
                  surrogate, sg_scalars, sg_order, need_h):
    h_seq = x_seq.new_empty(x_seq.shape) if need_h else x_seq.new_empty(0)
    return x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape), h_seq


@torch.library.custom_op("jelly::triton_nonlinear_if_bwd", mutates_args=())
def nonlinear_if_backward_op(
    grad_spike: torch.Tensor,
    grad_v: torch.Tensor,
    h_seq: torch.Tensor,
    v_init: torch.Tensor,
    kind: int,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    tau: float,
    delta_T: float,
    c0: float,
    c1: float,
    c2: float,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fused QIF/EIF backward through time; returns ``(grad_x, grad_v_init)``."""
    h = h_seq.contiguous()
    grad_x = torch.empty_like(h)
    grad_v_init = torch.empty_like(v_init, memory_format=torch.contiguous_format)
    steps, numel = flat_steps(h)
    if steps == 0:
        return grad_x, grad_v_init.zero_()
    if numel == 0:
        return grad_x, grad_v_init
    check_kernel_mode(nonlinear_if_backward_kernel, h)
    cuda = h.device.type == "cuda"
    if kind == QIF_KIND:  # c0, c1, c2 = a0, v_rest, v_c
        d0, d1 = 2.0 * c0 / tau, 1.0 - c0 * (c1 + c2) / tau
    else:
        d0, d1 = 1.0 / tau, 1.0 - 1.0 / tau
    launch_per_block(
        nonlinear_if_backward_kernel, h, numel,
        grad_spike.contiguous(), grad_v.contiguous(), h, v_init.contiguous(), grad_x, grad_v_init, steps, numel,
        float(v_threshold), float(v_reset), 1.0 / tau, tau_argument(delta_T, cuda), float(c2), d0, d1,
        *(float(p) for p in sg_scalars),
        SG_FN=TRITON_DERIVATIVES[surrogate], SG_ORDER=sg_order, KIND=kind, HARD_RESET=hard_reset,
        DETACH_RESET=detach_reset, RECIPROCAL=cuda, PRECISE_EXP=cuda, fp_fusion=True,
    )
    return grad_x, grad_v_init


@nonlinear_if_backward_op.register_fake
def _backward_fake(grad_spike, grad_v, h_seq, v_init, *options):
    return h_seq.new_empty(h_seq.shape), v_init.new_empty(v_init.shape)


def _setup_context(ctx, inputs, output) -> None:
    _x_seq, v_init, *options, need_h = inputs
    ctx.options = tuple(options)
    ctx.has_h = need_h
    ctx.save_for_backward(output[2], v_init)


def _backward(ctx, grad_spike, grad_v, _grad_h):
    h_seq, v_init = ctx.saved_tensors
    if not ctx.has_h:
        raise RuntimeError("jelly::triton_nonlinear_if_fwd ran with need_h=False and saved nothing for the backward")
    grad_spike = torch.zeros_like(h_seq) if grad_spike is None else grad_spike
    grad_v = torch.zeros_like(h_seq) if grad_v is None else grad_v
    grad_x, grad_v_init = nonlinear_if_backward_op(grad_spike, grad_v, h_seq, v_init, *ctx.options)
    return (grad_x, grad_v_init) + (None,) * (len(ctx.options) + 1)


nonlinear_if_forward_op.register_autograd(_backward, setup_context=_setup_context)


def _run(x_seq, v_init, kind, params, delta_T, constants, surrogate_function):
    raise_if_problem(x_seq)
    surrogate, sg_scalars, sg_order = surrogate_arguments(surrogate_function)
    if x_seq.dim() < 2 or tuple(v_init.shape) != tuple(x_seq.shape[1:]):
        raise ValueError(
            f"x_seq must be [T, N, *] and v_init one step of it; got {tuple(x_seq.shape)} and {tuple(v_init.shape)}"
        )
    v_init = v_init.to(device=x_seq.device, dtype=x_seq.dtype)
    hard_reset = params.v_reset is not None
    need_h = torch.is_grad_enabled() and (x_seq.requires_grad or v_init.requires_grad)
    spike_seq, v_seq, _ = nonlinear_if_forward_op(
        x_seq, v_init, kind, params.v_threshold, params.v_reset if hard_reset else 0.0, hard_reset, params.tau,
        delta_T, *constants, params.detach_reset, surrogate, sg_scalars, sg_order, need_h,
    )
    return spike_seq, v_seq


def qif_multistep_triton(
    x_seq: torch.Tensor, v_init: torch.Tensor, params: QIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step QIF with the fused Triton kernels (``[T, N, *]`` in and out).

    Raises:
        BackendUnavailableError: the input, dtype or surrogate is not supported here.
        ValueError: ``v_init`` does not match one step of ``x_seq``.
    """
    return _run(x_seq, v_init, QIF_KIND, params, 1.0, (params.a0, params.v_rest, params.v_c), surrogate_function)


def eif_multistep_triton(
    x_seq: torch.Tensor, v_init: torch.Tensor, params: EIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step EIF with the fused Triton kernels (``[T, N, *]`` in and out).

    Raises:
        BackendUnavailableError: the input, dtype or surrogate is not supported here.
        ValueError: ``v_init`` does not match one step of ``x_seq``.
    """
    constants = (params.delta_T, params.v_rest, params.theta_rh)
    return _run(x_seq, v_init, EIF_KIND, params, params.delta_T, constants, surrogate_function)
