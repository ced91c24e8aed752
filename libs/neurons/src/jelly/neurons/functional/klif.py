r"""KLIF neuron: LIF with a learnable scale ``k`` of the membrane before firing.

Jiang & Zhang 2023, "KLIF: An optimized spiking neuron unit for tuning surrogate gradient
slope and membrane potential" (arXiv:2302.09238). Per step (``v_r`` = ``v_reset``, or 0
for soft reset)::

    h[t] = v[t-1] + (x[t] - (v[t-1] - v_r)) / τ      (decay_input=True)
    h[t] = v[t-1] - (v[t-1] - v_r) / τ + x[t]        (decay_input=False)
    f[t] = ReLU(k h[t])
    s[t] = Θ(f[t] - v_th)

and the reset, on ``f`` (``scale_reset=False``)::

    v[t] = f[t] (1 - s[t]) + v_r s[t]   (hard)      v[t] = f[t] - v_th s[t]   (soft)

or on ``f / k`` (``scale_reset=True``)::

    v[t] = f[t]/k (1 - s[t]) + v_r s[t]   (hard)    v[t] = f[t]/k - (v_th/k) s[t]   (soft)

These are SpikingJelly's ``KLIFNode`` equations, evaluated in the same order; ``k`` is a
learnable scalar initialised to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .integrate_fire import fire, lif_charge, neuronal_reset


@dataclass(frozen=True)
class KLIFParams:
    """Constants of a KLIF neuron (``k`` is passed separately as a tensor).

    Attributes:
        tau: membrane time constant ``τ``.
        decay_input: whether the input is divided by ``τ`` too.
        scale_reset: reset ``f / k`` instead of ``f``.
        v_threshold: firing threshold.
        v_reset: hard-reset potential, ``None`` for soft reset.
        detach_reset: detach the spike used in the reset from the graph.
    """

    tau: float = 2.0
    decay_input: bool = True
    scale_reset: bool = False
    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    detach_reset: bool = False


def klif_scaled(
    x: torch.Tensor, v: torch.Tensor, k: torch.Tensor, params: KLIFParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """The LIF charge ``h`` and the scaled membrane ``f = ReLU(k h)``."""
    h = lif_charge(x, v, params.tau, params.decay_input, params.v_reset)
    return h, torch.relu(k * h)


def klif_reset(f: torch.Tensor, spike: torch.Tensor, k: torch.Tensor, params: KLIFParams) -> torch.Tensor:
    """The membrane after the reset of ``f`` (or of ``f / k`` with ``scale_reset``)."""
    if params.scale_reset:
        return neuronal_reset(f / k, spike, params.v_threshold / k, params.v_reset, params.detach_reset)
    return neuronal_reset(f, spike, params.v_threshold, params.v_reset, params.detach_reset)


def klif_step(
    x: torch.Tensor, v: torch.Tensor, k: torch.Tensor, params: KLIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """One KLIF step.

    Returns:
        ``(spike, v_next)``.
    """
    _, f = klif_scaled(x, v, k, params)
    spike = fire(f, params.v_threshold, surrogate_function)
    return spike, klif_reset(f, spike, k, params)


def klif_multistep_reference(
    x_seq: torch.Tensor, v_init: torch.Tensor, k: torch.Tensor, params: KLIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step autograd loop of :func:`klif_step` over ``x_seq`` ``[T, N, *]``.

    ``k`` may be float32 with 16-bit ``x_seq``: it is cast to ``x_seq``'s dtype here (the
    fused GPU kernels instead keep it in float32, as their arithmetic).

    Returns:
        ``(spike_seq, v_seq)``, both ``[T, N, *]``.
    """
    k = k.to(x_seq.dtype)
    v = v_init
    spikes, vs = [], []
    for x in x_seq.unbind(0):
        spike, v = klif_step(x, v, k, params, surrogate_function)
        spikes.append(spike)
        vs.append(v)
    return torch.stack(spikes), torch.stack(vs)
