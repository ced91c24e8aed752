r"""A stateful synapse: the exponentially decaying synaptic current (SpikingJelly's ``SynapseFilter``).

Between input spikes the output current ``I`` decays with time constant ``τ``,
``τ dI/dt = -I``; each input spike adds 1. In discrete time, with input ``S[t]``:

.. math::

    I[t] = I[t-1] - (1 - S[t]) \frac{I[t-1]}{\tau} + S[t], \qquad I[-1] = 0.

For binary spikes this is the closed form

.. math::

    I[t] = \sum_{s \le t,\; S[s] = 1} \left(1 - \frac{1}{\tau}\right)^{n(s, t)},

where ``n(s, t)`` counts the spike-free steps in ``(s, t]``: a step with a spike adds 1
without decaying, a step without one multiplies the current by ``1 - 1/τ``. A single
spike at step 0 thus gives ``I[t] = (1 - 1/τ)^t``. The update is applied as written for
real-valued inputs too (the decay factor is then ``1 - (1 - x)/τ``).

The synapse is a LIF neuron with an infinite threshold; its final current summarises how
many spikes arrived and how recently, a smooth read-out in the last layer (Diehl & Cook 2015;
Gu et al. 2019, "STCA"; Lee et al. 2020, "Enabling spike-based backpropagation").

``learnable=True`` makes ``1/τ = sigmoid(w)`` with a learnable ``w`` initialised to
``-log(τ - 1)`` (as SpikingJelly's ``SynapseFilter`` and ``ParametricLIFNode``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..base import MemoryModule, StateShapeError, StepModeError, check_sequence_input


class SynapseFilter(MemoryModule):
    """Exponential synaptic current filter (a stateful layer).

    Args:
        tau: time constant ``τ > 1`` (the initial value when ``learnable``).
        learnable: learn ``1/τ = sigmoid(w)`` (parameter ``w``) instead of a fixed ``τ``.
        step_mode: ``'s'`` (input ``[N, *]``, state kept between calls) or ``'m'``
            (input ``[T, N, *]``).

    State: ``out_i``, the current, ``0.0`` until the first input, then a tensor of one
    step's shape. An input of another shape without :meth:`reset` (or
    ``functional.reset_net``) raises :class:`~jelly.core.base.StateShapeError`.

    Raises:
        ValueError: ``tau <= 1`` (the decay per step would not lie in ``[0, 1)``).

    Example::

        syn = SynapseFilter(tau=10.0, step_mode="m")
        current = syn(spike_seq)  # [T, N, *] -> [T, N, *]
    """

    def __init__(self, tau: float = 100.0, learnable: bool = False, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau) or tau <= 1.0:
            raise ValueError(
                f"SynapseFilter needs a finite tau > 1 (the decay per step is 1/tau), got {tau!r}"
            )
        self.learnable = bool(learnable)
        if self.learnable:
            self.w = nn.Parameter(torch.tensor(-math.log(tau - 1.0)))
        else:
            self.tau = float(tau)
        self.register_memory("out_i", 0.0)

    def reciprocal_tau(self) -> torch.Tensor | float:
        """``1/τ``: ``sigmoid(w)`` when learnable, else the constant."""
        return self.w.sigmoid() if self.learnable else 1.0 / self.tau

    def extra_repr(self) -> str:
        if self.learnable:
            with torch.no_grad():
                tau = 1.0 / self.w.sigmoid().item()
        else:
            tau = self.tau
        return f"tau={tau}, learnable={self.learnable}, step_mode={self.step_mode}"

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"SynapseFilter expects a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(
                f"SynapseFilter expects a floating-point input, got dtype {x.dtype}; use x.float()"
            )

    def _initial_current(self, x: torch.Tensor) -> torch.Tensor:
        out_i = self.out_i
        if not isinstance(out_i, torch.Tensor):
            return torch.full_like(x, float(out_i))
        if out_i.shape != x.shape:
            raise StateShapeError(
                f"SynapseFilter: input of shape {tuple(x.shape)} does not match the stored current of shape "
                f"{tuple(out_i.shape)}; call jelly.core.functional.reset_net(net) between batches"
            )
        return out_i.to(device=x.device, dtype=x.dtype)

    @staticmethod
    def _update(x: torch.Tensor, out_i: torch.Tensor, inv_tau) -> torch.Tensor:
        return out_i - (1.0 - x) * out_i * inv_tau + x

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step: ``x`` ``[N, *]`` -> current ``[N, *]`` (also kept as ``self.out_i``)."""
        self._check_input(x)
        if x.dim() < 1:
            raise StepModeError("SynapseFilter expects input [N, *], got a 0-d tensor")
        self.out_i = self._update(x, self._initial_current(x), self.reciprocal_tau())
        return self.out_i

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """All steps: ``x_seq`` ``[T, N, *]`` -> currents ``[T, N, *]``; the last is kept."""
        self._check_input(x_seq)
        check_sequence_input(x_seq, self)
        out_i = self._initial_current(x_seq[0])
        inv_tau = self.reciprocal_tau()
        currents = []
        for x in x_seq.unbind(0):
            out_i = self._update(x, out_i, inv_tau)
            currents.append(out_i)
        self.out_i = out_i
        return torch.stack(currents)


__all__ = ["SynapseFilter"]
