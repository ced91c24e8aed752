r"""Triton forms of the surrogate gradients ``g'(x)``, for fused Triton neuron kernels.

Each ``@triton.jit`` function here computes, in float32 inside a kernel, the same closed
form as the surrogate's :meth:`~jelly.surrogates.base.SurrogateFunction.derivative` (the
formulas are in the classes' docstrings). All share one signature::

    derivative(x, p0, p1, p2, ORDER: tl.constexpr) -> g'(x)

``p0..p2`` are runtime float scalars (the hyper-parameters, or constants derived from them
on the host in double precision exactly as the torch form folds them, so that window edges
such as ``abs(x) < 1 / (2 alpha)`` fall at the same float32 value), and ``ORDER`` is an
integer compile-time constant (the number of Fourier terms of
:class:`~jelly.surrogates.SquarewaveFourierSeries`, ``0`` otherwise). A kernel receives the
function itself as a ``tl.constexpr`` argument and calls it, so one kernel source serves
every surrogate and changing ``alpha`` does not recompile anything.

:func:`triton_derivative_of` maps a surrogate instance to a :class:`TritonDerivative` (the
function, its scalars and order); :data:`TRITON_DERIVATIVES` maps the names used in
``torch.library`` op arguments back to the functions.

This module imports Triton; ``import jelly.surrogates`` does not import it (only the
Triton neuron backend loads this module, on first use). Under ``TRITON_INTERPRET=1`` the
functions run in Triton's CPU interpreter; the interpreter mode is fixed when this module
is first imported, as for every ``@triton.jit`` function.

:class:`~jelly.surrogates.PoissonPass` has no Triton form: its forward is a random draw,
not the Heaviside step the fused kernels use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import triton
import triton.language as tl

from .base import SurrogateFunction
from .piecewise import (
    S2NN,
    FakeNumericalGradient,
    LeakyKReLU,
    LogTailedReLU,
    PiecewiseLeakyReLU,
    PiecewiseQuadratic,
    Rect,
)
from .smooth import (
    ATan,
    Erf,
    NonzeroSignLogAbs,
    PiecewiseExp,
    QPseudoSpike,
    Sigmoid,
    SoftSign,
    SquarewaveFourierSeries,
    SuperSpike,
)
from .straight_through import DeterministicPass

__all__ = ["TRITON_DERIVATIVES", "TritonDerivative", "triton_derivative_of", "triton_derivative_problem"]


# -- smooth gradients ------------------------------------------------------------------
@triton.jit
def sigmoid_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha s (1 - s)``, ``s = sigmoid(alpha x)``; ``p0 = alpha``."""
    s = tl.sigmoid(p0 * x)
    return p0 * s * (1.0 - s)


@triton.jit
def atan_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``(alpha/2) / (1 + (pi/2 alpha x)^2)``; ``p0 = alpha/2``, ``p1 = pi/2 alpha``."""
    t = p1 * x
    return p0 / (1.0 + t * t)


@triton.jit
def soft_sign_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha / (2 (1 + |alpha x|)^2)``; ``p0 = alpha``."""
    d = 1.0 + tl.abs(p0 * x)
    return p0 / (2.0 * (d * d))


@triton.jit
def erf_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha/sqrt(pi) exp(-(alpha x)^2)``; ``p0 = alpha``, ``p1 = alpha/sqrt(pi)``."""
    t = p0 * x
    return p1 * tl.exp(-(t * t))


@triton.jit
def piecewise_exp_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha/2 exp(-alpha |x|)``; ``p0 = alpha/2``, ``p1 = -alpha``."""
    return p0 * tl.exp(p1 * tl.abs(x))


@triton.jit
def q_pseudo_spike_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``(1 + 2|x|/(alpha-1))^(-alpha)``; ``p0 = 2/(alpha-1)``, ``p1 = alpha``."""
    base = 1.0 + p0 * tl.abs(x)
    return tl.exp2(-p1 * tl.log2(base))


@triton.jit
def super_spike_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha / (1 + |x|)^2``; ``p0 = alpha``."""
    d = 1.0 + tl.abs(x)
    return p0 / (d * d)


