"""Straight-through surrogates: the backward pass hands the gradient on unchanged.

Neither has a smooth step approximant: their "primitive" is the identity ``g(x) = x``
(as in SpikingJelly, whose ``spiking=False`` returns the input), whose slope ``1`` is the
factor the backward pass applies, so :meth:`derivative` is ``1`` everywhere.

* :class:`DeterministicPass` spikes with the Heaviside step (the classic straight-through
  estimator).
* :class:`PoissonPass` spikes at random: ``x`` is a firing probability in ``[0, 1]`` and the
  spike is a Bernoulli draw, whose expectation is ``x = g(x)``.
"""

from __future__ import annotations

import torch

from .base import SurrogateFunction, heaviside

__all__ = ["DeterministicPass", "PoissonPass"]


class _StraightThroughHeaviside(torch.autograd.Function):
    """Heaviside forward, identity backward (saves nothing for the backward)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


class _StraightThroughBernoulli(torch.autograd.Function):
    """Bernoulli-sample forward, identity backward."""

    @staticmethod
    def forward(ctx, probability: torch.Tensor) -> torch.Tensor:
        return torch.bernoulli(probability)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


class DeterministicPass(SurrogateFunction):
    """Straight-through estimator: Heaviside forward, gradient passed through unchanged.

    ::

        spike = H(x)
        g(x)  = x        (no smooth step; the identity whose slope the backward uses)
        g'(x) = 1

    ``spiking=False`` returns ``x`` itself, as SpikingJelly does. The constructor takes no
    ``alpha`` (SpikingJelly 2.0's signature). From Bengio, Léonard & Courville 2013,
    "Estimating or propagating gradients through stochastic neurons for conditional
    computation" (arXiv:1308.3432).

    Args:
        spiking: spike function (``True``) or the identity (``False``).
    """

    hyperparameter_names = ()

    def __init__(self, spiking: bool = True) -> None:
        super().__init__(spiking=spiking)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)

    def spike(self, x: torch.Tensor) -> torch.Tensor:
        return _StraightThroughHeaviside.apply(x)


class PoissonPass(SurrogateFunction):
    """Stochastic (Bernoulli) spikes with a straight-through gradient.

    ::

        spike ~ Bernoulli(x)   (x is the firing probability, 0 <= x <= 1)
        g(x)  = x = E[spike]   (no smooth step; the expectation of the forward)
        g'(x) = 1

    The forward is random: it is *not* the Heaviside step. What is deterministic: the
    output is exactly ``0`` where ``x == 0`` and exactly ``1`` where ``x == 1``; each
    element is ``0`` or ``1`` in the dtype of ``x`` (SpikingJelly returns float32); the
    draws repeat under the same ``torch.manual_seed``; the backward multiplies by exactly
    ``1`` (:meth:`derivative`), and ``spiking=False`` returns ``x`` itself. ``x`` outside
    ``[0, 1]`` or NaN raises ``ValueError`` for CPU tensors (checked before sampling); on
    other devices torch's own ``bernoulli`` check applies, to avoid a host synchronisation.
    The constructor takes no ``alpha`` (SpikingJelly 2.0's signature). The straight-through
    gradient of a stochastic binary unit is from Bengio, Léonard & Courville 2013
    (arXiv:1308.3432).

    Args:
        spiking: Bernoulli spikes (``True``) or the identity (``False``).
    """

    hyperparameter_names = ()

    def __init__(self, spiking: bool = True) -> None:
        super().__init__(spiking=spiking)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x)

    def spike(self, x: torch.Tensor) -> torch.Tensor:
        """Draw ``Bernoulli(x)`` spikes; the gradient passes through unchanged.

        Raises:
            ValueError: a CPU ``x`` holds values outside ``[0, 1]`` or NaN.
        """
        if x.device.type == "cpu" and x.numel() > 0:
            inside = (x >= 0) & (x <= 1)
            if not bool(inside.all()):
                bad = x.detach()[~inside].flatten()[0].item()
                raise ValueError(
                    f"PoissonPass expects firing probabilities in [0, 1], got {bad} "
                    f"(in a tensor of shape {tuple(x.shape)})"
                )
        return _StraightThroughBernoulli.apply(x)
