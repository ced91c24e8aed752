r"""LIAF neuron: leaky integrate and analog fire (outputs are not binary).

Per step ``t`` (Wu et al. 2021, "LIAF-Net: Leaky Integrate and Analog Fire Network for
Lightweight and Efficient Spatiotemporal Information Processing", IEEE TNNLS,
arXiv:2011.06176; ``v_r`` = ``v_reset`` or 0 for soft reset)::

    h[t] = v[t-1] + (x[t] - (v[t-1] - v_r)) / τ     (decay_input)  or  v[t-1] - (v[t-1] - v_r)/τ + x[t]
    y[t] = act(h[t] - v_th)   (threshold_related)   or   act(h[t])
    s[t] = Θ(h[t] - v_th)
    v[t] = h[t] (1 - s[t]) + v_r s[t]   (hard)      v[t] = h[t] - v_th s[t]   (soft)

The module returns ``y``. Same class name, arguments (``act``, ``threshold_related``, then
those of :class:`~jelly.neurons.LIFNode`) and equations as SpikingJelly's ``LIAFNode``.
See :mod:`jelly.neurons.functional.liaf`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..backends.torch_liaf import LIAF_OP
from ..functional.liaf import liaf_step
from .integrate_fire import LIFNode


class LIAFNode(LIFNode):
    """LIAF neuron (equations in the module docstring).

    Args:
        act: the activation producing the analog output (a callable, e.g. ``torch.nn.ReLU()``).
        threshold_related: output ``act(h - v_th)`` if ``True``, else ``act(h)``.
        tau, decay_input, v_threshold, v_reset, surrogate_function, detach_reset, step_mode,
            backend, store_v_seq: see :class:`~jelly.neurons.LIFNode`.

    Raises:
        TypeError: ``act`` is not callable.
        ValueError: ``tau <= 1`` or another argument is out of range.
    """

    op_name = LIAF_OP

    def __init__(
        self,
        act: Callable[[torch.Tensor], torch.Tensor],
        threshold_related: bool,
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
        if not callable(act):
            raise TypeError(
                f"LIAFNode: act must be a callable activation, got {act!r} ({type(act).__name__})"
            )
        super().__init__(
            tau,
            decay_input,
            v_threshold,
            v_reset,
            surrogate_function,
            detach_reset,
            step_mode,
            backend,
            store_v_seq,
        )
        self.act = act
        self.threshold_related = bool(threshold_related)

    def extra_repr(self) -> str:
        return f"threshold_related={self.threshold_related}, " + super().extra_repr()

    def _step(self, x: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return liaf_step(x, v, self._params(), self.act, self.threshold_related, self.surrogate_function)

    def _multi_step(self, x_seq: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.describe(x_seq).fn(
            x_seq, v, self._params(), self.act, self.threshold_related, self.surrogate_function
        )
