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

from ..functional.nonlinear_if import (
    eif_charge,
    eif_charge_dv,
    eif_multistep_reference,
    qif_charge,
    qif_charge_dv,
    qif_multistep_reference,
)
from ._bptt_common import (
    fusable,
    fused_surrogate_check,
    incoming_grad,
    previous_membranes,
    reset_from_spike,
    spike_into,
    surrogate_and_reset_grad,
    time_chunks,
)
from .registry import register

QIF_OP = "qif_multistep"
EIF_OP = "eif_multistep"


class NonlinearChargeBPTT(torch.autograd.Function):
    """Multi-step single-state neuron with a nonlinear charge and a hand-written BPTT."""

    @staticmethod
    def forward(ctx, x_seq, v_init, charge, charge_dv, params, surrogate_function):
        ctx.set_materialize_grads(False)
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        v = v_init
        for t in range(x_seq.shape[0]):
            h = charge(x_seq[t], v, params)
            h_seq[t] = h
            spike = spike_into(h, params.v_threshold, s_seq[t])
            v = reset_from_spike(h, spike, params.v_threshold, params.v_reset, out=v_seq[t])
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
        grad_h_next = dh_dv_next = None  # dL/dh[t+1] and dh[t+1]/dv[t]
        for t0, t1 in time_chunks(h_seq.shape[0], h_seq[0].numel()):
            h = h_seq[t0:t1]
            sg, dv_dh = surrogate_and_reset_grad(h, p.v_threshold, p.v_reset, p.detach_reset, derivative)
            grad_h = torch.zeros_like(h) if grad_s_seq is None else grad_s_seq[t0:t1] * sg
            dh_dv = ctx.charge_dv(previous_membranes(h_seq, v_init, t0, t1, p.v_threshold, p.v_reset), p)
            for i in range(t1 - t0 - 1, -1, -1):
                grad_v = incoming_grad(grad_v_seq, t0 + i, grad_h_next, dh_dv_next)
                if grad_v is not None:
                    if isinstance(dv_dh, float):
                        grad_h[i] += grad_v
                    else:
                        grad_h[i].addcmul_(grad_v, dv_dh[i])
                grad_h_next, dh_dv_next = grad_h[i], dh_dv[i]
            torch.mul(grad_h, 1.0 / p.tau, out=grad_x_seq[t0:t1])
        grad_v_init = grad_h_next * dh_dv_next if ctx.needs_input_grad[1] else None
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
register(QIF_OP, "torch", priority=50, check=fused_surrogate_check, notes=_FUSED_NOTE)(qif_multistep_torch)
register(QIF_OP, "reference", priority=1000, notes=_REF_NOTE)(qif_multistep_reference)
register(EIF_OP, "torch", priority=50, check=fused_surrogate_check, notes=_FUSED_NOTE)(eif_multistep_torch)
register(EIF_OP, "reference", priority=1000, notes=_REF_NOTE)(eif_multistep_reference)
