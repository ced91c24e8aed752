"""Surrogates whose gradient is a continuous, bell-shaped (or periodic) curve.

Each class writes out its primitive ``g`` and gradient ``g'``; the forward pass is the
Heaviside step ``H(x)`` whenever ``spiking=True``. Formulas and default hyper-parameters
follow SpikingJelly's ``activation_based.surrogate`` so that models port unchanged.

Primitives that are defined piecewise pick each branch with ``torch.where`` and feed the
unused branch a clamped input, so that no ``inf``/``NaN`` leaks into autograd and the
autograd slope at the branch point equals :meth:`derivative` there.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import SurrogateFunction, check_positive, check_real

__all__ = [
    "ATan",
    "Erf",
    "NonzeroSignLogAbs",
    "PiecewiseExp",
    "QPseudoSpike",
    "Sigmoid",
    "SoftSign",
    "SquarewaveFourierSeries",
    "SuperSpike",
]


class Sigmoid(SurrogateFunction):
    """Sigmoid surrogate.

    ::

        g(x)  = sigmoid(alpha * x) = 1 / (1 + exp(-alpha * x))
        g'(x) = alpha * sigmoid(alpha * x) * (1 - sigmoid(alpha * x))

    Used in Wu et al. 2018, "Spatio-temporal backpropagation for training high-performance
    spiking neural networks" (STBP), Roy et al. 2019 and Woźniak et al. 2020 (SNU).

    Args:
        alpha: steepness, ``> 0`` (default 4.0).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 4.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.alpha * x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.alpha * x)
        return self.alpha * s * (1.0 - s)


class ATan(SurrogateFunction):
    """Arc-tangent surrogate (SpikingJelly's default).

    ::

        g(x)  = atan(pi/2 * alpha * x) / pi + 1/2
        g'(x) = alpha / (2 * (1 + (pi/2 * alpha * x)^2))

    Introduced with the parametric LIF neuron in Fang et al. 2021, "Incorporating learnable
    membrane time constant to enhance learning of spiking neural networks" (ICCV).

    Args:
        alpha: steepness, ``> 0`` (default 2.0); ``g'(0) = alpha / 2``.
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 2.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.atan((math.pi / 2) * self.alpha * x) / math.pi + 0.5

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha / 2 / (1 + ((math.pi / 2) * self.alpha * x).square())


class SoftSign(SurrogateFunction):
    """Soft-sign surrogate.

    ::

        g(x)  = (alpha * x / (1 + |alpha * x|) + 1) / 2
        g'(x) = alpha / (2 * (1 + |alpha * x|)^2)

    Used in Zenke & Ganguli 2018, "SuperSpike: Supervised learning in multilayer spiking
    neural networks", and Neftci et al. 2019, "Surrogate gradient learning in spiking
    neural networks".

    Args:
        alpha: steepness, ``> 0`` (default 2.0); ``g'(0) = alpha / 2``.
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 2.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return (F.softsign(self.alpha * x) + 1.0) / 2.0

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha / (2.0 * (1.0 + (self.alpha * x).abs()).square())


class Erf(SurrogateFunction):
    """Gaussian-error-function surrogate.

    ::

        g(x)  = erfc(-alpha * x) / 2 = (1 + erf(alpha * x)) / 2
        g'(x) = alpha / sqrt(pi) * exp(-alpha^2 * x^2)

    Used in Esser et al. 2015, "Backpropagation for energy-efficient neuromorphic
    computing", Wu et al. 2018 (STBP) and Yin et al. 2020 (SRNN).

    Args:
        alpha: steepness, ``> 0`` (default 2.0).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 2.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.erfc(-self.alpha * x) / 2.0

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (self.alpha / math.sqrt(math.pi)) * torch.exp(-(self.alpha * x).square())


class PiecewiseExp(SurrogateFunction):
    """Two-sided exponential (Laplace) surrogate.

    ::

        g(x)  = exp(alpha * x) / 2            for x < 0
                1 - exp(-alpha * x) / 2       for x >= 0
        g'(x) = alpha / 2 * exp(-alpha * |x|)

    ``g'`` is continuous but has a cusp at ``x = 0``. Used in Shrestha & Orchard 2018,
    "SLAYER: Spike layer error reassignment in time", and Neftci et al. 2019.

    Args:
        alpha: steepness, ``> 0`` (default 1.0).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 1.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        left = torch.exp(self.alpha * x.clamp(max=0.0)) / 2.0
        right = 1.0 - torch.exp(-self.alpha * x.clamp(min=0.0)) / 2.0
        return torch.where(x < 0, left, right)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha / 2.0 * torch.exp(-self.alpha * x.abs())


