"""KLIF Triton kernels as ``torch.library`` custom ops, and the backend function.

* ``jelly::triton_klif_fwd(x_seq, v_init, k, ...) -> (spike_seq, v_seq, h_seq)`` runs
  :func:`~.klif_kernels.klif_forward_kernel`; ``h_seq`` (the LIF charge, all the backward
  needs) is written only when ``need_h`` (some input requires a gradient), else it is empty.
* ``jelly::triton_klif_bwd(grad_spike, grad_v, h_seq, k, ...) -> (grad_x, grad_v_init,
  grad_k)`` runs the backward kernel; either incoming gradient may be ``None`` (not read),
  and ``grad_k`` is the sum of the per-program float32 partials (added with ``torch.sum``,
  so nothing synchronises with the host).

``k`` enters the ops as a one-element float32 tensor whatever the I/O dtype (the wrapper
casts it; autograd casts its gradient back). Every option of the ``torch`` backend is
supported: hard reset (any ``v_reset``) and soft reset, ``decay_input``, ``scale_reset``,
``detach_reset``, the gradient of ``k``, float32, float16 and bfloat16 I/O (float32
compute). All op arguments are tensors and plain numbers, so ``torch.compile`` traces the
ops without graph breaks.
"""

from __future__ import annotations

import torch
import triton

from jelly.surrogates.triton_derivatives import TRITON_DERIVATIVES

from ...functional.klif import KLIFParams
from .availability import raise_if_problem
from .klif_kernels import klif_backward_kernel, klif_forward_kernel
from .launch import (
    block_size,
    check_kernel_mode,
    flat_steps,
    launch_per_block,
    surrogate_arguments,
    tau_argument,
)

__all__ = ["klif_backward_op", "klif_forward_op", "klif_multistep_triton"]


