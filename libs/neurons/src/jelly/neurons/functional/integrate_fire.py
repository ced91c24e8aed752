r"""Integrate-and-fire dynamics with a charge that is linear in ``v`` and ``x``.

Every neuron here runs three phases per time step ``t``:

1. **charge**  ``h[t] = f(v[t-1], x[t])``
2. **fire**    ``s[t] = Θ(h[t] - v_th)`` (Heaviside forward, surrogate gradient backward)
3. **reset**   hard: ``v[t] = h[t] (1 - s[t]) + v_reset s[t]``;
   soft (``v_reset=None``): ``v[t] = h[t] - v_th s[t]``.
   With ``detach_reset=True`` the ``s[t]`` used by the reset is detached from the graph.

Charges (``v_r = v_reset``, or ``0`` for soft reset):

* IF:   ``h = v + x``
* LIF (``decay_input=True``):  ``h = v + (x - (v - v_r)) / τ``
* LIF (``decay_input=False``): ``h = v - (v - v_r) / τ + x``
* PLIF: as LIF with ``1/τ = sigmoid(w)`` and ``w`` learnable
  (Fang et al., "Incorporating Learnable Membrane Time Constant to Enhance Learning of
  Spiking Neural Networks", ICCV 2021): ``h = v + (x - (v - v_r)) k`` or
  ``h = v - (v - v_r) k + x`` with ``k = sigmoid(w)``.

All of them are ``h = a v + b x + c`` for constants (or, for PLIF, parameters) ``a, b, c``,
which is what the fused backward in :mod:`jelly.neurons.backends.torch_bptt` uses.
The expressions below are evaluated in exactly this order by every backend, so the forward
of every backend matches the reference bit for bit on the same device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

KINDS = ("if", "lif", "plif")


@dataclass(frozen=True)
class LinearChargeParams:
    """Constants of an IF/LIF/PLIF neuron.

    Attributes:
        kind: ``'if'``, ``'lif'`` or ``'plif'``.
        v_threshold: firing threshold ``v_th``.
        v_reset: reset potential for hard reset, ``None`` for soft reset.
        tau: membrane time constant (LIF only).
        decay_input: whether the input is divided by ``τ`` too (LIF/PLIF).
        detach_reset: detach the spike used in the reset from the graph.
    """

    kind: str
    v_threshold: float = 1.0
    v_reset: float | None = 0.0
    tau: float = 2.0
    decay_input: bool = True
    detach_reset: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")


def if_charge(x: torch.Tensor, v: torch.Tensor | float) -> torch.Tensor:
    """IF charge ``h = v + x``."""
    return v + x


def lif_charge(
    x: torch.Tensor, v: torch.Tensor | float, tau: float, decay_input: bool, v_reset: float | None
) -> torch.Tensor:
    """LIF charge (see the module docstring for the four cases)."""
    if decay_input:
        if v_reset is None or v_reset == 0.0:
            return v + (x - v) / tau
        return v + (x - (v - v_reset)) / tau
    if v_reset is None or v_reset == 0.0:
        return v - v / tau + x
    return v - (v - v_reset) / tau + x


def plif_charge(
    x: torch.Tensor, v: torch.Tensor | float, k: torch.Tensor, decay_input: bool, v_reset: float | None
) -> torch.Tensor:
    """PLIF charge with ``k = sigmoid(w) = 1/τ`` (a 0-d tensor)."""
    if decay_input:
        if v_reset is None or v_reset == 0.0:
            return v + (x - v) * k
        return v + (x - (v - v_reset)) * k
    if v_reset is None or v_reset == 0.0:
        return v - v * k + x
    return v - (v - v_reset) * k + x


def linear_charge(
    x: torch.Tensor, v: torch.Tensor | float, params: LinearChargeParams, k: torch.Tensor | None = None
) -> torch.Tensor:
    """Dispatch to the charge of ``params.kind``; ``k = sigmoid(w)`` is needed for PLIF."""
    if params.kind == "if":
        return if_charge(x, v)
    if params.kind == "lif":
        return lif_charge(x, v, params.tau, params.decay_input, params.v_reset)
    if k is None:
        raise ValueError("PLIF charge needs k = sigmoid(w)")
    return plif_charge(x, v, k, params.decay_input, params.v_reset)


def fire(h: torch.Tensor, v_threshold: float, surrogate_function) -> torch.Tensor:
    """Spike ``s = Θ(h - v_th)`` with the surrogate's gradient."""
    return surrogate_function(h - v_threshold)


def neuronal_reset(
    h: torch.Tensor, spike: torch.Tensor, v_threshold: float, v_reset: float | None, detach_reset: bool
) -> torch.Tensor:
    """Membrane after the reset: hard ``h (1 - s) + v_r s`` or soft ``h - v_th s``."""
    if detach_reset:
        spike = spike.detach()
    if v_reset is None:
        return h - spike * v_threshold
    return (1.0 - spike) * h + spike * v_reset


def linear_charge_step(
    x: torch.Tensor,
    v: torch.Tensor | float,
    params: LinearChargeParams,
    surrogate_function,
    k: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One time step of an IF/LIF/PLIF neuron.

    Returns:
        ``(spike, v_next, h)``: the spike, the membrane after reset and before the next
        input, and the membrane after charging (before reset).
    """
    h = linear_charge(x, v, params, k)
    spike = fire(h, params.v_threshold, surrogate_function)
    v_next = neuronal_reset(h, spike, params.v_threshold, params.v_reset, params.detach_reset)
    return spike, v_next, h


def linear_charge_multistep_reference(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    params: LinearChargeParams,
    surrogate_function,
    k: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain per-step autograd loop over ``T``: the numerical reference.

    Args:
        x_seq: ``[T, N, *]`` input.
        v_init: ``[N, *]`` membrane before the first step.

    Returns:
        ``(spike_seq, v_seq)``, both ``[T, N, *]``; ``v_seq[t]`` is the membrane after the
        reset of step ``t``.
    """
    v = v_init
    spikes, vs = [], []
    for x in x_seq.unbind(0):
        spike, v, _ = linear_charge_step(x, v, params, surrogate_function, k)
        spikes.append(spike)
        vs.append(v)
    return torch.stack(spikes), torch.stack(vs)
