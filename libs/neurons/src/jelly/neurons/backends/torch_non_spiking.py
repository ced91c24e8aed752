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
    non_spiking_multistep_reference,
)
from .registry import register

NON_SPIKING_OP = "non_spiking_multistep"


class NonSpikingBPTT(torch.autograd.Function):
    """Multi-step non-spiking IF (``tau=None``) or LIF read-out with a hand-written BPTT."""

    @staticmethod
    def forward(ctx, x_seq, v_init, tau: float | None):
        ctx.set_materialize_grads(False)
        v_seq = torch.empty_like(x_seq)
        v = v_init
        for t in range(x_seq.shape[0]):
            if tau is None:
                v = torch.add(v, x_seq[t], out=v_seq[t])
            else:
                v = torch.add(v, (x_seq[t] - v) / tau, out=v_seq[t])
        ctx.tau = tau
        ctx.shape = x_seq.shape
        return v_seq

    @staticmethod
    def backward(ctx, grad_v_seq):
        if grad_v_seq is None:
            return None, None, None
        tau = ctx.tau
        a = 1.0 if tau is None else 1.0 - 1.0 / tau
        grad = torch.empty_like(grad_v_seq)  # dL/dv[t], then scaled into dL/dx[t]
        grad[-1] = grad_v_seq[-1]
        for t in range(grad_v_seq.shape[0] - 2, -1, -1):
            torch.add(grad_v_seq[t], grad[t + 1], alpha=a, out=grad[t])
        grad_v_init = grad[0] * a if ctx.needs_input_grad[1] else None
        if tau is not None:
            grad.mul_(1.0 / tau)
        return grad, grad_v_init, None


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
