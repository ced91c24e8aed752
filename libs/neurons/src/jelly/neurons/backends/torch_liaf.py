r"""Fused BPTT (``torch`` backend) of the LIAF neuron, and its registration.

LIAF is a LIF neuron whose output is the analog ``y[t] = act(h[t] - v_th)`` (or
``act(h[t])``). The fused op runs the LIF recurrence (charge, spike, reset) as one
autograd node that returns the charged membranes ``h_seq`` and ``v_seq``; ``act`` is then
applied to ``h_seq`` by ordinary autograd, so any activation works. The op itself saves
**nothing beyond its output** ``h_seq`` (one value per element per step, which ``act``
usually keeps anyway). With ``h = a v + b x + c`` (``a = 1 - 1/τ``; ``b = 1/τ`` with
``decay_input``, else 1) and ``σ[t] = g'(h[t] - v_th)``::

    v̄[t]   = v̄_out[t] + a h̄[t+1]
    h̄[t]   = h̄_out[t] + v̄[t] ∂v[t]/∂h[t]        (the reset's derivative, σ term unless detach_reset)
    x̄[t]   = b h̄[t]
"""

from __future__ import annotations

import torch

from ..functional.integrate_fire import LinearChargeParams, lif_charge
from ..functional.liaf import liaf_multistep_reference, liaf_output
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

LIAF_OP = "liaf_multistep"


class LIAFChargeBPTT(torch.autograd.Function):
    """The LIF recurrence of LIAF, returning ``(h_seq, v_seq)``, with a hand-written BPTT."""

    @staticmethod
    def forward(ctx, x_seq, v_init, params: LinearChargeParams, surrogate_function):
        ctx.set_materialize_grads(False)
        h_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        spike = torch.empty_like(x_seq[0])
        v = v_init
        for t in range(x_seq.shape[0]):
            h = lif_charge(x_seq[t], v, params.tau, params.decay_input, params.v_reset)
            h_seq[t] = h
            spike_into(h, params.v_threshold, spike)
            v = reset_from_spike(h, spike, params.v_threshold, params.v_reset, out=v_seq[t])
        ctx.save_for_backward(h_seq)
        ctx.params = params
        ctx.surrogate_function = surrogate_function
        return h_seq, v_seq

    @staticmethod
    def backward(ctx, grad_h_seq, grad_v_seq):
        (h_seq,) = ctx.saved_tensors
        p: LinearChargeParams = ctx.params
        derivative = ctx.surrogate_function.derivative
        a = 1.0 - 1.0 / p.tau
        b = 1.0 / p.tau if p.decay_input else 1.0
        grad_x_seq = torch.empty_like(h_seq)
        grad_h_next = None
        for t0, t1 in time_chunks(h_seq.shape[0], h_seq[0].numel()):
            h = h_seq[t0:t1]
            _, dv_dh = surrogate_and_reset_grad(h, p.v_threshold, p.v_reset, p.detach_reset, derivative)
            grad_h = torch.zeros_like(h) if grad_h_seq is None else grad_h_seq[t0:t1].clone()
            for i in range(t1 - t0 - 1, -1, -1):
                grad_v = incoming_grad(grad_v_seq, t0 + i, grad_h_next, a)
                if grad_v is not None:
                    if isinstance(dv_dh, float):
                        grad_h[i] += grad_v
                    else:
                        grad_h[i].addcmul_(grad_v, dv_dh[i])
                grad_h_next = grad_h[i]
            torch.mul(grad_h, b, out=grad_x_seq[t0:t1])
        grad_v_init = grad_h_next * a if ctx.needs_input_grad[1] else None
        return grad_x_seq, grad_v_init, None, None


def liaf_multistep_torch(x_seq, v_init, params: LinearChargeParams, act, threshold_related, surrogate_function):
    """Multi-step LIAF, fused BPTT of the recurrence (the reference loop for a non-fusable surrogate).

    Returns:
        ``(y_seq, v_seq)``.
    """
    if not fusable(surrogate_function):
        return liaf_multistep_reference(x_seq, v_init, params, act, threshold_related, surrogate_function)
    h_seq, v_seq = LIAFChargeBPTT.apply(x_seq, v_init, params, surrogate_function)
    return liaf_output(h_seq, params.v_threshold, act, threshold_related), v_seq


register(
    LIAF_OP,
    "torch",
    priority=50,
    check=fused_surrogate_check,
    notes="one autograd node for the LIF recurrence (saves h, its output), then act on all h at once",
)(liaf_multistep_torch)
register(LIAF_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)")(
    liaf_multistep_reference
)
