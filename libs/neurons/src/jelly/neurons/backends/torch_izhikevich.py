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

from ..functional.izhikevich import (
    IzhikevichParams,
    izhikevich_adaptation,
    izhikevich_charge,
    izhikevich_multistep_reference,
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

IZHIKEVICH_OP = "izhikevich_multistep"


def _charge_dv(v: torch.Tensor, p: IzhikevichParams) -> torch.Tensor:
    # 1 + a0 (2 v - v_rest - v_c) / τ, as one affine map
    return torch.mul(v, 2.0 * p.a0 / p.tau).add_(1.0 - p.a0 * (p.v_rest + p.v_c) / p.tau)


class IzhikevichBPTT(torch.autograd.Function):
    """Multi-step Izhikevich neuron with a hand-written BPTT over the saved ``h``."""

    @staticmethod
    def forward(ctx, x_seq, v_init, w_init, params: IzhikevichParams, surrogate_function):
        ctx.set_materialize_grads(False)
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        v, w = v_init, w_init
        for t in range(x_seq.shape[0]):
            h = izhikevich_charge(x_seq[t], v, w, params)
            h_seq[t] = h
            spike = spike_into(h, params.v_threshold, s_seq[t])
            w = izhikevich_adaptation(w, h, spike, params)
            v = reset_from_spike(h, spike, params.v_threshold, params.v_reset, out=v_seq[t])
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
        grad_w = grad_w_last  # dL/dw[t], None while zero
        grad_h_next = dh_dv_next = None
        w_keep, h_to_w = 1.0 - 1.0 / p.tau_w, -1.0 / p.tau
        for t0, t1 in time_chunks(h_seq.shape[0], h_seq[0].numel()):
            h = h_seq[t0:t1]
            sg, dv_dh = surrogate_and_reset_grad(h, p.v_threshold, p.v_reset, p.detach_reset, derivative)
            grad_h = torch.zeros_like(h) if grad_s_seq is None else grad_s_seq[t0:t1] * sg
            dh_dv = _charge_dv(previous_membranes(h_seq, v_init, t0, t1, p.v_threshold, p.v_reset), p)
            if p.detach_reset or p.b == 0.0:
                dw_dh = p.a / p.tau_w
            else:
                dw_dh = torch.mul(sg, p.b).add_(p.a / p.tau_w)
            for i in range(t1 - t0 - 1, -1, -1):
                grad_v = incoming_grad(grad_v_seq, t0 + i, grad_h_next, dh_dv_next)
                if grad_v is not None:
                    if isinstance(dv_dh, float):
                        grad_h[i] += grad_v
                    else:
                        grad_h[i].addcmul_(grad_v, dv_dh[i])
                if grad_w is not None:
                    if isinstance(dw_dh, float):
                        grad_h[i].add_(grad_w, alpha=dw_dh)
                    else:
                        grad_h[i].addcmul_(grad_w, dw_dh[i])
                    grad_w = torch.add(grad_w * w_keep, grad_h[i], alpha=h_to_w)
                else:
                    grad_w = grad_h[i] * h_to_w
                grad_h_next, dh_dv_next = grad_h[i], dh_dv[i]
            torch.mul(grad_h, 1.0 / p.tau, out=grad_x_seq[t0:t1])
        grad_v_init = grad_h_next * dh_dv_next if ctx.needs_input_grad[1] else None
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
    check=fused_surrogate_check,
    notes="one autograd node per layer, hand-written BPTT; saves h (1 value per element per step)",
)(izhikevich_multistep_torch)
register(IZHIKEVICH_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)")(
    izhikevich_multistep_reference
)
