"""Neuron modules (thin stateful wrappers of :mod:`jelly.neurons.functional`)."""

from .base_node import BaseNode
from .integrate_fire import IFNode, LIFNode, ParametricLIFNode

__all__ = ["BaseNode", "IFNode", "LIFNode", "ParametricLIFNode"]

from .parallel_spiking import PSN, MaskedPSN, SlidingPSN  # noqa: E402

__all__ += ["PSN", "MaskedPSN", "SlidingPSN"]
