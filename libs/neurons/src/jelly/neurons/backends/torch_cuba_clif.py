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
from ..functional.integrate_fire import neuronal_reset
from ._bptt_common import fusable, heaviside, reset_grad
from .registry import register

CUBA_LIF_OP = "cuba_lif_multistep"
CLIF_OP = "clif_multistep"


class CUBALIFBPTT(torch.autograd.Function):
    """Multi-step CUBA-LIF neuron with a hand-written BPTT over the saved ``h``."""

    @staticmethod
    def forward(ctx, x_seq, c_init, v_init, params: CUBALIFParams, surrogate_function):
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        c, v = c_init, v_init
        for t in range(x_seq.shape[0]):
            c = c * params.c_decay + x_seq[t]
            h = v * params.v_decay + c
            h_seq[t] = h
            spike = heaviside(h - params.v_threshold)
            s_seq[t] = spike
            v = neuronal_reset(h, spike, params.v_threshold, params.v_reset, False)
            v_seq[t] = v
        ctx.save_for_backward(h_seq)
        ctx.params = params
        ctx.surrogate_function = surrogate_function
        return s_seq, v_seq, c

    @staticmethod
    def backward(ctx, grad_s_seq, grad_v_seq, grad_c_last):
        (h_seq,) = ctx.saved_tensors
        p: CUBALIFParams = ctx.params
        derivative = ctx.surrogate_function.derivative
        grad_x_seq = torch.empty_like(h_seq)
        grad_c = grad_c_last
        grad_h = None
        for t in range(h_seq.shape[0] - 1, -1, -1):
            h = h_seq[t]
            u = h - p.v_threshold
            sg = derivative(u)
            grad_v = grad_v_seq[t] if grad_h is None else grad_v_seq[t] + grad_h * p.v_decay
            grad_h = grad_s_seq[t] * sg + grad_v * reset_grad(
                h, heaviside(u), sg, p.v_threshold, p.v_reset, p.detach_reset
            )
            grad_c = grad_c + grad_h
            grad_x_seq[t] = grad_c
            grad_c = grad_c * p.c_decay
        grad_c_init = grad_c if ctx.needs_input_grad[1] else None
        grad_v_init = grad_h * p.v_decay if ctx.needs_input_grad[2] else None
        return grad_x_seq, grad_c_init, grad_v_init, None, None


class CLIFBPTT(torch.autograd.Function):
    """Multi-step CLIF neuron with a hand-written BPTT over the saved ``h`` and ``m``."""

    @staticmethod
    def forward(ctx, x_seq, v_init, m_init, tau: float, v_threshold: float, surrogate_function):
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        m_seq = torch.empty_like(x_seq)
        v, m = v_init, m_init
        for t in range(x_seq.shape[0]):
            h = clif_charge(x_seq[t], v, tau)
            h_seq[t] = h
            m_decayed = m * torch.sigmoid(h / tau)
            spike = heaviside(h - v_threshold)
            s_seq[t] = spike
            m = m_decayed + spike
            m_seq[t] = m
            v = h - spike * (v_threshold + torch.sigmoid(m))
            v_seq[t] = v
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
        grad_x_seq = torch.empty_like(h_seq)
        grad_m = None  # dL/dm[t] through m[t+1]
        grad_h = None
        for t in range(h_seq.shape[0] - 1, -1, -1):
            h = h_seq[t]
            m = m_seq[t]
            m_prev = m_seq[t - 1] if t > 0 else m_init
            u = h - v_th
            sg = derivative(u)
            spike = heaviside(u)
            grad_v = grad_v_seq[t] if grad_h is None else grad_v_seq[t] + grad_h * decay
            sig_m = torch.sigmoid(m)
            grad_m_total = grad_m_seq[t] - grad_v * spike * sig_m * (1.0 - sig_m)
            if grad_m is not None:
                grad_m_total = grad_m_total + grad_m
            grad_s = grad_s_seq[t] - grad_v * (v_th + sig_m) + grad_m_total
            sig_h = torch.sigmoid(h / tau)
            grad_h = grad_v + grad_s * sg + grad_m_total * m_prev * sig_h * (1.0 - sig_h) / tau
            grad_m = grad_m_total * sig_h
            grad_x_seq[t] = grad_h
        grad_v_init = grad_h * decay if ctx.needs_input_grad[1] else None
        grad_m_init = grad_m if ctx.needs_input_grad[2] else None
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
    notes="one autograd node per layer, hand-written BPTT; saves h (1 value per element per step)",
)(cuba_lif_multistep_torch)
register(CUBA_LIF_OP, "reference", priority=1000, notes=_REF_NOTE)(cuba_lif_multistep_reference)
register(
    CLIF_OP,
    "torch",
    priority=50,
    notes="one autograd node per layer, hand-written BPTT; saves h and m (2 values per element per step)",
)(clif_multistep_torch)
register(CLIF_OP, "reference", priority=1000, notes=_REF_NOTE)(clif_multistep_reference)
