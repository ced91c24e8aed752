r"""Fused BPTT (``torch`` backend) of the Izhikevich neuron, and its registration.

The forward saves **only the charged membrane** ``h[t]`` (one value per element per step)
and ``v_init``: the adaptation ``w`` enters every equation linearly, so the backward needs
none of its values, and ``v[t-1]`` is recomputed from ``h[t-1]``. With ``σ[t] = g'(h[t] -
v_th)`` and the partials of :mod:`jelly.neurons.functional.izhikevich`::

    h̄[t]   = s̄[t] σ[t] + v̄[t] ∂v[t]/∂h[t] + w̄[t] (a/τ_w + b σ[t])   (no b σ with detach_reset)
    w̄[t-1] = w̄[t] (1 - 1/τ_w) - h̄[t] / τ
    v̄[t-1] = v̄_out[t-1] + h̄[t] (1 + a0 (2 v[t-1] - v_rest - v_c) / τ)
    x̄[t]   = h̄[t] / τ
"""

from __future__ import annotations

import torch

from ..functional.integrate_fire import neuronal_reset
from ..functional.izhikevich import (
    IzhikevichParams,
    izhikevich_adaptation,
    izhikevich_charge,
    izhikevich_multistep_reference,
)
from ._bptt_common import fusable, heaviside, reset_grad, reset_value
from .registry import register

IZHIKEVICH_OP = "izhikevich_multistep"


def _charge_dv(v: torch.Tensor, p: IzhikevichParams) -> torch.Tensor:
    return 1.0 + p.a0 * (2.0 * v - p.v_rest - p.v_c) / p.tau


class IzhikevichBPTT(torch.autograd.Function):
    """Multi-step Izhikevich neuron with a hand-written BPTT over the saved ``h``."""

    @staticmethod
    def forward(ctx, x_seq, v_init, w_init, params: IzhikevichParams, surrogate_function):
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        v, w = v_init, w_init
        for t in range(x_seq.shape[0]):
            h = izhikevich_charge(x_seq[t], v, w, params)
            h_seq[t] = h
            spike = heaviside(h - params.v_threshold)
            s_seq[t] = spike
            w = izhikevich_adaptation(w, h, spike, params)
            v = neuronal_reset(h, spike, params.v_threshold, params.v_reset, False)
            v_seq[t] = v
        ctx.save_for_backward(h_seq, v_init)
        ctx.params = params
        ctx.surrogate_function = surrogate_function
        return s_seq, v_seq, w

    @staticmethod
    def backward(ctx, grad_s_seq, grad_v_seq, grad_w_last):
        h_seq, v_init = ctx.saved_tensors
        p: IzhikevichParams = ctx.params
        derivative = ctx.surrogate_function.derivative
        grad_x_seq = torch.empty_like(h_seq)
        grad_w = grad_w_last
        grad_h = None
        dh_dv = None
        w_from_h = p.a / p.tau_w
        for t in range(h_seq.shape[0] - 1, -1, -1):
            h = h_seq[t]
            u = h - p.v_threshold
            sg = derivative(u)
            grad_v = grad_v_seq[t] if grad_h is None else grad_v_seq[t] + grad_h * dh_dv
            grad_h = grad_s_seq[t] * sg + grad_v * reset_grad(
                h, heaviside(u), sg, p.v_threshold, p.v_reset, p.detach_reset
            )
            if p.detach_reset or p.b == 0.0:
                grad_h = grad_h + grad_w * w_from_h
            else:
                grad_h = grad_h + grad_w * (w_from_h + p.b * sg)
            torch.mul(grad_h, 1.0 / p.tau, out=grad_x_seq[t])
            grad_w = grad_w * (1.0 - 1.0 / p.tau_w) - grad_h / p.tau
            v_prev = reset_value(h_seq[t - 1], p.v_threshold, p.v_reset) if t > 0 else v_init
            dh_dv = _charge_dv(v_prev, p)
        grad_v_init = grad_h * dh_dv if ctx.needs_input_grad[1] else None
        grad_w_init = grad_w if ctx.needs_input_grad[2] else None
        return grad_x_seq, grad_v_init, grad_w_init, None, None


def izhikevich_multistep_torch(x_seq, v_init, w_init, params, surrogate_function):
    """Multi-step Izhikevich, fused BPTT (the reference loop for a non-fusable surrogate).

    Returns:
        ``(spike_seq, v_seq, w_last)``, as the reference loop.
    """
    if not fusable(surrogate_function):
        return izhikevich_multistep_reference(x_seq, v_init, w_init, params, surrogate_function)
    return IzhikevichBPTT.apply(x_seq, v_init, w_init, params, surrogate_function)


register(
    IZHIKEVICH_OP,
    "torch",
    priority=50,
    notes="one autograd node per layer, hand-written BPTT; saves h (1 value per element per step)",
)(izhikevich_multistep_torch)
register(
    IZHIKEVICH_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)"
)(izhikevich_multistep_reference)
