"""Surrogates whose gradient is piecewise: windows, triangles, leaky ramps, log tails.

Their primitives ``g`` are continuous but have kinks (points where ``g'`` jumps); each
class lists them. At a kink :meth:`derivative` takes the value of the branch named in the
formula (which follows SpikingJelly's backward), so it may differ from a one-sided slope.
The forward pass is the Heaviside step ``H(x)`` whenever ``spiking=True``.
"""

from __future__ import annotations

import torch

from .base import SurrogateFunction, check_nonnegative, check_positive, check_real

__all__ = [
    "FakeNumericalGradient",
    "LeakyKReLU",
    "LogTailedReLU",
    "PiecewiseLeakyReLU",
    "PiecewiseQuadratic",
    "Rect",
    "S2NN",
]


def _constant_like(x: torch.Tensor, value: float) -> torch.Tensor:
    """A 0-d tensor holding ``value`` with the dtype and device of ``x`` (for ``torch.where``)."""
    return torch.full((), value, dtype=x.dtype, device=x.device)


class PiecewiseQuadratic(SurrogateFunction):
    """Piecewise-quadratic primitive, i.e. a triangular gradient window.

    ::

        g(x)  = 0                                         for x < -1/alpha
                -alpha^2 * |x| * x / 2 + alpha * x + 1/2  for |x| <= 1/alpha
                1                                         for x > 1/alpha
        g'(x) = max(0, alpha - alpha^2 * |x|)   (0 for |x| > 1/alpha)

    ``g`` is continuously differentiable (no kinks); ``g'`` has corners at ``x = 0`` (its
    peak ``alpha``) and at ``x = +-1/alpha``, where it reaches zero. Used in
    Esser et al. 2016, "Convolutional networks for fast, energy-efficient neuromorphic
    computing", Bellec et al. 2018 (LSNN), Neftci et al. 2019 and Panda et al. 2020.

    Args:
        alpha: ``1 / half-width`` of the window, ``> 0`` (default 1.0).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 1.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        a = self.alpha
        middle = -(a * a / 2.0) * x.abs() * x + a * x + 0.5
        outer = torch.where(x > 1.0 / a, torch.ones_like(x), middle)
        return torch.where(x < -1.0 / a, torch.zeros_like(x), outer)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (self.alpha - self.alpha * self.alpha * x.abs()).clamp(min=0.0)


class PiecewiseLeakyReLU(SurrogateFunction):
    """Piecewise-linear primitive with a leaky slope outside the window.

    ::

        g(x)  = c * x + c * w              for x < -w
                x / (2w) + 1/2             for -w <= x <= w
                c * x - c * w + 1          for x > w
        g'(x) = 1 / (2w)   for |x| < w
                c          for |x| >= w

    Kinks at ``x = +-w`` (``g'`` takes the outer value ``c`` there, as SpikingJelly's
    backward does). Used in Yin et al. 2017, Wu et al. 2018 (STBP), Huh & Sejnowski 2018,
    Wu et al. 2019, Gu et al. 2019 (STCA), Roy et al. 2019, Cheng et al. 2020 (LISNN) and
    Kaiser et al. 2020 (DECOLLE).

    Args:
        w: half-width of the window, ``> 0`` (default 1.0).
        c: slope outside the window, ``>= 0`` (default 0.01).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    hyperparameter_names = ("w", "c")

    def __init__(self, w: float = 1.0, c: float = 0.01, spiking: bool = True) -> None:
        super().__init__(spiking=spiking)
        self.w = check_positive("w", w)
        self.c = check_nonnegative("c", c)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        w, c = self.w, self.c
        middle = x / (2.0 * w) + 0.5
        return torch.where(x < -w, c * x + c * w, torch.where(x > w, c * x + (1.0 - c * w), middle))

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        inside = _constant_like(x, 1.0 / (2.0 * self.w))
        return torch.where(x.abs() < self.w, inside, _constant_like(x, self.c))


