"""Spiking neuron models for Jelly.

Porting from SpikingJelly::

    from jelly import neurons as neuron

    lif = neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m")

Every neuron runs single-step (``[N, *]``) or multi-step (``[T, N, *]``); multi-step
goes through a backend picked by ``backend=`` (``'auto'`` by default; see :func:`describe`).
"""

from . import functional
from ._version import __version__
from .backends import BackendUnavailableError, Resolution
from .modules import BaseNode, IFNode, LIFNode, ParametricLIFNode


def describe(module: BaseNode, x) -> Resolution:
    """Which multi-step implementation ``module`` will run for input ``x``, and why.

    Returns a :class:`~jelly.neurons.backends.registry.Resolution` with ``backend`` (the
    name), ``reason`` and ``rejected`` (backends skipped and why).
    """
    return module.describe(x)


__all__ = [
    "__version__",
    "functional",
    "describe",
    "BackendUnavailableError",
    "Resolution",
    "BaseNode",
    "IFNode",
    "LIFNode",
    "ParametricLIFNode",
]

from .modules import PSN, MaskedPSN, SlidingPSN  # noqa: E402

__all__ += ["PSN", "MaskedPSN", "SlidingPSN"]

from .modules import (  # noqa: E402
    ComplementaryLIFNode,
    CUBALIFNode,
    EIFNode,
    GatedLIFNode,
    IzhikevichNode,
    KLIFNode,
    LIAFNode,
    NonSpikingIFNode,
    NonSpikingLIFNode,
    QIFNode,
)

__all__ += [
    "QIFNode",
    "EIFNode",
    "IzhikevichNode",
    "LIAFNode",
    "KLIFNode",
    "GatedLIFNode",
    "CUBALIFNode",
    "ComplementaryLIFNode",
    "NonSpikingIFNode",
    "NonSpikingLIFNode",
]
