r"""KLIF neuron: LIF with a learnable scale ``k`` before firing.

Per step ``t`` (Jiang & Zhang 2023, "KLIF: An optimized spiking neuron unit for tuning
surrogate gradient slope and membrane potential", arXiv:2302.09238; ``v_r`` = ``v_reset``
or 0 for soft reset)::

    h[t] = v[t-1] + (x[t] - (v[t-1] - v_r)) / τ     (decay_input)  or  v[t-1] - (v[t-1] - v_r)/τ + x[t]
    f[t] = ReLU(k h[t]),     s[t] = Θ(f[t] - v_th)
    v[t] = f[t] (1 - s[t]) + v_r s[t]  (hard)    or   f[t] - v_th s[t]  (soft)
    with scale_reset: v[t] = f[t]/k (1 - s[t]) + v_r s[t]  (hard)  or  (f[t] - v_th s[t]) / k  (soft)

``k`` is a learnable scalar starting at 1. Same class name, arguments, parameter name and
equations as SpikingJelly's ``KLIFNode`` (plus ``backend=``). See
:mod:`jelly.neurons.functional.klif`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..backends.torch_klif import KLIF_OP
from ..functional.klif import KLIFParams, klif_step
from ._zoo_base import check_number
from .base_node import BaseNode


class KLIFNode(BaseNode):
    """KLIF neuron (equations in the module docstring).

    Args:
        scale_reset: reset ``f / k`` instead of ``f``.
        tau: membrane time constant, ``> 1``.
        decay_input: whether the input is divided by ``τ`` too.
        v_threshold: firing threshold, ``> 0`` (``f`` is never negative).
        v_reset: hard-reset potential; ``None`` for soft reset.
        surrogate_function, detach_reset, step_mode, backend, store_v_seq: see
            :class:`~jelly.neurons.modules.base_node.BaseNode`.

    Attributes:
        k: the learnable scale (0-d parameter).

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    op_name = KLIF_OP

    def __init__(
        self,
        scale_reset: bool = False,
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
        name = type(self).__name__
        tau = check_number(name, "tau", tau, gt=1.0)
        check_number(name, "v_threshold", v_threshold, gt=0.0)
        super().__init__(
            v_threshold, v_reset, surrogate_function, detach_reset, step_mode, backend, store_v_seq
        )
        self.scale_reset = bool(scale_reset)
        self.tau = tau
        self.decay_input = bool(decay_input)
        self.k = nn.Parameter(torch.tensor(1.0))

    def extra_repr(self) -> str:
        return (
            f"scale_reset={self.scale_reset}, tau={self.tau}, decay_input={self.decay_input}, "
            + super().extra_repr()
        )

    def _params(self) -> KLIFParams:
        return KLIFParams(
            self.tau, self.decay_input, self.scale_reset, self.v_threshold, self.v_reset, self.detach_reset
        )

    def _step(self, x: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return klif_step(x, v, self._k_like(x), self._params(), self.surrogate_function)

    def _multi_step(self, x_seq: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # k as it is (float32): the torch backends cast it to the input dtype, the GPU kernels compute in float32
        return self.describe(x_seq).fn(x_seq, v, self.k, self._params(), self.surrogate_function)

    def _k_like(self, x: torch.Tensor) -> torch.Tensor:
        return self.k if self.k.dtype == x.dtype else self.k.to(x.dtype)
