r"""Weighted phase encoder (Kim et al., "Deep neural networks with weighted spikes",
Neurocomputing 311, 2018).

A period has :math:`K` phases; a spike in phase :math:`i` (:math:`i = 0 .. K-1`) weighs

.. math:: \omega_i = 2^{-(i+1)},

and the spikes are the first :math:`K` binary digits of the input:

.. math:: x \approx \sum_{i=0}^{K-1} s_i\, 2^{-(i+1)}, \qquad
          s_i = \left\lfloor 2^{i+1} x \right\rfloor \bmod 2,

with :math:`0 \le x - \sum_i s_i 2^{-(i+1)} < 2^{-K}`. Inputs must lie in
:math:`[0, 1 - 2^{-K}]`, the largest value the :math:`K` digits can represent.

The digits are computed greedily from the most significant one (residual
:math:`r_0 = x`, :math:`s_i = \mathbb{1}[r_i \ge \omega_i]`,
:math:`r_{i+1} = r_i - s_i \omega_i`) in float64 (float32 on MPS); every subtraction is exact
(:math:`\omega_i \le r_i < 2\omega_i` when :math:`s_i = 1`), so the digits are exact.

Examples with :math:`K = 8`: :math:`192/256 \to 11000000`, :math:`1/256 \to 00000001`,
:math:`128/256 \to 10000000`, :math:`255/256 \to 11111111`.
"""

from __future__ import annotations

import torch

from ._checks import check_floating, check_positive_int, check_range, work_dtype
from .base import StatefulEncoder


class WeightedPhaseEncoder(StatefulEncoder):
    """Stateful weighted-phase (binary) encoder with ``K`` phases per period.

    Args:
        K: number of phases, i.e. the period ``T``; inputs must lie in ``[0, 1 - 2**-K]``.
        step_mode: ``'s'`` or ``'m'`` (see :class:`~jelly.encoders.StatefulEncoder`).

    Example:
        >>> enc = WeightedPhaseEncoder(K=8, step_mode='m')
        >>> x = torch.tensor([[192 / 256, 1 / 256]])
        >>> enc(x.expand(8, 1, 2))[:, 0].T.int().tolist()
        [[1, 1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 1]]
    """

    def __init__(self, K: int, step_mode: str = "s") -> None:
        super().__init__(check_positive_int(K, "K", "WeightedPhaseEncoder"), step_mode)

    @property
    def K(self) -> int:
        """Number of phases (the period ``T``)."""
        return self.T

    @property
    def max_input(self) -> float:
        """Largest encodable input, ``1 - 2**-K``."""
        return 1.0 - 2.0**-self.T

    def check_sample(self, x: torch.Tensor) -> None:
        """Require a floating-point input in ``[0, 1 - 2**-K]``."""
        check_floating(x, self)
        check_range(x, 0.0, self.max_input, self, f"[0, 1 - 2^-{self.T}] = [0, {self.max_input!r}]")

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the binary digits of ``x`` as spikes ``[K, N, *]`` (most significant first)."""
        residual = x.to(work_dtype(x.device), copy=True)
        spike = torch.zeros((self.T, *x.shape), dtype=x.dtype, device=x.device)
        weight = 0.5
        for i in range(self.T):
            if weight == 0.0:  # below the smallest float64: the residual is already 0
                break
            fired = residual >= weight
            spike[i] = fired.to(x.dtype)
            residual -= fired * weight
            weight *= 0.5
        return spike

    def extra_repr(self) -> str:
        return f"K={self.T}, step_mode={self.step_mode}"
