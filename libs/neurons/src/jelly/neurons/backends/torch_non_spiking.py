r"""Fused BPTT (``torch`` backend) of the non-spiking IF/LIF read-outs, and its registration.

The recurrence ``v[t] = a v[t-1] + b x[t]`` (IF: ``a = b = 1``; LIF: ``a = 1 - 1/τ``,
``b = 1/τ``) is linear with constant coefficients, so the backward needs **no saved
tensor at all** (zero values per element per step)::

    v̄[t] = v̄_out[t] + a v̄[t+1],    x̄[t] = b v̄[t],    v̄_init = a v̄[0]

The forward evaluates the reference expressions step by step (bit-identical values).
"""

from __future__ import annotations

import torch

from ..functional.non_spiking import (
    non_spiking_if_step,
    non_spiking_lif_step,
    non_spiking_multistep_reference,
)
from .registry import register

NON_SPIKING_OP = "non_spiking_multistep"


class NonSpikingBPTT(torch.autograd.Function):
    """Multi-step non-spiking IF (``tau=None``) or LIF read-out with a hand-written BPTT."""

    @staticmethod
    def forward(ctx, x_seq, v_init, tau: float | None):
        v_seq = torch.empty_like(x_seq)
        v = v_init
        for t in range(x_seq.shape[0]):
            v = non_spiking_if_step(x_seq[t], v) if tau is None else non_spiking_lif_step(x_seq[t], v, tau)
            v_seq[t] = v
        ctx.tau = tau
        return v_seq

    @staticmethod
    def backward(ctx, grad_v_seq):
        tau = ctx.tau
        a = 1.0 if tau is None else 1.0 - 1.0 / tau
        b = 1.0 if tau is None else 1.0 / tau
        grad_x_seq = torch.empty_like(grad_v_seq)
        grad_v = None
        for t in range(grad_v_seq.shape[0] - 1, -1, -1):
            grad_v = grad_v_seq[t] if grad_v is None else grad_v_seq[t] + grad_v * a
            if tau is None:
                grad_x_seq[t] = grad_v
            else:
                torch.mul(grad_v, b, out=grad_x_seq[t])
        grad_v_init = grad_v * a if ctx.needs_input_grad[1] else None
        return grad_x_seq, grad_v_init, None


def non_spiking_multistep_torch(x_seq: torch.Tensor, v_init: torch.Tensor, tau: float | None) -> torch.Tensor:
    """Multi-step non-spiking read-out (``tau=None`` for IF), fused BPTT; returns ``v_seq``."""
    return NonSpikingBPTT.apply(x_seq, v_init, tau)


register(
    NON_SPIKING_OP,
    "torch",
    priority=50,
    notes="one autograd node per layer, hand-written BPTT; saves nothing per element",
)(non_spiking_multistep_torch)
register(
    NON_SPIKING_OP, "reference", priority=1000, notes="plain per-step autograd loop (numerical reference)"
)(non_spiking_multistep_reference)
