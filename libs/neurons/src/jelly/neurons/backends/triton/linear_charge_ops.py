"""IF/LIF/PLIF Triton kernels as ``torch.library`` custom ops, with fake and autograd rules.

Two ops, both functional (no argument is mutated):

* ``jelly::triton_linear_charge_fwd(x_seq, v_init, k, kind, ...) -> (spike_seq, v_seq, h_seq)``
  runs :func:`~.linear_charge_kernels.linear_charge_forward_kernel`; ``h_seq`` (the charged
  membrane, what the backward needs) is written only when ``need_h`` (else it is empty).
* ``jelly::triton_linear_charge_bwd(grad_spike, grad_v, h_seq, v_init, k, ...) -> (grad_x,
  grad_v_init, grad_k)`` runs the backward kernel; ``grad_k`` is the PLIF gradient with respect
  to ``k = sigmoid(w)`` (autograd carries it on to ``w`` through ``torch.sigmoid``).

The forward op's autograd rule calls the backward op, and both have fake (meta)
implementations, so ``torch.compile`` traces through them without graph breaks and CUDA
graphs can capture them (no host synchronisation: ``k`` is read by the kernel from device
memory and the PLIF partial sums are added with ``torch.sum``). All op arguments are
tensors and plain numbers: the surrogate travels as its class name, three float scalars and
an integer order (see :mod:`jelly.surrogates.triton_derivatives`).
"""

from __future__ import annotations

import torch
import triton

from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

from ...functional.integrate_fire import LinearChargeParams
from .availability import raise_if_problem
from .launch import (
    block_size,
    check_kernel_mode,
    flat_steps,
    launch_per_block,
    reciprocal_f32,
    saved_h_guard,
    surrogate_arguments,
)
from .linear_charge_kernels import linear_charge_backward_kernel, linear_charge_forward_kernel

__all__ = ["KIND_CODES", "linear_charge_multistep_triton"]

#: ``LinearChargeParams.kind`` -> the kernels' ``KIND`` constant.
KIND_CODES = {"if": 0, "lif": 1, "plif": 2}
_PLIF = KIND_CODES["plif"]


def _relative(hard_reset: bool, v_reset: float) -> bool:
    """Whether the charge uses ``v - v_r`` (hard reset to a non-zero ``v_r``) or plain ``v``."""
    return hard_reset and v_reset != 0.0


