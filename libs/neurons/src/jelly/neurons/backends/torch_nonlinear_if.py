r"""Fused BPTT (``torch`` backend) of the QIF and EIF neurons, and their registration.

Both neurons have one state ``v`` and a charge ``h = f(v, x)`` whose partials are
``∂h/∂x = 1/τ`` and ``∂h/∂v = f_v(v)`` (see :mod:`jelly.neurons.functional.nonlinear_if`).
The forward runs the reference expressions without a graph and saves **only the charged
membrane** ``h[t]`` (one value per element per step) plus ``v_init``; spikes, post-reset
membranes ``v[t-1]`` and ``f_v(v[t-1])`` are recomputed from ``h[t-1]`` in the backward::

    h̄[t]   = s̄[t] σ[t] + v̄[t] ∂v[t]/∂h[t]
    v̄[t-1] = v̄_out[t-1] + h̄[t] f_v(v[t-1])
    x̄[t]   = h̄[t] / τ

with ``σ[t] = g'(h[t] - v_th)`` and ``∂v/∂h`` the reset's derivative
(:func:`~jelly.neurons.backends._bptt_common.reset_grad`).
"""

from __future__ import annotations

import torch

from ..functional.integrate_fire import neuronal_reset
from ..functional.nonlinear_if import (
    eif_charge,
    eif_charge_dv,
    eif_multistep_reference,
    qif_charge,
    qif_charge_dv,
    qif_multistep_reference,
)
from ._bptt_common import fusable, heaviside, reset_grad, reset_value
from .registry import register

QIF_OP = "qif_multistep"
EIF_OP = "eif_multistep"


class NonlinearChargeBPTT(torch.autograd.Function):
    """Multi-step single-state neuron with a nonlinear charge and a hand-written BPTT."""

    @staticmethod
    def forward(ctx, x_seq, v_init, charge, charge_dv, params, surrogate_function):
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        v = v_init
        for t in range(x_seq.shape[0]):
            h = charge(x_seq[t], v, params)
            h_seq[t] = h
            spike = heaviside(h - params.v_threshold)
            s_seq[t] = spike
            v = neuronal_reset(h, spike, params.v_threshold, params.v_reset, False)
            v_seq[t] = v
        ctx.save_for_backward(h_seq, v_init)
        ctx.charge_dv = charge_dv
        ctx.params = params
        ctx.surrogate_function = surrogate_function
        return s_seq, v_seq

    @staticmethod
    def backward(ctx, grad_s_seq, grad_v_seq):
        h_seq, v_init = ctx.saved_tensors
        p = ctx.params
        derivative = ctx.surrogate_function.derivative
        grad_x_seq = torch.empty_like(h_seq)
        grad_h = None
        dh_dv = None
        for t in range(h_seq.shape[0] - 1, -1, -1):
            h = h_seq[t]
            u = h - p.v_threshold
            sg = derivative(u)
            grad_v = grad_v_seq[t] if grad_h is None else grad_v_seq[t] + grad_h * dh_dv
            grad_h = grad_s_seq[t] * sg + grad_v * reset_grad(h, heaviside(u), sg, p.v_threshold, p.v_reset,
                                                             p.detach_reset)
            torch.mul(grad_h, 1.0 / p.tau, out=grad_x_seq[t])
            v_prev = reset_value(h_seq[t - 1], p.v_threshold, p.v_reset) if t > 0 else v_init
            dh_dv = ctx.charge_dv(v_prev, p)
        grad_v_init = grad_h * dh_dv if ctx.needs_input_grad[1] else None
        return grad_x_seq, grad_v_init, None, None, None, None


def qif_multistep_torch(x_seq, v_init, params, surrogate_function):
    """Multi-step QIF, fused BPTT (the reference loop for a non-fusable surrogate)."""
    if not fusable(surrogate_function):
        return qif_multistep_reference(x_seq, v_init, params, surrogate_function)
    return NonlinearChargeBPTT.apply(x_seq, v_init, qif_charge, qif_charge_dv, params, surrogate_function)


def eif_multistep_torch(x_seq, v_init, params, surrogate_function):
    """Multi-step EIF, fused BPTT (the reference loop for a non-fusable surrogate)."""
    if not fusable(surrogate_function):
        return eif_multistep_reference(x_seq, v_init, params, surrogate_function)
    return NonlinearChargeBPTT.apply(x_seq, v_init, eif_charge, eif_charge_dv, params, surrogate_function)


_FUSED_NOTE = "one autograd node per layer, hand-written BPTT; saves h (1 value per element per step)"
_REF_NOTE = "plain per-step autograd loop (numerical reference)"
register(QIF_OP, "torch", priority=50, notes=_FUSED_NOTE)(qif_multistep_torch)
register(QIF_OP, "reference", priority=1000, notes=_REF_NOTE)(qif_multistep_reference)
register(EIF_OP, "torch", priority=50, notes=_FUSED_NOTE)(eif_multistep_torch)
register(EIF_OP, "reference", priority=1000, notes=_REF_NOTE)(eif_multistep_reference)
