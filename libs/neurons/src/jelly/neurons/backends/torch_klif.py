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

from ..functional.klif import KLIFParams, klif_multistep_reference, klif_reset, klif_scaled
from ._bptt_common import fusable, heaviside, reset_grad
from .registry import register

KLIF_OP = "klif_multistep"


class KLIFBPTT(torch.autograd.Function):
    """Multi-step KLIF neuron with a hand-written BPTT over the saved LIF charge."""

    @staticmethod
    def forward(ctx, x_seq, v_init, k, params: KLIFParams, surrogate_function):
        forward_params = KLIFParams(
            params.tau, params.decay_input, params.scale_reset, params.v_threshold, params.v_reset, False
        )
        h_seq = torch.empty_like(x_seq)
        s_seq = torch.empty_like(x_seq)
        v_seq = torch.empty_like(x_seq)
        v = v_init
        for t in range(x_seq.shape[0]):
            h, f = klif_scaled(x_seq[t], v, k, forward_params)
            h_seq[t] = h
            spike = heaviside(f - params.v_threshold)
            s_seq[t] = spike
            v = klif_reset(f, spike, k, forward_params)
            v_seq[t] = v
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
        need_k = ctx.needs_input_grad[2]
        grad_k = torch.zeros((), dtype=h_seq.dtype, device=h_seq.device)
        grad_x_seq = torch.empty_like(h_seq)
        grad_h = None
        for t in range(h_seq.shape[0] - 1, -1, -1):
            h = h_seq[t]
            kh = k * h
            positive = (kh > 0).to(h.dtype)
            f = torch.relu(kh)
            u = f - p.v_threshold
            sg = derivative(u)
            spike = heaviside(u)
            grad_v = grad_v_seq[t] if grad_h is None else grad_v_seq[t] + grad_h * a
            if not p.scale_reset:
                grad_f = grad_s_seq[t] * sg + grad_v * reset_grad(
                    f, spike, sg, p.v_threshold, p.v_reset, p.detach_reset
                )
                grad_k_direct = None
            elif p.v_reset is not None:
                dv_df = (1.0 - spike) / k
                if not p.detach_reset:
                    dv_df = dv_df + (p.v_reset - f / k) * sg
                grad_f = grad_s_seq[t] * sg + grad_v * dv_df
                grad_k_direct = -(f / (k * k)) * (1.0 - spike)
            else:
                dv_df = 1.0 / k if p.detach_reset else (1.0 - p.v_threshold * sg) / k
                grad_f = grad_s_seq[t] * sg + grad_v * dv_df
                grad_k_direct = (spike * p.v_threshold - f) / (k * k)
            grad_f = grad_f * positive
            if need_k:
                contribution = grad_f * h
                if grad_k_direct is not None:
                    contribution = contribution + grad_v * grad_k_direct
                grad_k = grad_k + contribution.sum()
            grad_h = grad_f * k
            torch.mul(grad_h, b, out=grad_x_seq[t])
        grad_v_init = grad_h * a if ctx.needs_input_grad[1] else None
        return grad_x_seq, grad_v_init, grad_k.reshape(k.shape) if need_k else None, None, None


def klif_multistep_torch(x_seq, v_init, k, params, surrogate_function):
    """Multi-step KLIF, fused BPTT (the reference loop for a non-fusable surrogate)."""
    if not fusable(surrogate_function):
        return klif_multistep_reference(x_seq, v_init, k, params, surrogate_function)
    return KLIFBPTT.apply(x_seq, v_init, k, params, surrogate_function)


register(
    KLIF_OP,
    "torch",
    priority=50,
    notes="one autograd node per layer, hand-written BPTT; saves h (1 value per element per step)",
)(klif_multistep_torch)
register(KLIF_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)")(
    klif_multistep_reference
)
