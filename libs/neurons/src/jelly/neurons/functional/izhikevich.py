r"""Izhikevich neuron: quadratic membrane with an adaptation current ``w``.

Discrete-time form used by SpikingJelly's ``IzhikevichNode`` (Izhikevich 2003, "Simple
model of spiking neurons", IEEE Trans. Neural Netw. 14(6); written as the adaptive
quadratic integrate-and-fire model of Gerstner et al. 2014, *Neuronal Dynamics*, ch. 6.1)::

    h[t] = v[t-1] + (x[t] + a0 (v[t-1] - v_rest)(v[t-1] - v_c) - w[t-1]) / τ
    s[t] = Θ(h[t] - v_th)
    w[t] = w[t-1] + (a (h[t] - v_rest) - w[t-1]) / τ_w + b s[t]
    v[t] = h[t] (1 - s[t]) + v_reset s[t]      (hard reset)
    v[t] = h[t] - v_th s[t]                    (soft reset, v_reset=None)

The adaptation is driven by the charged membrane ``h[t]`` (before the reset), as in
SpikingJelly. Deliberate difference: with ``detach_reset=True`` the spike is detached in
the spike-triggered jump ``b s[t]`` as well as in the membrane reset (both are the
neuron's reset; SpikingJelly 2.0 detaches it in the membrane reset only). Forward values
are identical either way.

Partials used by the fused backend (:mod:`jelly.neurons.backends.torch_izhikevich`):
``∂h/∂v = 1 + a0 (2 v - v_rest - v_c)/τ``, ``∂h/∂w = -1/τ``, ``∂h/∂x = 1/τ``,
``∂w[t]/∂w[t-1] = 1 - 1/τ_w``, ``∂w[t]/∂h[t] = a/τ_w + b σ[t]`` (``σ`` the surrogate
gradient; the ``b σ`` term is dropped with ``detach_reset``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .integrate_fire import fire, neuronal_reset


@dataclass(frozen=True)
class IzhikevichParams:
    """Constants of an Izhikevich neuron (see the module docstring).

    Attributes:
        tau: membrane time constant ``τ``.
        v_c: critical voltage.
        a0: quadratic coefficient.
        v_threshold: firing threshold.
        v_reset: hard-reset potential, ``None`` for soft reset.
        v_rest: resting potential.
        tau_w: time constant ``τ_w`` of the adaptation current.
        a: subthreshold coupling of ``w`` to the membrane.
        b: spike-triggered jump of ``w``.
        detach_reset: detach the spike used in the resets from the graph.
    """

    tau: float = 2.0
    v_c: float = 0.8
    a0: float = 1.0
    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    v_rest: float = -0.1
    tau_w: float = 2.0
    a: float = 0.0
    b: float = 0.0
    detach_reset: bool = False


def izhikevich_charge(
    x: torch.Tensor, v: torch.Tensor, w: torch.Tensor, params: IzhikevichParams
) -> torch.Tensor:
    """``h = v + (x + a0 (v - v_rest)(v - v_c) - w) / τ``."""
    return v + (x + params.a0 * (v - params.v_rest) * (v - params.v_c) - w) / params.tau


def izhikevich_adaptation(
    w: torch.Tensor, h: torch.Tensor, spike: torch.Tensor, params: IzhikevichParams
) -> torch.Tensor:
    """``w_next = w + (a (h - v_rest) - w) / τ_w + b s`` (``s`` detached with ``detach_reset``)."""
    if params.detach_reset:
        spike = spike.detach()
    return w + (params.a * (h - params.v_rest) - w) / params.tau_w + params.b * spike


def izhikevich_step(
    x: torch.Tensor, v: torch.Tensor, w: torch.Tensor, params: IzhikevichParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One Izhikevich step.

    Returns:
        ``(spike, v_next, w_next)``.
    """
    h = izhikevich_charge(x, v, w, params)
    spike = fire(h, params.v_threshold, surrogate_function)
    w_next = izhikevich_adaptation(w, h, spike, params)
    v_next = neuronal_reset(h, spike, params.v_threshold, params.v_reset, params.detach_reset)
    return spike, v_next, w_next


def izhikevich_multistep_reference(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    w_init: torch.Tensor,
    params: IzhikevichParams,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-step autograd loop of :func:`izhikevich_step` over ``x_seq`` ``[T, N, *]``.

    Returns:
        ``(spike_seq, v_seq, w_last)``: spikes and post-reset membranes ``[T, N, *]`` and the
        adaptation current after the last step ``[N, *]``.
    """
    v, w = v_init, w_init
    spikes, vs = [], []
    for x in x_seq.unbind(0):
        spike, v, w = izhikevich_step(x, v, w, params, surrogate_function)
        spikes.append(spike)
        vs.append(v)
    return torch.stack(spikes), torch.stack(vs), w
