"""LIAF Triton kernels as ``torch.library`` custom ops, and the backend function.

* ``jelly::triton_liaf_fwd(x_seq, v_init, ...) -> (h_seq, v_seq)`` runs
  :func:`~.liaf_kernels.liaf_forward_kernel`: the LIF recurrence of LIAF, returning the
  charged membranes (the input of ``act``) and the post-reset membranes.
* ``jelly::triton_liaf_bwd(grad_h, grad_v, h_seq, ...) -> (grad_x, grad_v_init)`` runs the
  backward kernel; either incoming gradient may be ``None`` (not read at all).

:func:`liaf_multistep_triton` then applies ``act`` to ``h_seq`` with ordinary autograd
(:func:`~jelly.neurons.functional.liaf.liaf_output`), exactly as the ``torch`` backend does,
so any activation works. The op saves nothing but its own output ``h_seq``. As in
:mod:`.linear_charge_ops`, all op arguments are tensors and plain numbers (the surrogate
travels as its class name, three scalars and an order) and nothing synchronises with the
host, so ``torch.compile`` traces the op without graph breaks.

Every option of the ``torch`` backend is supported: hard reset (any ``v_reset``) and soft
reset, ``decay_input``, ``detach_reset``, ``threshold_related``, any ``act``, float32,
float16 and bfloat16 I/O (float32 compute).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

from ...functional.integrate_fire import LinearChargeParams
from ...functional.liaf import liaf_output
from .availability import raise_if_problem
from .launch import (
    check_kernel_mode,
    flat_steps,
    launch_per_block,
    saved_h_guard,
    surrogate_arguments,
    tau_argument,
)
from .liaf_kernels import liaf_backward_kernel, liaf_forward_kernel

__all__ = ["liaf_backward_op", "liaf_forward_op", "liaf_multistep_triton"]


@torch.library.custom_op("jelly::triton_liaf_fwd", mutates_args=())
def liaf_forward_op(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    tau: float,
    decay_input: bool,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fused LIAF recurrence; returns ``(h_seq, v_seq)`` in ``x_seq``'s dtype.

    ``v_reset`` is ignored unless ``hard_reset``; ``detach_reset`` and the surrogate
    arguments only matter to the backward.
    """
    x = x_seq.contiguous()
    h_seq, v_seq = torch.empty_like(x), torch.empty_like(x)
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return h_seq, v_seq
    check_kernel_mode(liaf_forward_kernel, x)
    cuda = x.device.type == "cuda"
    guard_h, below, above = saved_h_guard(True, v_threshold, x.dtype)  # h is always saved
    launch_per_block(
        liaf_forward_kernel, x, numel,
        x, v_init.contiguous(), h_seq, v_seq, steps, numel,
        float(v_threshold), float(v_reset), tau_argument(tau, cuda), below, above,
        DECAY_INPUT=decay_input, HARD_RESET=hard_reset, RELATIVE=hard_reset and v_reset != 0.0,
        RECIPROCAL=cuda, GUARD_H=guard_h, fp_fusion=False,
    )
    return h_seq, v_seq


@liaf_forward_op.register_fake
def _forward_fake(x_seq, v_init, *options):
    return x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape)


