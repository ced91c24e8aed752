"""CuPy kernels of CUBA-LIF, Izhikevich, CLIF and KLIF as PyTorch custom ops.

One pair of operators serves the four models, ``jelly_neurons_cupy::multi_state_forward``
and ``..._backward``, each taking the input sequence, up to two initial states and one
scalar parameter tensor, and returning four tensors. A :class:`Model` says, per neuron,
which kernels of which ``kernels/*.cu`` file to launch, how to allocate the outputs and
in what order the kernel takes its arguments:

============ ============ ============ =========================== ==================
model        state 0      state 1      extra output                parameter
============ ============ ============ =========================== ==================
cuba_lif     ``c_init``   ``v_init``   ``c_last``                  -
izhikevich   ``v_init``   ``w_init``   ``w_last``                  -
clif         ``v_init``   ``m_init``   ``m_seq``                   -
klif         ``v_init``   -            - (empty)                   ``k`` (float32, 1)
============ ============ ============ =========================== ==================

Outputs are always ``(spike_seq, v_seq, extra, h_seq)``; ``h_seq`` is what the backward
reads (float32 for KLIF, else the input dtype) and is empty when not training.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from . import loader

_NS = "jelly_neurons_cupy"
F32 = np.float32


@dataclass(frozen=True)
class Model:
    """How to run one neuron model's kernels (see the module docstring)."""

    source: str
    forward_kernel: str
    backward_kernel: str
    extra: str  # 'last' (like a state), 'seq' (like x) or 'none'
    h_float32: bool
    forward_args: Callable
    backward_args: Callable


def _p(t):
    return loader.pointer(t)


def _cuba_forward(x, s0, s1, param, out, c):
    return (_p(x), _p(s0), _p(s1), _p(out[0]), _p(out[1]), _p(out[2]), _p(out[3]), *map(F32, c))


def _cuba_backward(g, h, aux, s0, s1, param, gx, g0, g1, partial, c):
    return (_p(g[0]), _p(g[1]), _p(g[2]), _p(h), _p(gx), _p(g0), _p(g1), *map(F32, c))


def _izh_forward(x, s0, s1, param, out, c):
    return _cuba_forward(x, s0, s1, param, out, c)


def _izh_backward(g, h, aux, s0, s1, param, gx, g0, g1, partial, c):
    return (_p(g[0]), _p(g[1]), _p(g[2]), _p(h), _p(s0), _p(gx), _p(g0), _p(g1), *map(F32, c))


def _clif_forward(x, s0, s1, param, out, c):
    return _cuba_forward(x, s0, s1, param, out, c)


def _clif_backward(g, h, aux, s0, s1, param, gx, g0, g1, partial, c):
    return (_p(g[0]), _p(g[1]), _p(g[2]), _p(h), _p(aux), _p(s1), _p(gx), _p(g0), _p(g1), *map(F32, c))


def _klif_forward(x, s0, s1, param, out, c):
    return (_p(x), _p(s0), _p(out[0]), _p(out[1]), _p(out[3]), _p(param), *map(F32, c))


def _klif_backward(g, h, aux, s0, s1, param, gx, g0, g1, partial, c):
    # consts are (inv_tau, v_r, v_threshold, v_reset); the backward takes no v_r
    return (_p(g[0]), _p(g[1]), _p(h), _p(gx), _p(g0), _p(partial), _p(param), F32(c[0]), F32(c[2]), F32(c[3]))


MODELS: dict[str, Model] = {
    "cuba_lif": Model("cuba_lif.cu", "cuba_lif_forward", "cuba_lif_backward", "last", False, _cuba_forward,
                      _cuba_backward),
    "izhikevich": Model("izhikevich.cu", "izhikevich_forward", "izhikevich_backward", "last", False, _izh_forward,
                        _izh_backward),
    "clif": Model("clif.cu", "clif_forward", "clif_backward", "seq", False, _clif_forward, _clif_backward),
    "klif": Model("klif.cu", "klif_forward", "klif_backward", "none", True, _klif_forward, _klif_backward),
}


def all_variants(ctypes: Sequence[str] = tuple(loader.CTYPES.values()),
                 wide: bool = True, scalar: bool = True) -> Iterator[loader.Variant]:
    """Every instantiation of the four models (what the GPU check compiles in full)."""
    from jelly.surrogates.cuda_sources import supported_surrogate_types

    surrogates = [f"jelly::surrogates::{cls.__name__}" for cls in supported_surrogate_types()]
    resets = ("jelly::neurons::HardReset", "jelly::neurons::SoftReset")
    flags = ("false", "true")
    templates: list[tuple[str, str, str]] = []
    for reset, sg, detach in itertools.product(resets, surrogates, flags):
        templates += [("cuba_lif", reset, f"{reset}, {sg}, {detach}"),
                      ("izhikevich", reset, f"{reset}, {sg}, {detach}")]
        for decay, scale in itertools.product(flags, flags):
            head = f"{reset}, {decay}, {scale}"
            templates.append(("klif", head, f"{head}, {sg}, {detach}"))
    templates += [("clif", "", sg) for sg in surrogates]
    for (model, fwd, bwd), ctype in itertools.product(templates, ctypes):
        for vec in loader.widths(ctype, wide, scalar):
            yield variant(model, fwd, bwd, ctype, vec)


