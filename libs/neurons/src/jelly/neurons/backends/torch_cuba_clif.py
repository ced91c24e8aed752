r"""Fused BPTT (``torch`` backend) of the two-state CUBA-LIF and CLIF neurons.

**CUBA-LIF** (:mod:`jelly.neurons.functional.cuba_lif`) saves **only the charged
membrane** ``h[t]`` (one value per element per step): every other relation is linear with
constant coefficients. With ``σ[t] = g'(h[t] - v_th)``::

    h̄[t]   = s̄[t] σ[t] + v̄[t] ∂v[t]/∂h[t]
    v̄[t-1] = v̄_out[t-1] + v_decay h̄[t]
    c̄[t]   = c̄[t] (from c[t+1] and the output) + h̄[t],    x̄[t] = c̄[t],
    c̄[t-1] = c_decay c̄[t]

**CLIF** (:mod:`jelly.neurons.functional.clif`) saves ``h[t]`` and the complementary
potential ``m[t]`` (two values per element per step; ``m[t]`` is also an output, so keeping
it costs nothing more when the caller holds it) and ``m_init``; the backward is written out
in that module's docstring.
"""

from __future__ import annotations

import torch

from ..functional.clif import clif_charge, clif_multistep_reference
from ..functional.cuba_lif import CUBALIFParams, cuba_lif_multistep_reference
from ._bptt_common import (
    fusable,
    fused_surrogate_check,
    incoming_grad,
    reset_from_spike,
    spike_into,
    surrogate_and_reset_grad,
    time_chunks,
)
from .registry import register

CUBA_LIF_OP = "cuba_lif_multistep"
CLIF_OP = "clif_multistep"


class CUBALIFBPTT(torch.autograd.Function):
    """Multi-step CUBA-LIF neuron with a hand-written BPTT over the saved ``h``."""

    @staticmethod
    def forward(ctx, x_seq, c_init, v_init, params: CUBALIFParams, surrogate_function):
        ctx.set_materialize_grads(False)
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        c, v = c_init, v_init
        for t in range(x_seq.shape[0]):
            c = c * params.c_decay + x_seq[t]
            h = v * params.v_decay + c
            h_seq[t] = h
            spike = spike_into(h, params.v_threshold, s_seq[t])
            v = reset_from_spike(h, spike, params.v_threshold, params.v_reset, out=v_seq[t])
        ctx.save_for_backward(h_seq)
        ctx.params = params
        ctx.surrogate_function = surrogate_function
        return s_seq, v_seq, c

    @staticmethod
    def backward(ctx, grad_s_seq, grad_v_seq, grad_c_last):
        (h_seq,) = ctx.saved_tensors
        p: CUBALIFParams = ctx.params
        derivative = ctx.surrogate_function.derivative
        grad_x_seq = torch.empty_like(h_seq)  # holds dL/dc[t] = dL/dx[t]
        grad_h_next = None
        grad_c_next = None  # total dL/dc[t+1]
        for t0, t1 in time_chunks(h_seq.shape[0], h_seq[0].numel()):
            h = h_seq[t0:t1]
            sg, dv_dh = surrogate_and_reset_grad(h, p.v_threshold, p.v_reset, p.detach_reset, derivative)
            grad_h = torch.zeros_like(h) if grad_s_seq is None else grad_s_seq[t0:t1] * sg
            for i in range(t1 - t0 - 1, -1, -1):
                t = t0 + i
                grad_v = incoming_grad(grad_v_seq, t, grad_h_next, p.v_decay)
                if grad_v is not None:
                    if isinstance(dv_dh, float):
                        grad_h[i] += grad_v
                    else:
                        grad_h[i].addcmul_(grad_v, dv_dh[i])
                if grad_c_next is not None:
                    torch.add(grad_h[i], grad_c_next, alpha=p.c_decay, out=grad_x_seq[t])
                elif grad_c_last is not None:
                    torch.add(grad_h[i], grad_c_last, out=grad_x_seq[t])
                else:
                    grad_x_seq[t] = grad_h[i]
                grad_h_next, grad_c_next = grad_h[i], grad_x_seq[t]
        grad_c_init = grad_c_next * p.c_decay if ctx.needs_input_grad[1] else None
        grad_v_init = grad_h_next * p.v_decay if ctx.needs_input_grad[2] else None
        return grad_x_seq, grad_c_init, grad_v_init, None, None


