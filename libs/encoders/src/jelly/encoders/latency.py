r"""Latency (time-to-first-spike) encoder.

An input :math:`x \in [0, 1]` fires exactly one spike per period of :math:`T` steps, at the
step :math:`t_f(x) \in \{0, \dots, T-1\}`: the larger the input, the earlier the spike.

* ``enc_function='linear'``:

  .. math:: t_f(x) = \operatorname{round}\big((T - 1)(1 - x)\big)

* ``enc_function='log'``:

  .. math:: t_f(x) = \operatorname{round}\big((T - 1) - \ln(\alpha x + 1)\big),
            \qquad \alpha = e^{T - 1} - 1,

  where :math:`\alpha` is chosen so that :math:`t_f(1) = 0` (and :math:`t_f(0) = T - 1`).
  The logarithm is evaluated as :math:`\operatorname{logaddexp}(\ln\alpha + \ln x, 0)`, so
  it stays finite for any :math:`T` (the naive :math:`e^{T-1}` overflows float32 beyond
  :math:`T \approx 89`).

Spike times are computed in float64 (float32 on MPS) and rounded to the nearest integer,
ties to even (``torch.round``), whatever the input's dtype; the spikes come back in the
input's dtype.
"""

from __future__ import annotations

import math

import torch

from ._checks import check_floating, check_range, work_dtype
from .base import StatefulEncoder

ENC_FUNCTIONS = ("linear", "log")


class LatencyEncoder(StatefulEncoder):
    """Stateful latency encoder: one spike per element and period, earlier for larger input.

    Args:
        T: the period; spikes fire at steps ``0 .. T-1``.
        enc_function: ``'linear'`` or ``'log'`` (see the module docstring for the formulas).
        step_mode: ``'s'`` or ``'m'`` (see :class:`~jelly.encoders.StatefulEncoder`).

    Example:
        >>> enc = LatencyEncoder(T=5, step_mode='m')
        >>> x = torch.tensor([[1.0, 0.5, 0.0]])
        >>> enc(x.expand(5, 1, 3)).argmax(0)  # spike times (T-1)(1-x)
        tensor([[0, 2, 4]])
    """

    def __init__(self, T: int, enc_function: str = "linear", step_mode: str = "s") -> None:
        super().__init__(T, step_mode)
        if enc_function not in ENC_FUNCTIONS:
            raise ValueError(
                f"LatencyEncoder: enc_function must be one of {ENC_FUNCTIONS}, got {enc_function!r}"
            )
        self.enc_function = enc_function
        # ln(alpha) with alpha = e^(T-1) - 1, without overflow; alpha = 0 when T = 1.
        self.log_alpha = (T - 1) + math.log1p(-math.exp(-(T - 1))) if T > 1 else -math.inf

    @property
    def alpha(self) -> float:
        """The constant :math:`\\alpha = e^{T-1} - 1` of the log encoding (``inf`` if it overflows)."""
        try:
            return math.expm1(self.T - 1)
        except OverflowError:
            return math.inf

    def check_sample(self, x: torch.Tensor) -> None:
        """Require a floating-point input in ``[0, 1]``."""
        check_floating(x, self)
        check_range(x, 0.0, 1.0, self, "[0, 1]")

    def spike_time(self, x: torch.Tensor) -> torch.Tensor:
        """Return the firing step :math:`t_f(x)` of each element (``int64``, in ``[0, T-1]``)."""
        wide = x.to(work_dtype(x.device))
        if self.enc_function == "log":
            log_term = torch.logaddexp(torch.log(wide) + self.log_alpha, torch.zeros_like(wide))
            t_f = (self.T - 1) - log_term
        else:
            t_f = (self.T - 1) * (1.0 - wide)
        return t_f.round().clamp_(0, self.T - 1).long()

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the one-hot spike train ``[T, N, *]``: ``S[t] = 1`` where ``t == t_f(x)``."""
        t_f = self.spike_time(x)
        steps = torch.arange(self.T, device=x.device).view(self.T, *([1] * x.dim()))
        return (steps == t_f.unsqueeze(0)).to(x.dtype)

    def extra_repr(self) -> str:
        return f"T={self.T}, enc_function={self.enc_function!r}, step_mode={self.step_mode}"
