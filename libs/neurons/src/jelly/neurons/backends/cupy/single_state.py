"""CuPy kernels of the single-state neurons (IF, LIF, PLIF, QIF, EIF) as PyTorch custom ops.

Two operators, ``jelly_cupy::single_state_forward`` and ``jelly_cupy::single_state_backward``,
wrap the fused kernels of ``kernels/single_state.cuh`` (one launch over all ``T`` steps
each). They are ``torch.library.custom_op`` s with fake (meta) implementations and an
autograd formula, so ``torch.compile`` traces through them and CUDA graphs can capture
them (nothing synchronises with the host: PLIF's ``k = sigmoid(w)`` is read by the kernel
from device memory).

The neuron is named by its C++ functor (``jelly::neurons::LIF<true>``) and packed float
parameters; :func:`neuron_spec` builds those from the ``params`` objects of
:mod:`jelly.neurons.functional`. This file gives the operator
``from __future__ import annotations`` annotations are fine: the op schemas are spelled out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from jelly.surrogates.cuda_sources import CudaSurrogate

from . import loader

_NS = "jelly_neurons_cupy"


@dataclass(frozen=True)
class NeuronSpec:
    """A single-state neuron as the kernels see it.

    Attributes:
        source: the ``kernels/`` file defining the functor.
        functor: C++ type of the neuron (template argument).
        params: four floats ``p0..p3`` for ``Neuron::make``.
        reset: ``'HardReset'`` or ``'SoftReset'``.
        v_threshold: firing threshold.
        v_reset: reset potential (0.0 with soft reset, where it is unused).
        detach_reset: drop the surrogate term of the reset's derivative.
    """

    source: str
    functor: str
    params: tuple[float, float, float, float]
    reset: str
    v_threshold: float
    v_reset: float
    detach_reset: bool


def _f32(value: float) -> float:
    return float(np.float32(value))


def _reciprocal(value: float) -> float:
    """``float32(1) / float32(value)``: what PyTorch multiplies by when dividing by a Python number on a GPU."""
    return float(np.float32(1.0) / np.float32(value))


def _pad(*values: float) -> tuple[float, float, float, float]:
    return tuple(_f32(v) for v in values) + (0.0,) * (4 - len(values))  # type: ignore[return-value]


def _reset_fields(v_threshold: float, v_reset: float | None, detach_reset: bool) -> dict:
    return {
        "reset": "SoftReset" if v_reset is None else "HardReset",
        "v_threshold": _f32(v_threshold),
        "v_reset": 0.0 if v_reset is None else _f32(v_reset),
        "detach_reset": bool(detach_reset),
    }


def linear_charge_spec(params) -> NeuronSpec:
    """Spec of an IF/LIF/PLIF neuron from its :class:`~jelly.neurons.functional.integrate_fire.LinearChargeParams`."""
    v_r = 0.0 if params.v_reset is None else params.v_reset
    decay = "true" if params.decay_input else "false"
    if params.kind == "if":
        functor, packed = "IF", _pad()
    elif params.kind == "lif":
        functor, packed = f"LIF<{decay}>", _pad(_reciprocal(params.tau), v_r, 1.0 - 1.0 / params.tau)
    else:
        functor, packed = f"PLIF<{decay}>", _pad(0.0, v_r)
    return NeuronSpec("linear_charge.cu", f"jelly::neurons::{functor}", packed,
                      **_reset_fields(params.v_threshold, params.v_reset, params.detach_reset))


def qif_spec(params) -> NeuronSpec:
    """Spec of a QIF neuron from its :class:`~jelly.neurons.functional.nonlinear_if.QIFParams`."""
    packed = _pad(_reciprocal(params.tau), params.a0, params.v_rest, params.v_c)
    return NeuronSpec("nonlinear_if.cu", "jelly::neurons::QIF", packed,
                      **_reset_fields(params.v_threshold, params.v_reset, params.detach_reset))


def eif_spec(params) -> NeuronSpec:
    """Spec of an EIF neuron from its :class:`~jelly.neurons.functional.nonlinear_if.EIFParams`."""
    packed = _pad(_reciprocal(params.tau), params.delta_T, params.theta_rh, params.v_rest)
    return NeuronSpec("nonlinear_if.cu", "jelly::neurons::EIF", packed,
                      **_reset_fields(params.v_threshold, params.v_reset, params.detach_reset))


def variant_names(source: str, functor: str, reset: str, surrogate: str, detach_reset: bool, ctype: str,
                  vec: int) -> loader.Variant:
    """The forward and backward kernels of one instantiation (see :class:`loader.Variant`)."""
    reset_type = f"jelly::neurons::{reset}"
    forward = loader.template_name("single_state_forward", functor, reset_type, ctype, vec)
    backward = loader.template_name("single_state_backward", functor, reset_type, surrogate, bool(detach_reset),
                                    ctype, vec)
    return loader.Variant(source, (forward, backward))


#: Neuron functors of each source file (template arguments, without the namespace).
FUNCTORS = {
    "linear_charge.cu": ("IF", "LIF<true>", "LIF<false>", "PLIF<true>", "PLIF<false>"),
    "nonlinear_if.cu": ("QIF", "EIF"),
}
RESETS = ("HardReset", "SoftReset")


def all_variants(ctypes: Sequence[str] = tuple(loader.CTYPES.values()),
                 wide: bool = True, scalar: bool = True) -> Iterator[loader.Variant]:
    """Every instantiation the backend can launch: source x neuron x reset x surrogate x
    detach_reset x dtype x vector width (the dtype's 16-byte width if ``wide``, 1 if
    ``scalar``); what the GPU check compiles in full."""
    from jelly.surrogates.cuda_sources import supported_surrogate_types

    surrogates = [f"jelly::surrogates::{cls.__name__}" for cls in supported_surrogate_types()]
    for source, functors in FUNCTORS.items():
        for functor, reset, surrogate, detach, ctype in itertools.product(
            functors, RESETS, surrogates, (False, True), ctypes
        ):
            for vec in loader.widths(ctype, wide, scalar):
                yield variant_names(source, f"jelly::neurons::{functor}", reset, surrogate, detach, ctype, vec)


# --------------------------------------------------------------------------- custom ops
_STATIC_SCHEMA = ("str source, str functor, float[] params, str reset, float v_threshold, float v_reset, "
                  "str surrogate, float[] surrogate_params, bool detach_reset")


@torch.library.custom_op(
    f"{_NS}::single_state_forward",
    mutates_args=(),
    schema=f"(Tensor x_seq, Tensor v_init, Tensor? tensor_param, {_STATIC_SCHEMA}, bool save_h) "
    "-> (Tensor, Tensor, Tensor)",
)
def single_state_forward(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    tensor_param: torch.Tensor | None,
    source: str,
    functor: str,
    params: list[float],
    reset: str,
    v_threshold: float,
    v_reset: float,
    surrogate: str,
    surrogate_params: list[float],
    detach_reset: bool,
    save_h: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused multi-step forward: ``(spike_seq, v_seq, h_seq)`` (``h_seq`` empty unless ``save_h``).

    ``surrogate``/``surrogate_params``/``detach_reset`` are not used by the forward; they
    select the compiled variant (forward and backward are built together) and are kept
    for the backward.
    """
    spike_seq = torch.empty_like(x_seq)
    v_seq = torch.empty_like(x_seq)
    h_seq = torch.empty_like(x_seq) if save_h else x_seq.new_empty(0)
    steps = x_seq.shape[0]
    numel = v_init.numel()
    if steps == 0 or numel == 0:
        return spike_seq, v_seq, h_seq
    vec = loader.vector_width(numel, loader.WIDTHS[loader.CTYPES[x_seq.dtype]], x_seq, v_init, spike_seq, v_seq,
                              h_seq if save_h else None)
    variant = variant_names(source, functor, reset, surrogate, detach_reset, loader.CTYPES[x_seq.dtype], vec)
    function = loader.kernel(variant, variant.names[0], x_seq.device)
    p = [np.float32(v) for v in params]
    loader.launch(function, -(-numel // vec), x_seq.device, (
        loader.pointer(x_seq), loader.pointer(v_init), loader.pointer(spike_seq), loader.pointer(v_seq),
        loader.pointer(h_seq if save_h else None), loader.pointer(tensor_param), *p,
        np.float32(v_threshold), np.float32(v_reset), np.int64(numel), np.int32(steps),
    ))
    return spike_seq, v_seq, h_seq