@triton.jit
def nonzero_sign_log_abs_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha / (1 + alpha |x|)``; ``p0 = alpha``."""
    return p0 / (1.0 + p0 * tl.abs(x))


@triton.jit
def squarewave_fourier_series_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``4/T sum_{i=1}^{n-1} cos((2i-1) omega x)``; ``p0 = omega = 2 pi/T``, ``p1 = 4/T``, ``ORDER = n``."""
    total = tl.zeros_like(x)
    for i in tl.static_range(1, ORDER):
        total += tl.cos(((2.0 * i - 1.0) * p0) * x)
    return p1 * total


# -- piecewise gradients ---------------------------------------------------------------
@triton.jit
def piecewise_quadratic_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``max(0, alpha - alpha^2 |x|)``; ``p0 = alpha``, ``p1 = alpha^2``."""
    return tl.maximum(p0 - p1 * tl.abs(x), 0.0)


@triton.jit
def piecewise_leaky_relu_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``1/(2w)`` for ``|x| < w`` else ``c``; ``p0 = w``, ``p1 = c``, ``p2 = 1/(2w)``."""
    inside = tl.abs(x) < p0
    return tl.where(inside, p2, p1) + tl.zeros_like(x)


@triton.jit
def rect_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha`` for ``|x| < 1/(2 alpha)`` else 0; ``p0 = alpha``, ``p1 = 1/(2 alpha)``."""
    return tl.where(tl.abs(x) < p1, p0, 0.0) + tl.zeros_like(x)


@triton.jit
def s2nn_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha s (1 - s)`` for ``x < 0``, else ``beta / (x + 1)``; ``p0 = alpha``, ``p1 = beta``."""
    s = tl.sigmoid(p0 * x)
    right = p1 / (tl.maximum(x, 0.0) + 1.0)
    return tl.where(x < 0.0, p0 * s * (1.0 - s), right)


@triton.jit
def log_tailed_relu_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``alpha`` for ``x <= 0``, 1 for ``0 < x <= 1``, ``1/x`` for ``x > 1``; ``p0 = alpha``."""
    inner = tl.where(x > 1.0, 1.0 / tl.maximum(x, 1.0), 1.0)
    return tl.where(x > 0.0, inner, p0)


@triton.jit
def fake_numerical_gradient_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``min(1/|x|, alpha)``; ``p0 = alpha``."""
    return tl.minimum(1.0 / tl.abs(x), p0)


