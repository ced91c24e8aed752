r"""Gaussian tuning-curve (population) encoder (Bohte, Kok and La Poutré, "Error-backpropagation
in temporally encoded networks of spiking neurons", Neurocomputing 48, 2002).

Each input feature with range :math:`[x_{min}, x_{max}]` is represented by :math:`m > 2`
neurons with Gaussian receptive fields. With :math:`\Delta = (x_{max} - x_{min}) / (m - 2)`,
neuron :math:`i = 1 .. m` has centre and width

.. math:: \mu_i = x_{min} + \frac{2i - 3}{2}\,\Delta, \qquad \sigma = \frac{\Delta}{\beta}
          \quad (\beta = 1.5 \text{ by default}),

so the centres run from :math:`x_{min} - \Delta/2` to :math:`x_{max} + \Delta/2`. Its response

.. math:: r_i(x) = \exp\!\left(-\frac{(x - \mu_i)^2}{2\sigma^2}\right) \in (0, 1]

becomes a spike time (strong response, early spike)

.. math:: t_i = \operatorname{round}\big((T - 1)(1 - r_i)\big),

and a neuron whose spike would come at the last step :math:`t_i = T - 1` stays silent (its
response is too weak). Each neuron thus fires at most once per period of :math:`T` steps.
An input ``[N, *]`` gives spikes ``[N, *, m]`` per step.

(SpikingJelly's ``GaussianTuningCurveEncoder`` numbers the neurons from 0, which shifts every
centre by :math:`-\Delta`; this implementation follows the paper's :math:`i = 1 .. m`.)
"""

from __future__ import annotations

import torch

from ._checks import check_floating, check_positive_int, work_dtype
from .base import StatefulEncoder