def variant(model: str, forward_args: str, backward_args: str, ctype: str, vec: int) -> loader.Variant:
    """The forward and backward kernels of ``model`` for the template arguments given."""
    m = MODELS[model]
    tail = f"{ctype}, {vec}"
    fwd = f"jelly::neurons::{m.forward_kernel}<{forward_args + ', ' if forward_args else ''}{tail}>"
    bwd = f"jelly::neurons::{m.backward_kernel}<{backward_args + ', ' if backward_args else ''}{tail}>"
    return loader.Variant(m.source, (fwd, bwd))


def _allocate(model: str, x_seq: torch.Tensor, s0: torch.Tensor, save_h: bool):
    m = MODELS[model]
    extra = {"last": lambda: torch.empty_like(s0), "seq": lambda: torch.empty_like(x_seq),
             "none": lambda: x_seq.new_empty(0)}[m.extra]()
    if save_h:
        h_seq = torch.empty_like(x_seq, dtype=torch.float32 if m.h_float32 else x_seq.dtype)
    else:
        h_seq = x_seq.new_empty(0)
    return [torch.empty_like(x_seq), torch.empty_like(x_seq), extra, h_seq]


_SCHEMA_STATIC = "str model, str forward_args, str backward_args, float[] consts, float[] surrogate_params"