class QPseudoSpike(SurrogateFunction):
    """q-PseudoSpike surrogate with tunable tail fatness.

    ::

        g(x)  = (1 - 2x/(alpha-1))^(1-alpha) / 2          for x < 0
                1 - (1 + 2x/(alpha-1))^(1-alpha) / 2      for x >= 0
        g'(x) = (1 + 2|x|/(alpha-1))^(-alpha)

    ``alpha`` is the ``q`` of the paper: the smaller, the fatter the tails; ``g'(0) = 1``.
    From Herranz-Celotti & Rouat 2022, "Surrogate gradients design" (arXiv:2202.00282).

    Args:
        alpha: tail parameter, ``> 1`` (default 2.0).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 2.0

    @classmethod
    def check_alpha(cls, alpha: float) -> float:
        value = check_real("alpha", alpha)
        if value <= 1:
            raise ValueError(f"alpha must be > 1 for QPseudoSpike (it divides by alpha - 1), got {value}")
        return value

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        scale = 2.0 / (self.alpha - 1.0)
        left = 0.5 * (1.0 - scale * x.clamp(max=0.0)).pow(1.0 - self.alpha)
        right = 1.0 - 0.5 * (1.0 + scale * x.clamp(min=0.0)).pow(1.0 - self.alpha)
        return torch.where(x < 0, left, right)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (1.0 + (2.0 / (self.alpha - 1.0)) * x.abs()).pow(-self.alpha)


class SuperSpike(SurrogateFunction):
    """SuperSpike surrogate, in SpikingJelly's parametrisation.

    ::

        g(x)  = 1/2 + alpha * x / (1 + |x|)
        g'(x) = alpha / (1 + |x|)^2

    SpikingJelly gives only ``g'``; the primitive here is its antiderivative with
    ``g(0) = 1/2``. It spans ``(1/2 - alpha, 1/2 + alpha)``, so it is a step approximant
    in ``[0, 1]`` only for ``alpha = 1/2``. From Zenke & Ganguli 2018, "SuperSpike:
    Supervised learning in multilayer spiking neural networks" (arXiv:1705.11146).

    Args:
        alpha: gradient scale, ``> 0`` (default 1.0); ``g'(0) = alpha``.
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 1.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 + self.alpha * x / (1.0 + x.abs())

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha / (1.0 + x.abs()).square()


class NonzeroSignLogAbs(SurrogateFunction):
    """Signed-logarithm surrogate (cheap backward, unbounded primitive).

    ::

        g(x)  = s(x) * log(1 + alpha * |x|),   s(x) = 1 if x >= 0 else -1
        g'(x) = alpha / (1 + alpha * |x|) = 1 / (1/alpha + |x|)

    The primitive does not stay in ``(0, 1)``; the point of this surrogate is its cheap
    gradient. As in SpikingJelly (no paper cited there).

    Args:
        alpha: steepness, ``> 0`` (default 1.0); ``g'(0) = alpha``.
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 1.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        left = -torch.log1p(-self.alpha * x.clamp(max=0.0))
        right = torch.log1p(self.alpha * x.clamp(min=0.0))
        return torch.where(x < 0, left, right)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha / (1.0 + self.alpha * x.abs())


class SquarewaveFourierSeries(SurrogateFunction):
    """Truncated Fourier series of a square wave as the step approximant.

    With ``omega = 2 * pi / T_period`` and ``m = 2i - 1``::

        g(x)  = 1/2 + 2/pi * sum_{i=1}^{n-1} sin(m * omega * x) / m
        g'(x) = 4 / T_period * sum_{i=1}^{n-1} cos(m * omega * x)

    ``g`` approximates the square wave of period ``T_period`` that equals ``1`` on
    ``(0, T/2)`` and ``0`` on ``(-T/2, 0)``, so it is a step approximant only for
    ``|x| < T_period / 2``; ``g'`` oscillates and can be negative. ``n`` counts the
    series' terms plus one (``n - 1`` sines), as in SpikingJelly (no paper cited there).

    Args:
        n: ``1 + number of harmonics``, an int ``>= 2`` (default 2).
        T_period: period of the square wave, ``> 0`` (default 8).
        spiking: spike function (``True``) or primitive ``g`` (``False``).

    Raises:
        TypeError: ``n`` is not an int.
        ValueError: ``n < 2`` or ``T_period <= 0``.
    """

    hyperparameter_names = ("n", "T_period")

    def __init__(self, n: int = 2, T_period: float = 8, spiking: bool = True) -> None:
        super().__init__(spiking=spiking)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {n!r} ({type(n).__name__})")
        if n < 2:
            raise ValueError(f"n must be >= 2 (n - 1 harmonics), got {n}")
        self.n = n
        self.T_period = check_positive("T_period", T_period)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        omega = 2.0 * math.pi / self.T_period
        total = torch.zeros_like(x)
        for i in range(1, self.n):
            m = 2.0 * i - 1.0
            total = total + torch.sin((m * omega) * x) / m
        return 0.5 + (2.0 / math.pi) * total

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        omega = 2.0 * math.pi / self.T_period
        total = torch.zeros_like(x)
        for i in range(1, self.n):
            total = total + torch.cos(((2.0 * i - 1.0) * omega) * x)
        return (4.0 / self.T_period) * total