@single_state_forward.register_fake
def _single_state_forward_fake(x_seq, v_init, tensor_param, source, functor, params, reset, v_threshold, v_reset,
                               surrogate, surrogate_params, detach_reset, save_h):
    h_seq = torch.empty_like(x_seq) if save_h else x_seq.new_empty(0)
    return torch.empty_like(x_seq), torch.empty_like(x_seq), h_seq


@torch.library.custom_op(
    f"{_NS}::single_state_backward",
    mutates_args=(),
    schema=f"(Tensor? grad_spike_seq, Tensor? grad_v_seq, Tensor? grad_h_seq, Tensor h_seq, Tensor v_init, "
    "Tensor? tensor_param, "
    f"{_STATIC_SCHEMA}, bool param_grad) -> (Tensor, Tensor, Tensor)",
)
def single_state_backward(
    grad_spike_seq: torch.Tensor | None,
    grad_v_seq: torch.Tensor | None,
    grad_h_seq: torch.Tensor | None,
    h_seq: torch.Tensor,
    v_init: torch.Tensor,
    tensor_param: torch.Tensor | None,
    source: str,
    functor: str,
    params: list[float],
    reset: str,
    v_threshold: float,
    v_reset: float,
    surrogate: str,
    surrogate_params: list[float],
    detach_reset: bool,
    param_grad: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fused BPTT: ``(grad_x_seq, grad_v_init, grad_param)``.

    ``grad_param`` is ``dL/d tensor_param[0]`` as a float32 0-d tensor when ``param_grad``
    (PLIF's ``k``), else an empty tensor. A ``None`` incoming gradient counts as zero.
    """
    grad_x_seq = torch.empty_like(h_seq)
    grad_v_init = torch.empty_like(v_init)
    steps = h_seq.shape[0]
    numel = v_init.numel()
    if steps == 0 or numel == 0:
        grad_v_init.zero_()
        grad_param = h_seq.new_zeros((), dtype=torch.float32) if param_grad else h_seq.new_empty(0, dtype=torch.float32)
        return grad_x_seq, grad_v_init, grad_param
    grad_spike_seq = None if grad_spike_seq is None else grad_spike_seq.contiguous()
    grad_v_seq = None if grad_v_seq is None else grad_v_seq.contiguous()
    grad_h_seq = None if grad_h_seq is None else grad_h_seq.contiguous()
    vec = loader.vector_width(numel, loader.WIDTHS[loader.CTYPES[h_seq.dtype]], h_seq, v_init, grad_x_seq,
                              grad_spike_seq, grad_v_seq, grad_h_seq)
    variant = variant_names(source, functor, reset, surrogate, detach_reset, loader.CTYPES[h_seq.dtype], vec)
    function = loader.kernel(variant, variant.names[1], h_seq.device)
    threads = -(-numel // vec)
    partial = h_seq.new_empty(max(1, -(-threads // loader.BLOCK)), dtype=torch.float32) if param_grad else None
    p = [np.float32(v) for v in params]
    sg = [np.float32(v) for v in surrogate_params]
    loader.launch(function, threads, h_seq.device, (
        loader.pointer(grad_spike_seq), loader.pointer(grad_v_seq), loader.pointer(grad_h_seq), loader.pointer(h_seq),
        loader.pointer(v_init),
        loader.pointer(grad_x_seq), loader.pointer(grad_v_init), loader.pointer(partial), loader.pointer(tensor_param),
        *p, np.float32(v_threshold), np.float32(v_reset), *sg, np.int64(numel), np.int32(steps),
    ))
    grad_param = partial.sum() if param_grad else h_seq.new_empty(0, dtype=torch.float32)
    return grad_x_seq, grad_v_init, grad_param


@single_state_backward.register_fake
def _single_state_backward_fake(grad_spike_seq, grad_v_seq, grad_h_seq, h_seq, v_init, tensor_param, source, functor,
                                params, reset, v_threshold, v_reset, surrogate, surrogate_params, detach_reset,
                                param_grad):
    grad_param = h_seq.new_empty((), dtype=torch.float32) if param_grad else h_seq.new_empty(0, dtype=torch.float32)
    return torch.empty_like(h_seq), torch.empty_like(v_init), grad_param


_STATIC = ("source", "functor", "params", "reset", "v_threshold", "v_reset", "surrogate", "surrogate_params",
           "detach_reset")


def _setup_context(ctx, inputs, output):
    x_seq, v_init, tensor_param, *static, save_h = inputs
    _, _, h_seq = output
    ctx.static = dict(zip(_STATIC, static))
    ctx.has_param = tensor_param is not None
    ctx.save_for_backward(h_seq, v_init, tensor_param)
    ctx.set_materialize_grads(False)
    if not save_h:
        ctx.missing_h = True


def _backward(ctx, grad_spike_seq, grad_v_seq, grad_h_seq):
    if getattr(ctx, "missing_h", False):
        raise RuntimeError(f"{_NS}::single_state_forward ran with save_h=False; it cannot be differentiated")
    h_seq, v_init, tensor_param = ctx.saved_tensors
    want_param = ctx.has_param and ctx.needs_input_grad[2]
    if grad_h_seq is not None and grad_h_seq.numel() == 0:
        grad_h_seq = None
    if grad_spike_seq is None and grad_v_seq is None and grad_h_seq is None:
        grad_param = torch.zeros_like(tensor_param) if want_param else None
        return torch.zeros_like(h_seq), torch.zeros_like(v_init), grad_param, *([None] * 10)
    grad_x_seq, grad_v_init, grad_param = single_state_backward(
        grad_spike_seq, grad_v_seq, grad_h_seq, h_seq, v_init, tensor_param, *ctx.static.values(), want_param
    )
    grad_tensor_param = grad_param.reshape(tensor_param.shape).to(tensor_param.dtype) if want_param else None
    return grad_x_seq, grad_v_init, grad_tensor_param, *([None] * 10)


single_state_forward.register_autograd(_backward, setup_context=_setup_context)


# --------------------------------------------------------------------------- entry point
def run_single_state(x_seq: torch.Tensor, v_init: torch.Tensor, spec: NeuronSpec, surrogate: CudaSurrogate,
                     tensor_param: torch.Tensor | None = None, return_h: bool = False):
    """Multi-step forward of a single-state neuron on the GPU: ``(spike_seq, v_seq)``, both ``[T, N, *]``.

    With ``return_h`` also the charged membranes ``h_seq`` (differentiable; LIAF's output is a
    function of them): ``(spike_seq, v_seq, h_seq)``.
    """
    if v_init.shape != x_seq.shape[1:]:
        raise ValueError(f"v_init of shape {tuple(v_init.shape)} does not match one step of x_seq "
                         f"{tuple(x_seq.shape)}")
    x_seq = x_seq.contiguous()
    v_init = v_init.to(dtype=x_seq.dtype).contiguous()
    needs_grad = torch.is_grad_enabled() and (
        x_seq.requires_grad or v_init.requires_grad or (tensor_param is not None and tensor_param.requires_grad)
    )
    spike_seq, v_seq, h_seq = single_state_forward(
        x_seq, v_init, tensor_param, spec.source, spec.functor, list(spec.params), spec.reset, spec.v_threshold,
        spec.v_reset, surrogate.name, list(surrogate.params), spec.detach_reset, needs_grad or return_h,
    )
    return (spike_seq, v_seq, h_seq) if return_h else (spike_seq, v_seq)


def plif_k(w: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``k = sigmoid(w)`` as a 1-element float32 tensor on ``device`` (differentiable in ``w``)."""
    return torch.sigmoid(w.to(device=device, dtype=torch.float32)).reshape(1)


__all__ = [
    "NeuronSpec",
    "FUNCTORS",
    "RESETS",
    "all_variants",
    "eif_spec",
    "linear_charge_spec",
    "plif_k",
    "qif_spec",
    "run_single_state",
    "single_state_backward",
    "single_state_forward",
    "variant_names",
]

