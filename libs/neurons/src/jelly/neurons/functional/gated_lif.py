r"""Gated LIF (GLIF) neuron: learnable gates mix leak, integration and reset styles.

Yao et al. 2022, "GLIF: A Unified Gated Leaky Integrate-and-Fire Neuron for Spiking
Neural Networks", NeurIPS (https://openreview.net/forum?id=UmFSx2c4ubT). Every
parameter is learned through a sigmoid (``α, β, γ`` gates, ``τ`` decay, ``v_th``
threshold, ``ld`` linear decay, ``v_sr`` sub-reset, ``g[t]`` conductance per time step,
all in ``(0, 1)``). The reset is applied lazily with the previous step's spike
``s[t-1]`` (``s[-1] = 0``)::

    I[t] = x[t] (1 - β (1 - g[t]))
    u[t] = (1 - α (1 - τ)) u[t-1] - (1 - α) ld + I[t]
           - (1 - α (1 - τ)) u[t-1] γ s[t-1] - (1 - γ) v_sr s[t-1]
    s[t] = Θ(u[t] - v_th)

These are SpikingJelly's ``GatedLIFNode`` equations, evaluated in the same order. The
gates are scalars (layer-wise) or one per channel (dimension 1 of ``[N, C, *]``).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from .integrate_fire import fire


class GLIFGates(NamedTuple):
    """The GLIF parameters after the sigmoid, shaped to broadcast against one step ``[N, C, *]``."""

    alpha: torch.Tensor
    beta: torch.Tensor
    gamma: torch.Tensor
    tau: torch.Tensor
    v_threshold: torch.Tensor
    linear_decay: torch.Tensor
    v_subreset: torch.Tensor


def gated_lif_step(
    x: torch.Tensor,
    u: torch.Tensor,
    spike_prev: torch.Tensor,
    gates: GLIFGates,
    conduct: torch.Tensor,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One GLIF step with the conductance ``conduct = g[t]`` of this time step.

    Returns:
        ``(spike, u_next)``.
    """
    alpha, beta, gamma, tau, v_threshold, linear_decay, v_subreset = gates
    input_current = x * (1 - beta * (1 - conduct))
    leak = 1 - alpha * (1 - tau)
    u_next = (leak * u - (1 - alpha) * linear_decay) + input_current
    u_next = u_next - leak * u * gamma * spike_prev - (1 - gamma) * v_subreset * spike_prev
    spike = fire(u_next, v_threshold, surrogate_function)
    return spike, u_next


def gated_lif_multistep_reference(
    x_seq: torch.Tensor,
    u_init: torch.Tensor,
    spike_init: torch.Tensor,
    gates: GLIFGates,
    conduct_seq: torch.Tensor,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step autograd loop of :func:`gated_lif_step` over ``x_seq`` ``[T, N, C, *]``.

    Args:
        conduct_seq: ``[T, ...]`` conductances after the sigmoid, ``conduct_seq[t]``
            broadcasting against one step.

    Returns:
        ``(spike_seq, u_seq)``, both ``[T, N, C, *]``.
    """
    u, spike = u_init, spike_init
    spikes, us = [], []
    for t, x in enumerate(x_seq.unbind(0)):
        spike, u = gated_lif_step(x, u, spike, gates, conduct_seq[t], surrogate_function)
        spikes.append(spike)
        us.append(u)
    return torch.stack(spikes), torch.stack(us)