class GaussianTuningCurveEncoder(StatefulEncoder):
    """Stateful population encoder with ``tuning_curve_num`` Gaussian receptive fields per feature.

    Args:
        x_min: smallest value of each feature: a number or a tensor broadcastable to a
            sample's feature shape ``*`` (the input without its batch dimension).
        x_max: largest value of each feature, same rules; ``x_max > x_min`` everywhere.
        tuning_curve_num: neurons per feature, ``m > 2``.
        T: the period; spikes fire at steps ``0 .. T-2``; ``T >= 2``.
        beta: width factor, ``sigma = (x_max - x_min) / (beta * (m - 2))``; ``> 0``.
        step_mode: ``'s'`` or ``'m'`` (see :class:`~jelly.encoders.StatefulEncoder`).

    Example:
        >>> enc = GaussianTuningCurveEncoder(0.0, 1.0, tuning_curve_num=6, T=10)
        >>> x = torch.rand(4, 3)  # 4 samples, 3 features in [0, 1]
        >>> enc(x).shape  # one step: [N, features, m]
        torch.Size([4, 3, 6])
    """

    def __init__(
        self,
        x_min: float | torch.Tensor,
        x_max: float | torch.Tensor,
        tuning_curve_num: int,
        T: int,
        beta: float = 1.5,
        step_mode: str = "s",
    ) -> None:
        super().__init__(T, step_mode)
        if self.T < 2:
            raise ValueError(
                f"GaussianTuningCurveEncoder: T must be >= 2 (spikes at T-1 are dropped), got {T}"
            )
        self.tuning_curve_num = check_positive_int(tuning_curve_num, "tuning_curve_num", self, minimum=3)
        if not isinstance(beta, (int, float)) or isinstance(beta, bool) or not beta > 0:
            raise ValueError(f"GaussianTuningCurveEncoder: beta must be a positive number, got {beta!r}")
        self.beta = float(beta)
        low = torch.as_tensor(x_min, dtype=torch.float64)
        high = torch.as_tensor(x_max, dtype=torch.float64)
        try:
            torch.broadcast_shapes(low.shape, high.shape)
        except RuntimeError:
            raise ValueError(
                f"GaussianTuningCurveEncoder: x_min of shape {tuple(low.shape)} and x_max of shape "
                f"{tuple(high.shape)} do not broadcast"
            ) from None
        if not bool(torch.isfinite(low).all() and torch.isfinite(high).all()):
            raise ValueError("GaussianTuningCurveEncoder: x_min and x_max must be finite")
        if not bool((high > low).all()):
            raise ValueError("GaussianTuningCurveEncoder: x_max must be greater than x_min everywhere")
        self.register_buffer("x_min", low)
        self.register_buffer("x_max", high)

    def _bounds(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dtype = work_dtype(x.device)
        low = self.x_min.to(device=x.device, dtype=dtype)
        high = self.x_max.to(device=x.device, dtype=dtype)
        try:
            fits = torch.broadcast_shapes(low.shape, high.shape, x.shape[1:]) == x.shape[1:]
        except RuntimeError:
            fits = False
        if not fits:
            raise ValueError(
                f"GaussianTuningCurveEncoder: x_min/x_max of shapes {tuple(low.shape)}/"
                f"{tuple(high.shape)} do not broadcast to the feature shape {tuple(x.shape[1:])} of an "
                f"input of shape {tuple(x.shape)} ([N, *])"
            )
        return low, high

    def _fields(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Centres [*, m] and widths [*, 1] of the receptive fields.
        delta = ((high - low) / (self.tuning_curve_num - 2)).unsqueeze(-1)
        i = torch.arange(1, self.tuning_curve_num + 1, dtype=low.dtype, device=low.device)
        return low.unsqueeze(-1) + (2 * i - 3) / 2 * delta, delta / self.beta

    def check_sample(self, x: torch.Tensor) -> None:
        """Require a floating-point input within ``[x_min, x_max]`` (feature-wise)."""
        check_floating(x, self)
        low, high = self._bounds(x)
        wide = x.to(low.dtype)
        inside = (wide >= low) & (wide <= high)
        if not bool(inside.all()):
            n_bad = int((~inside).sum())
            raise ValueError(
                f"GaussianTuningCurveEncoder expects input within [x_min, x_max], got {n_bad} value(s) "
                f"outside it or NaN (input min {float(x.min()):.6g}, max {float(x.max()):.6g})"
            )

    def centers(self, device: torch.device | None = None) -> torch.Tensor:
        """Return the receptive-field centres ``mu``, shape ``[*bounds_shape, m]`` (float64)."""
        dtype = work_dtype(device if device is not None else self.x_min.device)
        low = self.x_min.to(device=device, dtype=dtype)
        high = self.x_max.to(device=device, dtype=dtype)
        return self._fields(*torch.broadcast_tensors(low, high))[0]

    def output_shape(self, input_shape: torch.Size | tuple[int, ...]) -> tuple[int, ...]:
        """An input ``[N, *]`` gives steps ``[N, *, m]``."""
        return (*input_shape, self.tuning_curve_num)

    def spike_time(self, x: torch.Tensor) -> torch.Tensor:
        """Return each neuron's spike time ``[N, *, m]`` (``int64``; ``T-1`` means silent)."""
        low, high = self._bounds(x)
        wide = x.to(low.dtype).unsqueeze(-1)
        mu, sigma = self._fields(low, high)
        response = torch.exp(-((wide - mu) ** 2) / (2 * sigma**2))
        return ((self.T - 1) * (1.0 - response)).round().clamp_(0, self.T - 1).long()

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the spike train ``[T, N, *, m]``; spikes due at step ``T-1`` are dropped."""
        t_f = self.spike_time(x)
        steps = torch.arange(self.T, device=x.device).view(self.T, *([1] * t_f.dim()))
        spike = (steps == t_f.unsqueeze(0)) & (t_f.unsqueeze(0) < self.T - 1)
        return spike.to(x.dtype)

    def extra_repr(self) -> str:
        return (
            f"tuning_curve_num={self.tuning_curve_num}, T={self.T}, beta={self.beta}, "
            f"step_mode={self.step_mode}"
        )
