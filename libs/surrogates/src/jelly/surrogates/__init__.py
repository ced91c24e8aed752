"""Surrogate spike functions: Heaviside forward, smooth surrogate gradient backward.

Use one as a neuron's ``surrogate_function``::

    from jelly import neurons, surrogates
    lif = neurons.LIFNode(tau=2.0, surrogate_function=surrogates.ATan())

Every surrogate ``s`` offers ``s(x)`` (the spike, or the primitive ``g`` when
``spiking=False``), ``s.primitive(x)``, ``s.derivative(x)`` (the closed-form backward
factor) and ``s.hyperparameters``. Class names, arguments and defaults follow
SpikingJelly's ``activation_based.surrogate``.
"""

from ._version import __version__
from .base import SpikeFunction, SurrogateFunction, heaviside
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
from .straight_through import DeterministicPass, PoissonPass

__all__ = [
    "__version__",
    "SpikeFunction",
    "SurrogateFunction",
    "heaviside",
    # smooth gradients
    "Sigmoid",
    "ATan",
    "SoftSign",
    "Erf",
    "PiecewiseExp",
    "QPseudoSpike",
    "SuperSpike",
    "NonzeroSignLogAbs",
    "SquarewaveFourierSeries",
    # piecewise gradients
    "PiecewiseQuadratic",
    "PiecewiseLeakyReLU",
    "Rect",
    "S2NN",
    "LogTailedReLU",
    "FakeNumericalGradient",
    "LeakyKReLU",
    # straight-through
    "DeterministicPass",
    "PoissonPass",
]