@torch.library.custom_op("jelly::triton_klif_fwd", mutates_args=())
def klif_forward_op(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    k: torch.Tensor,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    tau: float,
    decay_input: bool,
    scale_reset: bool,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
    need_h: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused KLIF forward; returns ``(spike_seq, v_seq, h_seq)`` (``h_seq`` empty unless ``need_h``).

    ``k`` is a one-element float32 tensor; ``v_reset`` is ignored unless ``hard_reset``.
    """
    x = x_seq.contiguous()
    spike_seq, v_seq = torch.empty_like(x), torch.empty_like(x)
    h_seq = torch.empty_like(x) if need_h else x.new_empty(0)
    steps, numel = flat_steps(x)
    if steps == 0 or numel == 0:
        return spike_seq, v_seq, h_seq
    check_kernel_mode(klif_forward_kernel, x)
    cuda = x.device.type == "cuda"
    launch_per_block(
        klif_forward_kernel, x, numel,
        x, v_init.contiguous(), k.contiguous(), spike_seq, v_seq, h_seq if need_h else x, steps, numel,
        float(v_threshold), float(v_reset), tau_argument(tau, cuda),
        DECAY_INPUT=decay_input, HARD_RESET=hard_reset, RELATIVE=hard_reset and v_reset != 0.0,
        SCALE_RESET=scale_reset, RECIPROCAL=cuda, STORE_H=need_h, GUARD_H=need_h and x.dtype != torch.float32,
        fp_fusion=False,
    )
    return spike_seq, v_seq, h_seq


@klif_forward_op.register_fake
def _forward_fake(x_seq, v_init, k, *options):
    need_h = options[-1]
    h_seq = x_seq.new_empty(x_seq.shape) if need_h else x_seq.new_empty(0)
    return x_seq.new_empty(x_seq.shape), x_seq.new_empty(x_seq.shape), h_seq


@torch.library.custom_op("jelly::triton_klif_bwd", mutates_args=())
def klif_backward_op(
    grad_spike: torch.Tensor | None,
    grad_v: torch.Tensor | None,
    h_seq: torch.Tensor,
    k: torch.Tensor,
    v_threshold: float,
    v_reset: float,
    hard_reset: bool,
    tau: float,
    decay_input: bool,
    scale_reset: bool,
    detach_reset: bool,
    surrogate: str,
    sg_scalars: list[float],
    sg_order: int,
    need_k: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused KLIF backward through time; returns ``(grad_x, grad_v_init, grad_k)``.

    ``grad_k`` has ``k``'s shape and dtype (zeros unless ``need_k``); ``None`` incoming
    gradients count as zeros.
    """
    h = h_seq.contiguous()
    grad_x = torch.empty_like(h)
    grad_v_init = h.new_empty(h.shape[1:])
    steps, numel = flat_steps(h)
    block = block_size(numel, h.device)
    programs = triton.cdiv(numel, block) if numel else 0
    partials = torch.zeros(programs if need_k else 0, dtype=torch.float32, device=h.device)
    if steps and numel:
        check_kernel_mode(klif_backward_kernel, h)
        coef_a, coef_b = 1.0 - 1.0 / tau, (1.0 / tau if decay_input else 1.0)
        launch_per_block(
            klif_backward_kernel, h, numel,
            h if grad_spike is None else grad_spike.contiguous(), h if grad_v is None else grad_v.contiguous(),
            h, k.contiguous(), grad_x, grad_v_init, partials if need_k else grad_x, steps, numel,
            float(v_threshold), float(v_reset), coef_a, coef_b, *(float(p) for p in sg_scalars),
            SG_FN=TRITON_DERIVATIVES[surrogate], SG_ORDER=sg_order, HARD_RESET=hard_reset,
            SCALE_RESET=scale_reset, DETACH_RESET=detach_reset, HAS_GRAD_SPIKE=grad_spike is not None,
            HAS_GRAD_V=grad_v is not None, NEED_K=need_k, fp_fusion=True, block=block,
        )
    elif steps == 0:
        grad_v_init.zero_()
    return grad_x, grad_v_init, partials.sum().to(k.dtype).expand(k.shape).clone()


@klif_backward_op.register_fake
def _backward_fake(grad_spike, grad_v, h_seq, k, *options):
    return h_seq.new_empty(h_seq.shape), h_seq.new_empty(h_seq.shape[1:]), k.new_empty(k.shape)


def _setup_context(ctx, inputs, output) -> None:
    _x_seq, _v_init, k, *options, need_h = inputs
    ctx.options = tuple(options)
    ctx.has_h = need_h
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(output[2], k)


def _backward(ctx, grad_spike, grad_v, _grad_h):
    h_seq, k = ctx.saved_tensors
    if not ctx.has_h:
        raise RuntimeError(
            "jelly::triton_klif_fwd ran with need_h=False (no input required grad), so it saved nothing for "
            "the backward; call it through klif_multistep_triton"
        )
    need_k = ctx.needs_input_grad[2]
    grad_x, grad_v_init, grad_k = klif_backward_op(grad_spike, grad_v, h_seq, k, *ctx.options, need_k)
    return (grad_x, grad_v_init, grad_k if need_k else None) + (None,) * (len(ctx.options) + 1)


klif_forward_op.register_autograd(_backward, setup_context=_setup_context)


def klif_multistep_triton(
    x_seq: torch.Tensor, v_init: torch.Tensor, k: torch.Tensor, params: KLIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multi-step KLIF with the fused Triton kernels (``[T, N, *]`` in and out).

    Args:
        x_seq: ``[T, N, *]`` input, float32, float16 or bfloat16, on a CUDA device (or on the
            CPU under ``TRITON_INTERPRET=1``).
        v_init: ``[N, *]`` membrane before the first step (cast to ``x_seq``'s dtype).
        k: the learnable scale, a one-element tensor (its gradient is computed when it
            requires one).
        params: the neuron's constants.
        surrogate_function: a spiking surrogate with a Triton derivative.

    Returns:
        ``(spike_seq, v_seq)`` in ``x_seq``'s dtype.

    Raises:
        BackendUnavailableError: the input, dtype or surrogate is not supported here (the
            message says what to use instead).
        ValueError: ``v_init`` does not match one step of ``x_seq``, or ``k`` is not one element.
    """
    raise_if_problem(x_seq)
    surrogate, sg_scalars, sg_order = surrogate_arguments(surrogate_function)
    if x_seq.dim() < 2 or tuple(v_init.shape) != tuple(x_seq.shape[1:]):
        raise ValueError(
            f"KLIF: x_seq must be [T, N, *] and v_init one step of it; got x_seq {tuple(x_seq.shape)} "
            f"and v_init {tuple(v_init.shape)}"
        )
    if not isinstance(k, torch.Tensor) or k.numel() != 1:
        shape = tuple(k.shape) if isinstance(k, torch.Tensor) else type(k).__name__
        raise ValueError(f"KLIF: k must be a one-element tensor (the learnable scale), got {shape}")
    v_init = v_init.to(device=x_seq.device, dtype=x_seq.dtype)
    k32 = k.to(device=x_seq.device, dtype=torch.float32)
    hard_reset = params.v_reset is not None
    need_h = torch.is_grad_enabled() and (x_seq.requires_grad or v_init.requires_grad or k32.requires_grad)
    spike_seq, v_seq, _ = klif_forward_op(
        x_seq, v_init, k32, params.v_threshold, params.v_reset if hard_reset else 0.0, hard_reset, params.tau,
        params.decay_input, params.scale_reset, params.detach_reset, surrogate, sg_scalars, sg_order, need_h,
    )
    return spike_seq, v_seq
