"""Neuron modules (thin stateful wrappers of :mod:`jelly.neurons.functional`)."""

from .base_node import BaseNode
from .integrate_fire import IFNode, LIFNode, ParametricLIFNode

__all__ = ["BaseNode", "IFNode", "LIFNode", "ParametricLIFNode"]

from .parallel_spiking import PSN, MaskedPSN, SlidingPSN  # noqa: E402

__all__ += ["PSN", "MaskedPSN", "SlidingPSN"]

from .clif import ComplementaryLIFNode  # noqa: E402
from .cuba_lif import CUBALIFNode  # noqa: E402
from .gated_lif import GatedLIFNode  # noqa: E402
from .izhikevich import IzhikevichNode  # noqa: E402
from .klif import KLIFNode  # noqa: E402
from .liaf import LIAFNode  # noqa: E402
from .non_spiking import NonSpikingIFNode, NonSpikingLIFNode  # noqa: E402
from .nonlinear_if import EIFNode, QIFNode  # noqa: E402

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
