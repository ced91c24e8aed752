r"""Non-spiking IF/LIF read-out neurons: integrate, never fire, output the membrane.

Per step ``t``::

    NonSpikingIFNode:   v[t] = v[t-1] + x[t]
    NonSpikingLIFNode:  v[t] = v[t-1] + (x[t] - v[t-1]) / τ

with ``v`` starting at 0. In multi-step mode the output is ``v_seq`` ``[T, N, *]`` or, with
``decode=``, its decoding over time: ``'max-mem'``, ``'max-abs-mem'``, ``'mean-mem'`` or
``'last_mem'`` (see :mod:`jelly.neurons.functional.non_spiking`); in single-step mode the
output is ``v[t]`` whatever ``decode`` is. A membrane read-out is the usual last layer of
SNNs trained on the membrane potential (e.g. Fang et al. 2021, ICCV).

Same class names, arguments and equations as SpikingJelly's ``NonSpikingIFNode`` and
``NonSpikingLIFNode``, with ``step_mode='m'`` by default as there. Deliberate differences:
the membrane is a state kept between calls and cleared by ``reset()`` like every other
neuron (SpikingJelly zeroes it at every call), single-step mode is supported, and
``decode=None`` returns a tensor ``[T, N, *]`` instead of a list.
"""

from __future__ import annotations

import torch

from ..backends.torch_non_spiking import NON_SPIKING_OP
from ..functional.non_spiking import DECODES, decode_membrane, non_spiking_if_step, non_spiking_lif_step
from ._zoo_base import check_number
from .base_node import BaseNode


class NonSpikingIFNode(BaseNode):
    """Non-spiking IF read-out (equations in the module docstring).

    Args:
        decode: ``None`` or one of ``'max-mem'``, ``'max-abs-mem'``, ``'mean-mem'``, ``'last_mem'``.
        step_mode: ``'m'`` (default, as SpikingJelly) or ``'s'``.
        backend: ``'auto'``, ``'torch'`` (fused BPTT) or ``'reference'``.

    Raises:
        ValueError: ``decode`` is not a known decoding.
    """

    op_name = NON_SPIKING_OP

    def __init__(self, decode: str | None = None, step_mode: str = "m", backend: str = "auto") -> None:
        if decode not in DECODES:
            raise ValueError(f"{type(self).__name__}: decode must be one of {DECODES}, got {decode!r}")
        super().__init__(1.0, None, None, False, step_mode, backend, False)
        self.decode = decode

    def _tau(self) -> float | None:
        return None

    def extra_repr(self) -> str:
        return f"decode={self.decode!r}, step_mode={self.step_mode}, backend={self.backend}"

    def _step(self, x: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tau = self._tau()
        v_next = non_spiking_if_step(x, v) if tau is None else non_spiking_lif_step(x, v, tau)
        return v_next, v_next

    def _multi_step(self, x_seq: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_seq = self.describe(x_seq).fn(x_seq, v, self._tau())
        return v_seq, v_seq

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return decode_membrane(super().multi_step_forward(x_seq), self.decode)


class NonSpikingLIFNode(NonSpikingIFNode):
    """Non-spiking LIF read-out (equations in the module docstring).

    Args:
        tau: membrane time constant, ``> 1``.
        decode, step_mode, backend: see :class:`NonSpikingIFNode`.

    Raises:
        ValueError: ``tau <= 1`` or ``decode`` is not a known decoding.
    """

    def __init__(
        self, tau: float = 2.0, decode: str | None = None, step_mode: str = "m", backend: str = "auto"
    ) -> None:
        tau = check_number(type(self).__name__, "tau", tau, gt=1.0)
        super().__init__(decode, step_mode, backend)
        self.tau = tau

    def _tau(self) -> float | None:
        return self.tau

    def extra_repr(self) -> str:
        return f"tau={self.tau}, " + super().extra_repr()