class CLIFBPTT(torch.autograd.Function):
    """Multi-step CLIF neuron with a hand-written BPTT over the saved ``h`` and ``m``."""

    @staticmethod
    def forward(ctx, x_seq, v_init, m_init, tau: float, v_threshold: float, surrogate_function):
        ctx.set_materialize_grads(False)
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        m_seq = torch.empty_like(x_seq)
        v, m = v_init, m_init
        for t in range(x_seq.shape[0]):
            h = clif_charge(x_seq[t], v, tau)
            h_seq[t] = h
            m_decayed = m * torch.sigmoid(h / tau)
            spike = spike_into(h, v_threshold, s_seq[t])
            m = torch.add(m_decayed, spike, out=m_seq[t])
            v = torch.sub(h, spike * (v_threshold + torch.sigmoid(m)), out=v_seq[t])
        ctx.save_for_backward(h_seq, m_seq, m_init)
        ctx.tau = tau
        ctx.v_threshold = v_threshold
        ctx.surrogate_function = surrogate_function
        return s_seq, v_seq, m_seq

    @staticmethod
    def backward(ctx, grad_s_seq, grad_v_seq, grad_m_seq):
        h_seq, m_seq, m_init = ctx.saved_tensors
        tau, v_th = ctx.tau, ctx.v_threshold
        derivative = ctx.surrogate_function.derivative
        decay = 1.0 - 1.0 / tau
        grad_x_seq = torch.empty_like(h_seq)  # holds dL/dh[t] = dL/dx[t]
        grad_h_next = None
        grad_m_next = None  # dL/dm[t] through m[t+1]
        for t0, t1 in time_chunks(h_seq.shape[0], h_seq[0].numel()):
            h = h_seq[t0:t1]
            sg = derivative(h - v_th)
            spike = spike_into(h, v_th)
            sig_m = torch.sigmoid(m_seq[t0:t1])
            reset_by_m = spike * sig_m * (1.0 - sig_m)  # -dv/dm
            reset_by_s = sig_m + v_th  # -dv/ds
            sig_h = torch.sigmoid(h / tau)
            m_prev = m_seq[t0 - 1 : t1 - 1] if t0 > 0 else torch.cat((m_init.unsqueeze(0), m_seq[: t1 - 1]))
            m_by_h = m_prev * sig_h * (1.0 - sig_h) / tau  # dm/dh
            for i in range(t1 - t0 - 1, -1, -1):
                t = t0 + i
                grad_v = incoming_grad(grad_v_seq, t, grad_h_next, decay)
                grad_m = None if grad_m_seq is None else grad_m_seq[t]
                if grad_m_next is not None:
                    grad_m = grad_m_next if grad_m is None else grad_m + grad_m_next
                if grad_v is not None:
                    grad_m = (
                        grad_v * -reset_by_m[i]
                        if grad_m is None
                        else torch.addcmul(grad_m, grad_v, reset_by_m[i], value=-1.0)
                    )
                grad_s = None if grad_s_seq is None else grad_s_seq[t]
                if grad_v is not None:
                    grad_s = (
                        grad_v * -reset_by_s[i]
                        if grad_s is None
                        else torch.addcmul(grad_s, grad_v, reset_by_s[i], value=-1.0)
                    )
                if grad_m is not None:
                    grad_s = grad_m if grad_s is None else grad_s + grad_m
                grad_h = grad_x_seq[t]
                if grad_v is None:
                    grad_h.zero_()
                else:
                    grad_h.copy_(grad_v)
                if grad_s is not None:
                    grad_h.addcmul_(grad_s, sg[i])
                if grad_m is not None:
                    grad_h.addcmul_(grad_m, m_by_h[i])
                grad_m_next = None if grad_m is None else grad_m * sig_h[i]
                grad_h_next = grad_h
        grad_v_init = grad_h_next * decay if ctx.needs_input_grad[1] else None
        grad_m_init = grad_m_next if ctx.needs_input_grad[2] else None
        return grad_x_seq, grad_v_init, grad_m_init, None, None, None


def cuba_lif_multistep_torch(x_seq, c_init, v_init, params, surrogate_function):
    """Multi-step CUBA-LIF, fused BPTT (the reference loop for a non-fusable surrogate).

    Returns:
        ``(spike_seq, v_seq, c_last)``.
    """
    if not fusable(surrogate_function):
        return cuba_lif_multistep_reference(x_seq, c_init, v_init, params, surrogate_function)
    return CUBALIFBPTT.apply(x_seq, c_init, v_init, params, surrogate_function)


def clif_multistep_torch(x_seq, v_init, m_init, tau, v_threshold, surrogate_function):
    """Multi-step CLIF, fused BPTT (the reference loop for a non-fusable surrogate).

    Returns:
        ``(spike_seq, v_seq, m_seq)``.
    """
    if not fusable(surrogate_function):
        return clif_multistep_reference(x_seq, v_init, m_init, tau, v_threshold, surrogate_function)
    return CLIFBPTT.apply(x_seq, v_init, m_init, tau, v_threshold, surrogate_function)


_REF_NOTE = "plain per-step autograd loop (numerical reference)"
register(
    CUBA_LIF_OP,
    "torch",
    priority=50,
    check=fused_surrogate_check,
    notes="one autograd node per layer, hand-written BPTT; saves h (1 value per element per step)",
)(cuba_lif_multistep_torch)
register(CUBA_LIF_OP, "reference", priority=1000, notes=_REF_NOTE)(cuba_lif_multistep_reference)
register(
    CLIF_OP,
    "torch",
    priority=50,
    check=fused_surrogate_check,
    notes="one autograd node per layer, hand-written BPTT; saves h and m (2 values per element per step)",
)(clif_multistep_torch)
register(CLIF_OP, "reference", priority=1000, notes=_REF_NOTE)(clif_multistep_reference)
