r"""Complementary LIF (CLIF) neuron: LIF plus a complementary potential ``m``.

Huang et al. 2024, "CLIF: Complementary Leaky Integrate-and-Fire Neuron for Spiking
Neural Networks", ICML (PMLR 235). Per step (non-decayed input, soft reset, ``σ`` the
logistic sigmoid)::

    h[t] = (1 - 1/τ) v[t-1] + x[t]          (computed as v - v/τ + x)
    s[t] = Θ(h[t] - v_th)
    m[t] = m[t-1] σ(h[t] / τ) + s[t]
    v[t] = h[t] - s[t] (v_th + σ(m[t]))

These are SpikingJelly's ``ComplementaryLIFNode`` equations, evaluated in the same order;
both states start at 0. The model has no hard reset and no ``detach_reset``.

Backward (fused backend, :mod:`jelly.neurons.backends.torch_cuba_clif`), with ``ḡ`` the
gradient of the loss with respect to a quantity and ``σ'`` the sigmoid's derivative:
``m̄[t] += -v̄[t] s[t] σ'(m[t])``; ``s̄[t] += -v̄[t](v_th + σ(m[t])) + m̄[t]``;
``h̄[t] = v̄[t] + s̄[t] g'(h[t] - v_th) + m̄[t] m[t-1] σ'(h[t]/τ)/τ``;
``m̄[t-1] += m̄[t] σ(h[t]/τ)``; ``v̄[t-1] += (1 - 1/τ) h̄[t]``; ``x̄[t] = h̄[t]``.
"""

from __future__ import annotations

import torch

from .integrate_fire import fire


def clif_charge(x: torch.Tensor, v: torch.Tensor, tau: float) -> torch.Tensor:
    """``h = v - v / τ + x``."""
    return v - v / tau + x


def clif_step(
    x: torch.Tensor, v: torch.Tensor, m: torch.Tensor, tau: float, v_threshold: float, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One CLIF step.

    Returns:
        ``(spike, v_next, m_next)``.
    """
    h = clif_charge(x, v, tau)
    m_decayed = m * torch.sigmoid(h / tau)
    spike = fire(h, v_threshold, surrogate_function)
    m_next = m_decayed + spike
    v_next = h - spike * (v_threshold + torch.sigmoid(m_next))
    return spike, v_next, m_next


def clif_multistep_reference(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    m_init: torch.Tensor,
    tau: float,
    v_threshold: float,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-step autograd loop of :func:`clif_step` over ``x_seq`` ``[T, N, *]``.

    Returns:
        ``(spike_seq, v_seq, m_seq)``, all ``[T, N, *]``.
    """
    v, m = v_init, m_init
    spikes, vs, ms = [], [], []
    for x in x_seq.unbind(0):
        spike, v, m = clif_step(x, v, m, tau, v_threshold, surrogate_function)
        spikes.append(spike)
        vs.append(v)
        ms.append(m)
    return torch.stack(spikes), torch.stack(vs), torch.stack(ms)
