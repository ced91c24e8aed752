r"""Nonlinear integrate-and-fire neurons: quadratic (QIF) and exponential (EIF).

Both charge with a nonlinear function of the previous membrane ``v[t-1]`` (one Euler step
of width 1 of the continuous model), then fire and reset like the IF/LIF neurons of
:mod:`jelly.neurons.functional.integrate_fire`:

* **QIF** (quadratic integrate-and-fire; Ermentrout & Kopell 1986, "Parabolic bursting in
  an excitable system coupled with a slow oscillation", SIAM J. Appl. Math.; see also
  Gerstner et al. 2014, *Neuronal Dynamics*, ch. 5.3)::

      h[t] = v[t-1] + (x[t] + a0 (v[t-1] - v_rest)(v[t-1] - v_c)) / τ

* **EIF** (exponential integrate-and-fire; Fourcaud-Trocmé, Hansel, van Vreeswijk & Brunel
  2003, "How spike generation mechanisms determine the neuronal response to fluctuating
  inputs", J. Neurosci. 23(37))::

      h[t] = v[t-1] + (x[t] + v_rest - v[t-1] + Δ_T exp((v[t-1] - θ_rh) / Δ_T)) / τ

then ``s[t] = Θ(h[t] - v_th)`` and the reset ``v[t] = h[t](1 - s[t]) + v_reset s[t]``
(hard) or ``v[t] = h[t] - v_th s[t]`` (soft, ``v_reset=None``).

These are SpikingJelly's ``QIFNode``/``EIFNode`` equations, evaluated in the same order.
Backward partials used by the fused backend (:mod:`jelly.neurons.backends.torch_nonlinear_if`):
QIF ``∂h/∂v = 1 + a0 (2 v - v_rest - v_c) / τ``; EIF ``∂h/∂v = 1 + (exp((v - θ_rh)/Δ_T) - 1) / τ``;
both ``∂h/∂x = 1 / τ``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .integrate_fire import fire, neuronal_reset


@dataclass(frozen=True)
class QIFParams:
    """Constants of a QIF neuron (see the module docstring).

    Attributes:
        tau: membrane time constant ``τ``.
        v_c: critical voltage ``v_c``.
        a0: quadratic coefficient ``a0``.
        v_threshold: firing threshold.
        v_rest: resting potential.
        v_reset: hard-reset potential, ``None`` for soft reset.
        detach_reset: detach the spike used in the reset from the graph.
    """

    tau: float = 2.0
    v_c: float = 0.8
    a0: float = 1.0
    v_threshold: float = 1.0
    v_rest: float = 0.0
    v_reset: float | None = -0.1
    detach_reset: bool = False


@dataclass(frozen=True)
class EIFParams:
    """Constants of an EIF neuron (see the module docstring).

    Attributes:
        tau: membrane time constant ``τ``.
        delta_T: sharpness ``Δ_T`` of the exponential.
        theta_rh: rheobase threshold ``θ_rh``.
        v_threshold: firing threshold.
        v_rest: resting potential.
        v_reset: hard-reset potential, ``None`` for soft reset.
        detach_reset: detach the spike used in the reset from the graph.
    """

    tau: float = 2.0
    delta_T: float = 1.0
    theta_rh: float = 0.8
    v_threshold: float = 1.0
    v_rest: float = 0.0
    v_reset: float | None = -0.1
    detach_reset: bool = False


def qif_charge(x: torch.Tensor, v: torch.Tensor, params: QIFParams) -> torch.Tensor:
    """QIF charge ``h = v + (x + a0 (v - v_rest)(v - v_c)) / τ``."""
    return v + (x + params.a0 * (v - params.v_rest) * (v - params.v_c)) / params.tau


def qif_charge_dv(v: torch.Tensor, params: QIFParams) -> torch.Tensor:
    """``∂h/∂v = 1 + a0 (2 v - v_rest - v_c) / τ`` of the QIF charge, evaluated as one affine map."""
    return torch.mul(v, 2.0 * params.a0 / params.tau).add_(1.0 - params.a0 * (params.v_rest + params.v_c) / params.tau)


def eif_charge(x: torch.Tensor, v: torch.Tensor, params: EIFParams) -> torch.Tensor:
    """EIF charge ``h = v + (x + v_rest - v + Δ_T exp((v - θ_rh)/Δ_T)) / τ``."""
    return v + (x + params.v_rest - v + params.delta_T * torch.exp((v - params.theta_rh) / params.delta_T)) / params.tau


def eif_charge_dv(v: torch.Tensor, params: EIFParams) -> torch.Tensor:
    """``∂h/∂v = 1 + (exp((v - θ_rh)/Δ_T) - 1) / τ`` of the EIF charge."""
    return torch.exp((v - params.theta_rh) / params.delta_T).mul_(1.0 / params.tau).add_(1.0 - 1.0 / params.tau)


def _step(charge, x, v, params, surrogate_function):
    h = charge(x, v, params)
    spike = fire(h, params.v_threshold, surrogate_function)
    v_next = neuronal_reset(h, spike, params.v_threshold, params.v_reset, params.detach_reset)
    return spike, v_next


def qif_step(
    x: torch.Tensor, v: torch.Tensor, params: QIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """One QIF step: charge, fire, reset.

    Returns:
        ``(spike, v_next)``.
    """
    return _step(qif_charge, x, v, params, surrogate_function)


def eif_step(
    x: torch.Tensor, v: torch.Tensor, params: EIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """One EIF step: charge, fire, reset.

    Returns:
        ``(spike, v_next)``.
    """
    return _step(eif_charge, x, v, params, surrogate_function)


def _multistep(step, x_seq, v_init, params, surrogate_function):
    v = v_init
    spikes, vs = [], []
    for x in x_seq.unbind(0):
        spike, v = step(x, v, params, surrogate_function)
        spikes.append(spike)
        vs.append(v)
    return torch.stack(spikes), torch.stack(vs)


def qif_multistep_reference(
    x_seq: torch.Tensor, v_init: torch.Tensor, params: QIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step autograd loop of :func:`qif_step` over ``x_seq`` ``[T, N, *]``.

    Returns:
        ``(spike_seq, v_seq)``, both ``[T, N, *]`` (``v_seq[t]`` after the reset of step ``t``).
    """
    return _multistep(qif_step, x_seq, v_init, params, surrogate_function)


def eif_multistep_reference(
    x_seq: torch.Tensor, v_init: torch.Tensor, params: EIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step autograd loop of :func:`eif_step` over ``x_seq`` ``[T, N, *]``.

    Returns:
        ``(spike_seq, v_seq)``, both ``[T, N, *]``.
    """
    return _multistep(eif_step, x_seq, v_init, params, surrogate_function)