@torch.library.custom_op(
    f"{_NS}::multi_state_forward", mutates_args=(),
    schema=f"(Tensor x_seq, Tensor s0, Tensor? s1, Tensor? param, {_SCHEMA_STATIC}, bool save_h) "
    "-> (Tensor, Tensor, Tensor, Tensor)",
)
def multi_state_forward(x_seq: torch.Tensor, s0: torch.Tensor, s1: torch.Tensor | None, param: torch.Tensor | None,
                        model: str, forward_args: str, backward_args: str, consts: list[float],
                        surrogate_params: list[float], save_h: bool):
    """Fused forward of ``model``: ``(spike_seq, v_seq, extra, h_seq)`` (see the module docstring)."""
    out = _allocate(model, x_seq, s0, save_h)
    steps, numel = x_seq.shape[0], s0.numel()
    if steps == 0 or numel == 0:
        return tuple(out)
    vec = loader.vector_width(numel, loader.WIDTHS[loader.CTYPES[x_seq.dtype]], x_seq, s0, s1, *out)
    var = variant(model, forward_args, backward_args, loader.CTYPES[x_seq.dtype], vec)
    args = MODELS[model].forward_args(x_seq, s0, s1, param, [o if o.numel() else None for o in out], consts)
    loader.launch(loader.kernel(var, var.names[0], x_seq.device), -(-numel // vec), x_seq.device,
                  (*args, np.int64(numel), np.int32(steps)))
    return tuple(out)


@multi_state_forward.register_fake
def _multi_state_forward_fake(x_seq, s0, s1, param, model, forward_args, backward_args, consts, surrogate_params,
                              save_h):
    return tuple(_allocate(model, x_seq, s0, save_h))


@torch.library.custom_op(
    f"{_NS}::multi_state_backward", mutates_args=(),
    schema="(Tensor? grad_spike_seq, Tensor? grad_v_seq, Tensor? grad_extra, Tensor h_seq, Tensor? aux, Tensor s0, "
    f"Tensor? s1, Tensor? param, {_SCHEMA_STATIC}, bool param_grad) -> (Tensor, Tensor, Tensor, Tensor)",
)
def multi_state_backward(grad_spike_seq: torch.Tensor | None, grad_v_seq: torch.Tensor | None,
                         grad_extra: torch.Tensor | None, h_seq: torch.Tensor, aux: torch.Tensor | None,
                         s0: torch.Tensor, s1: torch.Tensor | None, param: torch.Tensor | None, model: str,
                         forward_args: str, backward_args: str, consts: list[float], surrogate_params: list[float],
                         param_grad: bool):
    """Fused BPTT of ``model``: ``(grad_x_seq, grad_s0, grad_s1, grad_param)`` (empty where not applicable)."""
    grad_x = torch.empty(h_seq.shape, dtype=s0.dtype, device=h_seq.device)
    grad_s0 = torch.empty_like(s0)
    grad_s1 = torch.empty_like(s1) if s1 is not None else s0.new_empty(0)
    steps, numel = h_seq.shape[0], s0.numel()
    no_param = h_seq.new_empty(0, dtype=torch.float32)
    if steps == 0 or numel == 0:
        grad_s0.zero_()
        grad_s1.zero_()
        return grad_x, grad_s0, grad_s1, (h_seq.new_zeros((), dtype=torch.float32) if param_grad else no_param)
    grads = [None if g is None else g.contiguous() for g in (grad_spike_seq, grad_v_seq, grad_extra)]
    vec = loader.vector_width(numel, loader.WIDTHS[loader.CTYPES[s0.dtype]], h_seq, aux, s0, s1, grad_x, *grads)
    var = variant(model, forward_args, backward_args, loader.CTYPES[s0.dtype], vec)
    threads = -(-numel // vec)
    partial = h_seq.new_empty(-(-threads // loader.BLOCK), dtype=torch.float32) if param_grad else None
    args = MODELS[model].backward_args(grads, h_seq, aux, s0, s1, param, grad_x, grad_s0,
                                       grad_s1 if s1 is not None else None, partial, consts)
    sg = [np.float32(v) for v in surrogate_params]
    loader.launch(loader.kernel(var, var.names[1], h_seq.device), threads, h_seq.device,
                  (*args, *sg, np.int64(numel), np.int32(steps)))
    return grad_x, grad_s0, grad_s1, (partial.sum() if param_grad else no_param)


@multi_state_backward.register_fake
def _multi_state_backward_fake(grad_spike_seq, grad_v_seq, grad_extra, h_seq, aux, s0, s1, param, model,
                               forward_args, backward_args, consts, surrogate_params, param_grad):
    grad_param = h_seq.new_empty((), dtype=torch.float32) if param_grad else h_seq.new_empty(0, dtype=torch.float32)
    grad_s1 = torch.empty_like(s1) if s1 is not None else s0.new_empty(0)
    return (torch.empty(h_seq.shape, dtype=s0.dtype, device=h_seq.device), torch.empty_like(s0), grad_s1, grad_param)


_STATIC = ("model", "forward_args", "backward_args", "consts", "surrogate_params")


def _setup_context(ctx, inputs, output):
    x_seq, s0, s1, param, *static, save_h = inputs
    _, _, extra, h_seq = output
    ctx.static = dict(zip(_STATIC, static))
    ctx.has_s1, ctx.has_param, ctx.save_h = s1 is not None, param is not None, save_h
    aux = extra if MODELS[static[0]].extra == "seq" else None
    ctx.save_for_backward(h_seq, aux, s0, s1, param)
    ctx.mark_non_differentiable(h_seq)
    ctx.set_materialize_grads(False)


def _backward(ctx, grad_spike_seq, grad_v_seq, grad_extra, _grad_h):
    if not ctx.save_h:
        raise RuntimeError(f"{_NS}::multi_state_forward ran with save_h=False; it cannot be differentiated")
    h_seq, aux, s0, s1, param = ctx.saved_tensors
    want_param = ctx.has_param and ctx.needs_input_grad[3]
    if MODELS[ctx.static["model"]].extra == "none":
        grad_extra = None
    if grad_spike_seq is None and grad_v_seq is None and grad_extra is None:
        zeros = (torch.zeros(h_seq.shape, dtype=s0.dtype, device=s0.device), torch.zeros_like(s0),
                 torch.zeros_like(s1) if s1 is not None else None, torch.zeros_like(param) if want_param else None)
        return (*zeros, *([None] * 6))
    grad_x, grad_s0, grad_s1, grad_param = multi_state_backward(
        grad_spike_seq, grad_v_seq, grad_extra, h_seq, aux, s0, s1, param, *ctx.static.values(), want_param
    )
    return (grad_x, grad_s0, grad_s1 if ctx.has_s1 else None,
            grad_param.reshape(param.shape).to(param.dtype) if want_param else None, *([None] * 6))


multi_state_forward.register_autograd(_backward, setup_context=_setup_context)


def run_multi_state(model: str, x_seq: torch.Tensor, s0: torch.Tensor, s1: torch.Tensor | None,
                    param: torch.Tensor | None, forward_args: str, backward_args: str, consts: list[float],
                    surrogate_params: tuple[float, ...]) -> tuple[torch.Tensor, ...]:
    """Run ``model`` on ``[T, N, *]`` input: ``(spike_seq, v_seq, extra)`` (``extra`` per :data:`MODELS`)."""
    for name, state in (("s0", s0), ("s1", s1)):
        if state is not None and state.shape != x_seq.shape[1:]:
            raise ValueError(f"{model}: initial state {name} of shape {tuple(state.shape)} does not match one step "
                             f"of x_seq {tuple(x_seq.shape)}")
    x_seq = x_seq.contiguous()
    s0 = s0.to(dtype=x_seq.dtype).contiguous()
    s1 = None if s1 is None else s1.to(dtype=x_seq.dtype).contiguous()
    save_h = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x_seq, s0, s1, param)
    )
    spikes, v_seq, extra, _ = multi_state_forward(x_seq, s0, s1, param, model, forward_args, backward_args,
                                                   [float(c) for c in consts], list(surrogate_params), save_h)
    return spikes, v_seq, extra