class Rect(SurrogateFunction):
    """Rectangular gradient window (clipped-linear primitive).

    ::

        g(x)  = clip(alpha * x + 1/2, 0, 1)
        g'(x) = alpha   for |x| < 1 / (2 alpha)
                0       for |x| >= 1 / (2 alpha)

    Kinks at ``x = +-1/(2 alpha)``. The rectangular curve is one of the surrogates of
    Wu et al. 2018 (STBP); the window has unit area for every ``alpha``.

    Args:
        alpha: height of the window (``1 / width``), ``> 0`` (default 1.0).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 1.0

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(self.alpha * x + 0.5, min=0.0, max=1.0)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * (x.abs() < 0.5 / self.alpha).to(x.dtype)


class S2NN(SurrogateFunction):
    """S2NN surrogate: sigmoid slope below threshold, slow ``1/(x+1)`` decay above.

    ::

        g(x)  = sigmoid(alpha * x)            for x < 0
                beta * log(x + 1) + 1/2       for x >= 0
        g'(x) = alpha * sigmoid(alpha * x) * (1 - sigmoid(alpha * x))   for x < 0
                beta / (x + 1)                                          for x >= 0

    Kink at ``x = 0`` (``g'`` jumps from ``alpha/4`` to ``beta``). SpikingJelly's docstring
    writes ``+ 1`` in the right branch; its code (and this class) use ``+ 1/2``, which keeps
    ``g`` continuous. From Suetake et al. 2022, "S2NN: Time step reduction of spiking
    surrogate gradients for training energy efficient single-step neural networks"
    (arXiv:2201.10879).

    Args:
        alpha: steepness of the sigmoid part, ``> 0`` (default 4.0).
        beta: scale of the logarithmic part, ``>= 0`` (default 1.0).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    hyperparameter_names = ("alpha", "beta")

    def __init__(self, alpha: float = 4.0, beta: float = 1.0, spiking: bool = True) -> None:
        super().__init__(alpha=alpha, spiking=spiking)
        self.beta = check_nonnegative("beta", beta)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        right = self.beta * torch.log1p(x.clamp(min=0.0)) + 0.5
        return torch.where(x < 0, torch.sigmoid(self.alpha * x), right)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        s = torch.sigmoid(self.alpha * x)
        return torch.where(x < 0, self.alpha * s * (1.0 - s), self.beta / (x.clamp(min=0.0) + 1.0))


class LogTailedReLU(SurrogateFunction):
    """Log-tailed ReLU surrogate.

    ::

        g(x)  = alpha * x          for x <= 0
                x                  for 0 < x <= 1
                log(x) + 1         for x > 1
        g'(x) = alpha   for x <= 0
                1       for 0 < x <= 1
                1 / x   for x > 1

    Kink at ``x = 0`` unless ``alpha = 1`` (``g`` is C1 at ``x = 1``, where ``g'`` has a
    corner). The primitive is unbounded. From Cai et al. 2017, "Deep learning with low precision by
    half-wave Gaussian quantization" (arXiv:1702.00953).

    Args:
        alpha: slope for ``x <= 0``, ``>= 0`` (default 0.0, i.e. no gradient below zero).
        spiking: spike function (``True``) or primitive ``g`` (``False``).
    """

    default_alpha = 0.0

    @classmethod
    def check_alpha(cls, alpha: float) -> float:
        return check_nonnegative("alpha", alpha)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        tail = torch.log(x.clamp(min=1.0)) + 1.0
        return torch.where(x > 1, tail, torch.where(x > 0, x, self.alpha * x))

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        inner = torch.where(x > 1, 1.0 / x.clamp(min=1.0), torch.ones_like(x))
        return inner.masked_fill(~(x > 0), self.alpha)


class FakeNumericalGradient(SurrogateFunction):
    """Gradient ``1/|x|`` (the slope of the secant from the step at 0), clipped at ``alpha``.

    ::

        g'(x) = min(1 / |x|, alpha)
        g(x)  = 1/2 + alpha * x                           for |x| <= 1/alpha
                1/2 + sign(x) * (1 + log(alpha * |x|))    for |x| > 1/alpha

    SpikingJelly defines only the gradient (its class has no primitive and always spikes);
    the primitive here is the natural antiderivative, odd around ``g(0) = 1/2``,
    continuously differentiable (``g'`` has corners at ``x = +-1/alpha``), with unbounded
    logarithmic tails. No paper is cited by SpikingJelly.

    Args:
        alpha: gradient ceiling, ``> 0`` (default 0.3).
        spiking: spike function (``True``, SpikingJelly's only mode) or primitive ``g``.
    """

    default_alpha = 0.3

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        a = self.alpha
        magnitude = x.abs().clamp(min=1.0 / a)
        tail = torch.sign(x) * (1.0 + torch.log(a * magnitude))
        return 0.5 + torch.where(x.abs() <= 1.0 / a, a * x, tail)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (1.0 / x.abs()).clamp(max=self.alpha)


class LeakyKReLU(SurrogateFunction):
    """Two-slope linear primitive (``k`` above zero, ``leak`` below).

    ::

        g(x)  = k * x      for x >= 0
                leak * x   for x < 0
        g'(x) = k          for x >= 0
                leak       for x < 0

    Kink at ``x = 0`` (unless ``leak = k``). The argument order ``(spiking, leak, k)``
    follows SpikingJelly 0.0.0.0.14; SpikingJelly 2.0 moved ``spiking`` last, so pass
    ``leak``/``k`` by keyword to be safe (a float given as ``spiking`` raises
    ``TypeError``). No paper is cited by SpikingJelly.

    Args:
        spiking: spike function (``True``) or primitive ``g`` (``False``).
        leak: slope for ``x < 0`` (default 0.0), finite.
        k: slope for ``x >= 0`` (default 1.0), finite.
    """

    hyperparameter_names = ("leak", "k")

    def __init__(self, spiking: bool = True, leak: float = 0.0, k: float = 1.0) -> None:
        super().__init__(spiking=spiking)
        self.leak = check_real("leak", leak)
        self.k = check_real("k", k)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, self.k * x, self.leak * x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, _constant_like(x, self.k), _constant_like(x, self.leak))
