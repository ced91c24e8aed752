"""IF, LIF and parametric LIF neurons (module wrappers of the functional dynamics).

Equations (``v_r`` = ``v_reset``, or 0 with soft reset), per step ``t``:

* IF:   ``h[t] = v[t-1] + x[t]``
* LIF:  ``h[t] = v[t-1] + (x[t] - (v[t-1] - v_r)) / τ`` (``decay_input=True``) or
  ``h[t] = v[t-1] - (v[t-1] - v_r) / τ + x[t]`` (``decay_input=False``)
* PLIF: LIF with ``1/τ = sigmoid(w)``, ``w`` learned (Fang et al., ICCV 2021)

then ``s[t] = Θ(h[t] - v_th)`` and the reset ``v[t] = h[t](1 - s[t]) + v_r s[t]`` (hard)
or ``v[t] = h[t] - v_th s[t]`` (soft, ``v_reset=None``). See
:mod:`jelly.neurons.functional.integrate_fire`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..backends.torch_backends import LINEAR_CHARGE_OP
from ..functional.integrate_fire import LinearChargeParams, linear_charge_step
from .base_node import BaseNode


class _LinearChargeNode(BaseNode):
    """Shared code of IF/LIF/PLIF: the step and multi-step via the backend registry."""

    op_name = LINEAR_CHARGE_OP

    def _params(self) -> LinearChargeParams:
        raise NotImplementedError

    def _w(self) -> torch.Tensor | None:
        return None

    def _step(self, x: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w = self._w()
        k = torch.sigmoid(w) if w is not None else None
        spike, v_next, _ = linear_charge_step(x, v, self._params(), self.surrogate_function, k)
        return spike, v_next

    def _multi_step(self, x_seq: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        impl = self.describe(x_seq)
        return impl.fn(x_seq, v, self._params(), self.surrogate_function, self._w())


class IFNode(_LinearChargeNode):
    """Integrate-and-fire neuron: ``h[t] = v[t-1] + x[t]``, fire at ``v_threshold``, reset.

    Arguments as :class:`~jelly.neurons.modules.base_node.BaseNode`.
    """

    def _params(self) -> LinearChargeParams:
        return LinearChargeParams("if", self.v_threshold, self.v_reset, detach_reset=self.detach_reset)


class LIFNode(_LinearChargeNode):
    """Leaky integrate-and-fire neuron.

    Args:
        tau: membrane time constant ``τ > 1``.
        decay_input: if ``True`` the input is divided by ``τ`` as well.
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend,
            store_v_seq: see :class:`~jelly.neurons.modules.base_node.BaseNode`.
    """

    def __init__(
        self,
        tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function=None,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "auto",
        store_v_seq: bool = False,
    ) -> None:
        if not (isinstance(tau, (int, float)) and tau > 1.0):
            raise ValueError(f"LIFNode needs tau > 1 (the decay per step is 1/tau), got tau={tau!r}")
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.tau = float(tau)
        self.decay_input = bool(decay_input)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, decay_input={self.decay_input}, " + super().extra_repr()

    def _params(self) -> LinearChargeParams:
        return LinearChargeParams(
            "lif", self.v_threshold, self.v_reset, self.tau, self.decay_input, self.detach_reset
        )


class ParametricLIFNode(_LinearChargeNode):
    """LIF neuron whose time constant is learned: ``1/τ = sigmoid(w)``.

    Args:
        init_tau: initial ``τ > 1``; ``w`` starts at ``-log(init_tau - 1)``.
        decay_input: if ``True`` the input is scaled by ``1/τ`` as well.
        v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend,
            store_v_seq: see :class:`~jelly.neurons.modules.base_node.BaseNode`.
    """

    def __init__(
        self,
        init_tau: float = 2.0,
        decay_input: bool = True,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function=None,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "auto",
        store_v_seq: bool = False,
    ) -> None:
        if not (isinstance(init_tau, (int, float)) and init_tau > 1.0):
            raise ValueError(f"ParametricLIFNode needs init_tau > 1, got init_tau={init_tau!r}")
        super().__init__(v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq)
        self.decay_input = bool(decay_input)
        self.w = nn.Parameter(torch.tensor(-math.log(init_tau - 1.0)))

    @property
    def tau(self) -> float:
        """The current time constant ``1 / sigmoid(w)``."""
        return float(1.0 / torch.sigmoid(self.w.detach()))

    def extra_repr(self) -> str:
        return f"tau={self.tau:.4f}, decay_input={self.decay_input}, " + super().extra_repr()

    def _w(self) -> torch.Tensor:
        return self.w

    def _params(self) -> LinearChargeParams:
        return LinearChargeParams(
            "plif", self.v_threshold, self.v_reset, decay_input=self.decay_input, detach_reset=self.detach_reset
        )
