r"""Fused BPTT (``torch`` backend) of the Gated LIF (GLIF) neuron, and its registration.

The op takes the gates after the sigmoid (shaped to broadcast against one step, see
:mod:`jelly.neurons.functional.gated_lif`); autograd carries their gradients through the
sigmoid and the reshape. With ``k = 1 - α (1 - τ)`` (the leak), ``F[t] = 1 - β (1 - g[t])``,
``σ[t] = g'(u[t] - v_th)`` and ``p[t] = 1 - γ s[t-1]``, the backward is::

    ū[t] ← ū_out[t] + ū[t+1] k p[t+1] + s̄[t] σ[t],     s̄[t] = s̄_out[t] - ū[t+1] (k γ u[t] + (1 - γ) v_sr)
    x̄[t] = ū[t] F[t]
    k̄ += ū[t] u[t-1] p[t]      (α̅ += -(1 - τ) k̄ + ū ld,  τ̄ += α k̄)
    γ̄ += ū[t] s[t-1] (v_sr - k u[t-1]),   v̄_sr += -ū[t] (1 - γ) s[t-1],   l̄d += -ū[t] (1 - α)
    β̄ += -ū[t] x[t] (1 - g[t]),   ḡ[t] = Σ ū[t] x[t] β,   v̄_th += -Σ s̄[t] σ[t]

It saves the membranes ``u[t]`` (one value per element per step; they are also an output)
and the input ``x`` (which the layer before keeps in most networks), plus the initial
state; the spikes are recomputed from ``u``.
"""

from __future__ import annotations

import torch

from ..functional.gated_lif import GLIFGates, gated_lif_multistep_reference
from ._bptt_common import fusable, fused_surrogate_check, spike_into
from .registry import register

GATED_LIF_OP = "gated_lif_multistep"


class GatedLIFBPTT(torch.autograd.Function):
    """Multi-step GLIF with a hand-written BPTT (gates and conductances get gradients)."""

    @staticmethod
    def forward(ctx, x_seq, u_init, s_init, alpha, beta, gamma, tau, v_th, ld, v_sr, conduct_seq, surrogate_function):
        ctx.set_materialize_grads(False)
        s_seq = torch.empty_like(x_seq)
        u_seq = torch.empty_like(x_seq)
        leak = 1 - alpha * (1 - tau)
        linear = (1 - alpha) * ld
        subreset = (1 - gamma) * v_sr
        u, spike = u_init, s_init
        for t in range(x_seq.shape[0]):
            input_current = x_seq[t] * (1 - beta * (1 - conduct_seq[t]))
            u_next = (leak * u - linear) + input_current
            u = torch.sub(u_next - leak * u * gamma * spike, subreset * spike, out=u_seq[t])
            spike = spike_into(u, v_th, s_seq[t])
        ctx.save_for_backward(x_seq, u_seq, u_init, s_init, alpha, beta, gamma, tau, v_th, ld, v_sr, conduct_seq)
        ctx.surrogate_function = surrogate_function
        return s_seq, u_seq

    @staticmethod
    def backward(ctx, grad_s_seq, grad_u_seq):
        x_seq, u_seq, u_init, s_init, alpha, beta, gamma, tau, v_th, ld, v_sr, conduct_seq = ctx.saved_tensors
        derivative = ctx.surrogate_function.derivative
        leak = 1 - alpha * (1 - tau)
        zeros = torch.zeros_like(u_seq[0])
        acc = {name: zeros.clone() for name in ("leak", "gamma", "v_sr", "u", "beta", "v_th")}
        grad_conduct = torch.zeros_like(conduct_seq)
        grad_x_seq = torch.empty_like(x_seq)
        carry_u = carry_s = None  # dL/du[t] and dL/ds[t] through u[t+1]
        for t in range(x_seq.shape[0] - 1, -1, -1):
            u = u_seq[t]
            sg = derivative(u - v_th)
            grad_s = _sum(None if grad_s_seq is None else grad_s_seq[t], carry_s)
            grad_u = _sum(None if grad_u_seq is None else grad_u_seq[t], carry_u)
            if grad_s is not None:
                through_spike = grad_s * sg
                acc["v_th"] -= through_spike
                grad_u = through_spike if grad_u is None else grad_u + through_spike
            if grad_u is None:
                grad_x_seq[t].zero_()
                carry_u = carry_s = None
                continue
            u_prev = u_seq[t - 1] if t > 0 else u_init
            s_prev = spike_into(u_seq[t - 1], v_th) if t > 0 else s_init
            kept = 1 - gamma * s_prev
            factor = 1 - beta * (1 - conduct_seq[t])
            torch.mul(grad_u, factor, out=grad_x_seq[t])
            grad_ux = grad_u * x_seq[t]
            grad_conduct[t] = (grad_ux * beta).sum_to_size(conduct_seq[t].shape)
            acc["beta"] -= grad_ux * (1 - conduct_seq[t])
            acc["leak"] += grad_u * u_prev * kept
            acc["gamma"] += grad_u * s_prev * (v_sr - leak * u_prev)
            acc["v_sr"] -= grad_u * s_prev
            acc["u"] += grad_u
            carry_u = grad_u * leak * kept
            carry_s = -grad_u * (leak * gamma * u_prev + (1 - gamma) * v_sr)
        grad_leak = acc["leak"]
        grads_gates = (
            (-(1 - tau) * grad_leak + acc["u"] * ld).sum_to_size(alpha.shape),
            acc["beta"].sum_to_size(beta.shape),
            acc["gamma"].sum_to_size(gamma.shape),
            (alpha * grad_leak).sum_to_size(tau.shape),
            acc["v_th"].sum_to_size(v_th.shape),
            (-(1 - alpha) * acc["u"]).sum_to_size(ld.shape),
            ((1 - gamma) * acc["v_sr"]).sum_to_size(v_sr.shape),
        )
        return (grad_x_seq, carry_u, carry_s, *grads_gates, grad_conduct, None)


def _sum(a: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor | None:
    if a is None:
        return b
    return a if b is None else a + b


def gated_lif_multistep_torch(x_seq, u_init, spike_init, gates: GLIFGates, conduct_seq, surrogate_function):
    """Multi-step GLIF, fused BPTT (the reference loop for a non-fusable surrogate).

    Returns:
        ``(spike_seq, u_seq)``, as :func:`~jelly.neurons.functional.gated_lif.gated_lif_multistep_reference`.
    """
    if not fusable(surrogate_function):
        return gated_lif_multistep_reference(x_seq, u_init, spike_init, gates, conduct_seq, surrogate_function)
    return GatedLIFBPTT.apply(x_seq, u_init, spike_init, *gates, conduct_seq, surrogate_function)


register(
    GATED_LIF_OP,
    "torch",
    priority=50,
    check=fused_surrogate_check,
    notes="one autograd node per layer, hand-written BPTT; saves u (also an output) and x",
)(gated_lif_multistep_torch)
register(GATED_LIF_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)")(
    gated_lif_multistep_reference
)
