r"""Fused BPTT (``torch`` backend) of the KLIF neuron, and its registration.

The forward saves **only the LIF charge** ``h[t]`` (one value per element per step), ``k``
and ``v_init``; ``f = ReLU(k h)``, the spike and the post-reset membrane are recomputed.
With ``σ[t] = g'(f[t] - v_th)``, ``[·]`` the indicator, ``h = a v + b x + c`` the LIF
charge (``a = 1 - 1/τ``; ``b = 1/τ`` with ``decay_input``, else 1)::

    f̄[t]   = s̄[t] σ[t] + v̄[t] ∂v[t]/∂f[t]
    h̄[t]   = f̄[t] k [k h[t] > 0]
    k̄     += Σ f̄[t] h[t] [k h[t] > 0] + v̄[t] ∂v[t]/∂k      (the last term with scale_reset only)
    v̄[t-1] = v̄_out[t-1] + a h̄[t],    x̄[t] = b h̄[t]

where, with ``scale_reset``, hard: ``∂v/∂f = (1 - s)/k + (v_r - f/k) σ``, ``∂v/∂k = -(f/k²)(1 - s)``;
soft: ``∂v/∂f = (1 - v_th σ)/k``, ``∂v/∂k = (s v_th - f)/k²`` (the ``σ`` terms dropped with
``detach_reset``); without it ``∂v/∂f`` is the plain reset derivative and ``∂v/∂k = 0``.
"""

from __future__ import annotations

import torch

from ..functional.klif import KLIFParams, klif_multistep_reference, klif_scaled
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

KLIF_OP = "klif_multistep"


class KLIFBPTT(torch.autograd.Function):
    """Multi-step KLIF neuron with a hand-written BPTT over the saved LIF charge."""

    @staticmethod
    def forward(ctx, x_seq, v_init, k, params: KLIFParams, surrogate_function):
        ctx.set_materialize_grads(False)
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        v_th = params.v_threshold
        v = v_init
        for t in range(x_seq.shape[0]):
            h, f = klif_scaled(x_seq[t], v, k, params)
            h_seq[t] = h
            spike = spike_into(f, v_th, s_seq[t])
            if params.scale_reset:
                v = reset_from_spike(f / k, spike, v_th / k, params.v_reset, out=v_seq[t])
            else:
                v = reset_from_spike(f, spike, v_th, params.v_reset, out=v_seq[t])
        ctx.save_for_backward(h_seq, k)
        ctx.params = params
        ctx.surrogate_function = surrogate_function
        return s_seq, v_seq

    @staticmethod
    def backward(ctx, grad_s_seq, grad_v_seq):
        h_seq, k = ctx.saved_tensors
        p: KLIFParams = ctx.params
        derivative = ctx.surrogate_function.derivative
        a = 1.0 - 1.0 / p.tau
        b = 1.0 / p.tau if p.decay_input else 1.0
        ka, kb = k * a, k * b
        need_k = ctx.needs_input_grad[2]
        grad_k = torch.zeros((), dtype=h_seq.dtype, device=h_seq.device)
        grad_x_seq = torch.empty_like(h_seq)
        grad_f_next = None  # dL/df[t+1] on the positive part; dL/dv[t] gets a k · it
        for t0, t1 in time_chunks(h_seq.shape[0], h_seq[0].numel()):
            h = h_seq[t0:t1]
            kh = k * h
            positive = torch.gt(kh, 0.0, out=torch.empty_like(kh))
            f = torch.relu(kh)
            if not p.scale_reset:
                sg, dv_df = surrogate_and_reset_grad(f, p.v_threshold, p.v_reset, p.detach_reset, derivative)
                dv_dk = None
            else:
                sg = derivative(f - p.v_threshold)
                spike = spike_into(f, p.v_threshold)
                if p.v_reset is not None:
                    not_fired = 1.0 - spike
                    dv_df = not_fired / k
                    if not p.detach_reset:
                        dv_df.addcmul_(p.v_reset - f / k, sg)
                    dv_dk = -(f / (k * k)) * not_fired
                else:
                    dv_df = (1.0 / k) if p.detach_reset else (1.0 - p.v_threshold * sg) / k
                    dv_dk = (spike * p.v_threshold - f) / (k * k)
            grad_f = torch.zeros_like(h) if grad_s_seq is None else grad_s_seq[t0:t1] * sg
            grad_v_chunk = torch.zeros_like(h) if dv_dk is not None and need_k else None
            for i in range(t1 - t0 - 1, -1, -1):
                grad_v = incoming_grad(grad_v_seq, t0 + i, grad_f_next, ka)
                if grad_v is not None:
                    if isinstance(dv_df, torch.Tensor):
                        grad_f[i].addcmul_(grad_v, dv_df if dv_df.dim() == 0 else dv_df[i])
                    else:
                        grad_f[i].add_(grad_v, alpha=dv_df)
                    if grad_v_chunk is not None:
                        grad_v_chunk[i] = grad_v
                grad_f[i].mul_(positive[i])
                grad_f_next = grad_f[i]
            if need_k:
                grad_k += (grad_f * h).sum()
                if grad_v_chunk is not None:
                    grad_k += (grad_v_chunk * dv_dk).sum()
            torch.mul(grad_f, kb, out=grad_x_seq[t0:t1])
        grad_v_init = grad_f_next * ka if ctx.needs_input_grad[1] else None
        return grad_x_seq, grad_v_init, grad_k.reshape(k.shape) if need_k else None, None, None


def klif_multistep_torch(x_seq, v_init, k, params, surrogate_function):
    """Multi-step KLIF, fused BPTT (the reference loop for a non-fusable surrogate)."""
    if not fusable(surrogate_function):
        return klif_multistep_reference(x_seq, v_init, k, params, surrogate_function)
    return KLIFBPTT.apply(x_seq, v_init, k.to(x_seq.dtype), params, surrogate_function)


register(
    KLIF_OP,
    "torch",
    priority=50,
    check=fused_surrogate_check,
    notes="one autograd node per layer, hand-written BPTT; saves h (1 value per element per step)",
)(klif_multistep_torch)
register(KLIF_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)")(
    klif_multistep_reference
)