@torch.library.custom_op("jelly::triton_linear_charge_fwd", mutates_args=())
def linear_charge_forward_op(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    k: torch.Tensor | None,
    kind: int,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    tau: float,
    decay_input: bool,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
    need_h: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused multi-step forward; returns ``(spike_seq, v_seq, h_seq)`` (``h_seq`` empty unless ``need_h``)."""
    x = x_seq.contiguous()
    spike_seq = torch.empty_like(x)
    v_seq = torch.empty_like(x)
    h_seq = torch.empty_like(x) if need_h else x.new_empty(0)
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return spike_seq, v_seq, h_seq
    check_kernel_mode(linear_charge_forward_kernel, x)
    v0 = v_init.contiguous()
    reciprocal = x.device.type == "cuda"
    tau_arg = reciprocal_f32(tau) if reciprocal else float(tau)
    guard_h, below, above = saved_h_guard(need_h, v_threshold, x.dtype)
    launch_per_block(
        linear_charge_forward_kernel, x, numel,
        x, v0, k if k is not None else v0, spike_seq, v_seq, h_seq if need_h else x,
        steps, numel,
        float(v_threshold), float(v_reset), tau_arg, below, above,
        KIND=kind, DECAY_INPUT=decay_input, HARD_RESET=hard_reset, RELATIVE=_relative(hard_reset, v_reset),
        RECIPROCAL=reciprocal, STORE_H=need_h, GUARD_H=guard_h, fp_fusion=False,
    )
    return spike_seq, v_seq, h_seq


@linear_charge_forward_op.register_fake
def _linear_charge_forward_fake(x_seq, v_init, k, kind, v_threshold, v_reset, hard_reset, tau, decay_input,
                                detach_reset, surrogate, sg_scalars, sg_order, need_h):
    h_seq = x_seq.new_empty(x_seq.shape) if need_h else x_seq.new_empty(0)
    return x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape), h_seq


@torch.library.custom_op("jelly::triton_linear_charge_bwd", mutates_args=())
def linear_charge_backward_op(
    grad_spike: torch.Tensor,
    grad_v: torch.Tensor,
    h_seq: torch.Tensor,
    v_init: torch.Tensor,
    k: torch.Tensor | None,
    kind: int,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    tau: float,
    decay_input: bool,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused backward through time; returns ``(grad_x, grad_v_init, grad_k)`` (``grad_k`` empty without ``k``)."""
    h = h_seq.contiguous()
    grad_x = torch.empty_like(h)
    grad_v_init = torch.empty_like(v_init, memory_format=torch.contiguous_format)
    steps, numel = flat_steps(h)
    block = block_size(numel, h.device)
    programs = triton.cdiv(numel, block) if numel else 0
    partials = torch.zeros(programs if k is not None else 0, dtype=torch.float32, device=h.device)
    if steps and numel:
        check_kernel_mode(linear_charge_backward_kernel, h)
        if kind == KIND_CODES["lif"]:
            coef_a, coef_b = 1.0 - 1.0 / tau, (1.0 / tau if decay_input else 1.0)
        else:
            coef_a, coef_b = 1.0, 1.0
        v0 = v_init.contiguous()
        launch_per_block(
            linear_charge_backward_kernel, h, numel,
            grad_spike.contiguous(), grad_v.contiguous(), h, v0, k if k is not None else v0,
            grad_x, grad_v_init, partials if k is not None else grad_x,
            steps, numel,
            float(v_threshold), float(v_reset), coef_a, coef_b, *(float(p) for p in sg_scalars),
            SG_FN=TRITON_DERIVATIVES[surrogate], SG_ORDER=sg_order,
            KIND=kind, DECAY_INPUT=decay_input, HARD_RESET=hard_reset, RELATIVE=_relative(hard_reset, v_reset),
            DETACH_RESET=detach_reset, fp_fusion=True, block=block,
        )
    elif steps == 0:
        grad_v_init.zero_()
    if k is None:
        grad_k = partials.new_empty(0)
    else:
        grad_k = partials.sum().to(k.dtype).reshape(k.shape)
    return grad_x, grad_v_init, grad_k


@linear_charge_backward_op.register_fake
def _linear_charge_backward_fake(grad_spike, grad_v, h_seq, v_init, k, kind, v_threshold, v_reset, hard_reset,
                                 tau, decay_input, detach_reset, surrogate, sg_scalars, sg_order):
    grad_k = h_seq.new_empty(0, dtype=torch.float32) if k is None else k.new_empty(k.shape)
    return h_seq.new_empty(h_seq.shape), v_init.new_empty(v_init.shape), grad_k


_OPTION_NAMES = ("kind", "v_threshold", "v_reset", "hard_reset", "tau", "decay_input", "detach_reset",
                 "surrogate", "sg_scalars", "sg_order")


def _setup_context(ctx, inputs, output) -> None:
    x_seq, v_init, k, *options, need_h = inputs
    ctx.options = tuple(options)
    ctx.has_h = need_h
    ctx.save_for_backward(output[2], v_init, k)


def _backward(ctx, grad_spike, grad_v, _grad_h):
    h_seq, v_init, k = ctx.saved_tensors
    if not ctx.has_h:
        raise RuntimeError(
            "jelly::triton_linear_charge_fwd ran with need_h=False (no input required grad), so it "
            "saved nothing for the backward; call it through linear_charge_multistep_triton"
        )
    if grad_spike is None:
        grad_spike = torch.zeros_like(h_seq)
    if grad_v is None:
        grad_v = torch.zeros_like(h_seq)
    grad_x, grad_v_init, grad_k = linear_charge_backward_op(grad_spike, grad_v, h_seq, v_init, k, *ctx.options)
    return (grad_x, grad_v_init, grad_k if k is not None else None) + (None,) * (len(_OPTION_NAMES) + 1)


linear_charge_forward_op.register_autograd(_backward, setup_context=_setup_context)


def linear_charge_multistep_triton(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    params: LinearChargeParams,
    surrogate_function,
    w: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step IF/LIF/PLIF with the fused Triton kernels (``[T, N, *]`` in and out).

    Args:
        x_seq: ``[T, N, *]`` input, float32, float16 or bfloat16, on a CUDA device (or on the
            CPU under ``TRITON_INTERPRET=1``).
        v_init: ``[N, *]`` membrane before the first step (cast to ``x_seq``'s dtype).
        params: the neuron's constants.
        surrogate_function: a surrogate with a Triton derivative (every ``jelly.surrogates``
            class except ``PoissonPass``), in spiking mode.
        w: PLIF's learnable scalar (``1/τ = sigmoid(w)``); required for PLIF only.

    Returns:
        ``(spike_seq, v_seq)`` in ``x_seq``'s dtype.

    Raises:
        BackendUnavailableError: the input, dtype or surrogate is not supported here (the
            message says what to use instead).
        ValueError: ``v_init`` does not match one step of ``x_seq``, or PLIF without ``w``.
    """
    raise_if_problem(x_seq)
    surrogate, sg_scalars, sg_order = surrogate_arguments(surrogate_function)
    if x_seq.dim() < 2:
        raise ValueError(f"x_seq must be [T, N, *], got shape {tuple(x_seq.shape)}")
    if tuple(v_init.shape) != tuple(x_seq.shape[1:]):
        raise ValueError(
            f"v_init of shape {tuple(v_init.shape)} does not match one step of x_seq {tuple(x_seq.shape[1:])}"
        )
    kind = KIND_CODES[params.kind]
    k = None
    if kind == _PLIF:
        if w is None:
            raise ValueError("PLIF needs w (1/tau = sigmoid(w))")
        k = torch.sigmoid(w)
    v_init = v_init.to(device=x_seq.device, dtype=x_seq.dtype)
    hard_reset = params.v_reset is not None
    need_h = torch.is_grad_enabled() and (
        x_seq.requires_grad or v_init.requires_grad or (k is not None and k.requires_grad)
    )
    spike_seq, v_seq, _ = linear_charge_forward_op(
        x_seq, v_init, k, kind, params.v_threshold, params.v_reset if hard_reset else 0.0, hard_reset,
        params.tau, params.decay_input, params.detach_reset, surrogate, sg_scalars, sg_order, need_h,
    )
    return spike_seq, v_seq