@triton.jit
def leaky_k_relu_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``k`` for ``x >= 0`` else ``leak``; ``p0 = leak``, ``p1 = k``."""
    return tl.where(x >= 0.0, p1, p0) + tl.zeros_like(x)


# -- straight-through ------------------------------------------------------------------
@triton.jit
def deterministic_pass_derivative(x, p0, p1, p2, ORDER: tl.constexpr):
    """``1`` everywhere (straight-through estimator)."""
    return tl.full(x.shape, 1.0, tl.float32)


@dataclass(frozen=True)
class TritonDerivative:
    """A surrogate's derivative as a Triton function with its arguments.

    Attributes:
        name: key in :data:`TRITON_DERIVATIVES` (the surrogate's class name).
        fn: the ``@triton.jit`` function ``fn(x, p0, p1, p2, ORDER)``.
        scalars: ``(p0, p1, p2)``, float runtime arguments.
        order: the ``ORDER`` compile-time constant.
    """

    name: str
    fn: Callable
    scalars: tuple[float, float, float]
    order: int = 0


def _scalars(*values: float) -> tuple[float, float, float]:
    padded = tuple(float(v) for v in values) + (0.0,) * (3 - len(values))
    return padded  # type: ignore[return-value]


# class -> (jit function, surrogate -> (scalars, order)); constants are folded in double
# precision on the host, as the torch forms fold their Python-float expressions.
_TABLE: dict[type, tuple[Callable, Callable[[SurrogateFunction], tuple[tuple[float, float, float], int]]]] = {
    Sigmoid: (sigmoid_derivative, lambda s: (_scalars(s.alpha), 0)),
    ATan: (atan_derivative, lambda s: (_scalars(s.alpha / 2, (math.pi / 2) * s.alpha), 0)),
    SoftSign: (soft_sign_derivative, lambda s: (_scalars(s.alpha), 0)),
    Erf: (erf_derivative, lambda s: (_scalars(s.alpha, s.alpha / math.sqrt(math.pi)), 0)),
    PiecewiseExp: (piecewise_exp_derivative, lambda s: (_scalars(s.alpha / 2.0, -s.alpha), 0)),
    QPseudoSpike: (q_pseudo_spike_derivative, lambda s: (_scalars(2.0 / (s.alpha - 1.0), s.alpha), 0)),
    SuperSpike: (super_spike_derivative, lambda s: (_scalars(s.alpha), 0)),
    NonzeroSignLogAbs: (nonzero_sign_log_abs_derivative, lambda s: (_scalars(s.alpha), 0)),
    SquarewaveFourierSeries: (
        squarewave_fourier_series_derivative,
        lambda s: (_scalars(2.0 * math.pi / s.T_period, 4.0 / s.T_period), int(s.n)),
    ),
    PiecewiseQuadratic: (piecewise_quadratic_derivative, lambda s: (_scalars(s.alpha, s.alpha * s.alpha), 0)),
    PiecewiseLeakyReLU: (piecewise_leaky_relu_derivative, lambda s: (_scalars(s.w, s.c, 1.0 / (2.0 * s.w)), 0)),
    Rect: (rect_derivative, lambda s: (_scalars(s.alpha, 0.5 / s.alpha), 0)),
    S2NN: (s2nn_derivative, lambda s: (_scalars(s.alpha, s.beta), 0)),
    LogTailedReLU: (log_tailed_relu_derivative, lambda s: (_scalars(s.alpha), 0)),
    FakeNumericalGradient: (fake_numerical_gradient_derivative, lambda s: (_scalars(s.alpha), 0)),
    LeakyKReLU: (leaky_k_relu_derivative, lambda s: (_scalars(s.leak, s.k), 0)),
    DeterministicPass: (deterministic_pass_derivative, lambda s: (_scalars(), 0)),
}

#: Name (the surrogate's class name) -> ``@triton.jit`` derivative function.
TRITON_DERIVATIVES: dict[str, Callable] = {cls.__name__: fn for cls, (fn, _) in _TABLE.items()}


def triton_derivative_problem(surrogate: object) -> str | None:
    """``None`` if ``surrogate`` has a Triton form, else why not (and what to do instead)."""
    if not isinstance(surrogate, SurrogateFunction):
        return (
            f"the surrogate must be a jelly.surrogates.SurrogateFunction, got {type(surrogate).__name__}; "
            "use backend='torch' for other callables"
        )
    if type(surrogate) not in _TABLE:
        supported = ", ".join(sorted(TRITON_DERIVATIVES))
        return (
            f"{type(surrogate).__name__} has no Triton derivative (supported: {supported}); "
            "use backend='torch'"
        )
    if surrogate.spiking is not True:
        return f"{type(surrogate).__name__} is in primitive mode (spiking=False); use backend='torch'"
    return None


def triton_derivative_of(surrogate: SurrogateFunction) -> TritonDerivative:
    """The Triton form of ``surrogate``'s derivative, with its current hyper-parameters.

    The class must match exactly (a subclass may change the derivative).

    Raises:
        TypeError: the surrogate has no Triton form (see :func:`triton_derivative_problem`).
    """
    problem = triton_derivative_problem(surrogate)
    if problem is not None:
        raise TypeError(problem)
    fn, arguments = _TABLE[type(surrogate)]
    scalars, order = arguments(surrogate)
    return TritonDerivative(type(surrogate).__name__, fn, scalars, order)