@torch.library.custom_op("jelly::triton_liaf_bwd", mutates_args=())
def liaf_backward_op(
    grad_h: torch.Tensor | None,
    grad_v: torch.Tensor | None,
    h_seq: torch.Tensor,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    tau: float,
    decay_input: bool,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fused LIAF backward through time; returns ``(grad_x, grad_v_init)``.

    ``grad_h``/``grad_v`` are the gradients of ``h_seq``/``v_seq`` (``None``: zero).
    """
    h = h_seq.contiguous()
    grad_x = torch.empty_like(h)
    grad_v_init = h.new_empty(h.shape[1:])
    steps, numel = flat_steps(h)
    if steps == 0:
        return grad_x, grad_v_init.zero_()
    if numel == 0:
        return grad_x, grad_v_init
    check_kernel_mode(liaf_backward_kernel, h)
    coef_a, coef_b = 1.0 - 1.0 / tau, (1.0 / tau if decay_input else 1.0)
    launch_per_block(
        liaf_backward_kernel, h, numel,
        h if grad_h is None else grad_h.contiguous(), h if grad_v is None else grad_v.contiguous(), h,
        grad_x, grad_v_init, steps, numel,
        float(v_threshold), float(v_reset), coef_a, coef_b, *(float(p) for p in sg_scalars),
        SG_FN=TRITON_DERIVATIVES[surrogate], SG_ORDER=sg_order, HARD_RESET=hard_reset,
        DETACH_RESET=detach_reset, HAS_GRAD_H=grad_h is not None, HAS_GRAD_V=grad_v is not None,
        fp_fusion=True,
    )
    return grad_x, grad_v_init


@liaf_backward_op.register_fake
def _backward_fake(grad_h, grad_v, h_seq, *options):
    return h_seq.new_empty(h_seq.shape), h_seq.new_empty(h_seq.shape[1:])


def _setup_context(ctx, inputs, output) -> None:
    _x_seq, _v_init, *options = inputs
    ctx.options = tuple(options)
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(output[0])


def _backward(ctx, grad_h, grad_v):
    (h_seq,) = ctx.saved_tensors
    grad_x, grad_v_init = liaf_backward_op(grad_h, grad_v, h_seq, *ctx.options)
    return (grad_x, grad_v_init) + (None,) * len(ctx.options)


liaf_forward_op.register_autograd(_backward, setup_context=_setup_context)


def liaf_multistep_triton(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    params: LinearChargeParams,
    act: Callable[[torch.Tensor], torch.Tensor],
    threshold_related: bool,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step LIAF: the fused Triton recurrence, then ``act`` with ordinary autograd.

    Args:
        x_seq: ``[T, N, *]`` input, float32, float16 or bfloat16, on a CUDA device (or on the
            CPU under ``TRITON_INTERPRET=1``).
        v_init: ``[N, *]`` membrane before the first step (cast to ``x_seq``'s dtype).
        params: the LIF constants (``params.kind`` must be ``'lif'``).
        act: the activation of the analog output.
        threshold_related: output ``act(h - v_th)`` if ``True``, else ``act(h)``.
        surrogate_function: a spiking surrogate with a Triton derivative (its gradient
            flows through the reset unless ``params.detach_reset``).

    Returns:
        ``(y_seq, v_seq)`` in ``x_seq``'s dtype.

    Raises:
        BackendUnavailableError: the input, dtype or surrogate is not supported here (the
            message says what to use instead).
        ValueError: ``x_seq``/``v_init`` shapes do not match, or ``params.kind`` is not ``'lif'``.
    """
    raise_if_problem(x_seq)
    surrogate, sg_scalars, sg_order = surrogate_arguments(surrogate_function)
    if x_seq.dim() < 2 or tuple(v_init.shape) != tuple(x_seq.shape[1:]):
        raise ValueError(
            f"LIAF: x_seq must be [T, N, *] and v_init one step of it; got x_seq {tuple(x_seq.shape)} "
            f"and v_init {tuple(v_init.shape)}"
        )
    if params.kind != "lif":
        raise ValueError(f"LIAF runs a LIF recurrence: params.kind must be 'lif', got {params.kind!r}")
    v_init = v_init.to(device=x_seq.device, dtype=x_seq.dtype)
    hard_reset = params.v_reset is not None
    h_seq, v_seq = liaf_forward_op(
        x_seq, v_init, params.v_threshold, params.v_reset if hard_reset else 0.0, hard_reset, params.tau,
        params.decay_input, params.detach_reset, surrogate, sg_scalars, sg_order,
    )
    return liaf_output(h_seq, params.v_threshold, act, threshold_related), v_seq
