"""The surrogate-gradient base class and the generic spike autograd function.

A surrogate spike function is the Heaviside step in the forward pass,

    spike = H(x) = 1 if x >= 0 else 0,

and, in the backward pass, the derivative ``g'(x)`` of a smooth *primitive* ``g`` that
approximates ``H``. Every surrogate defines

* :meth:`SurrogateFunction.primitive` ``g(x)`` with plain differentiable torch ops, and
* :meth:`SurrogateFunction.derivative` ``g'(x)`` in closed form (no autograd), which is
  what the backward pass and the fused neuron kernels use.

``spiking=True`` (default) makes ``module(x)`` the spike function; ``spiking=False`` makes
it the primitive ``g`` itself (useful for analysis and for non-spiking variants).

``derivative(x)`` is, by contract, exactly the factor that :meth:`SurrogateFunction.spike`
multiplies the incoming gradient with (``d spike / dx``), also for the straight-through and
stochastic surrogates whose backward is not the slope of a smooth step.

The concrete surrogates live in :mod:`.smooth`, :mod:`.piecewise` and
:mod:`.straight_through`; all are exported from ``jelly.surrogates``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

__all__ = ["SpikeFunction", "SurrogateFunction", "heaviside"]


class SpikeFunction(torch.autograd.Function):
    """Heaviside forward, ``surrogate.derivative`` backward.

    The derivative is computed in closed form from the saved input, so it costs one
    elementwise kernel chain and no autograd graph.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, surrogate: SurrogateFunction) -> torch.Tensor:
        if x.requires_grad:
            ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.surrogate.derivative(x), None


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """``H(x) = 1`` where ``x >= 0`` else ``0``, in the dtype of ``x``.

    ``-0.0`` gives ``1`` and ``NaN`` gives ``0`` (``NaN >= 0`` is false).
    """
    return (x >= 0).to(x.dtype)


def check_real(name: str, value: Any) -> float:
    """Return ``value`` as a finite Python float, or raise naming the argument ``name``.

    Raises:
        TypeError: ``value`` is not a real number (bools are refused too).
        ValueError: ``value`` is NaN or infinite.
    """
    if isinstance(value, bool) or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    return number


def check_positive(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking it is finite and ``> 0``.

    Raises:
        TypeError: ``value`` is not a real number.
        ValueError: ``value`` is not finite or ``<= 0``.
    """
    number = check_real(name, value)
    if number <= 0:
        raise ValueError(f"{name} must be > 0, got {number}")
    return number


def check_nonnegative(name: str, value: Any) -> float:
    """Return ``value`` as a float after checking it is finite and ``>= 0``.

    Raises:
        TypeError: ``value`` is not a real number.
        ValueError: ``value`` is not finite or ``< 0``.
    """
    number = check_real(name, value)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {number}")
    return number


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool``, else raise a ``TypeError`` naming ``name``.

    Strictness catches swapped positional arguments (e.g. a float passed as ``spiking``).
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool (True or False), got {value!r} ({type(value).__name__})")
    return value


class SurrogateFunction(nn.Module):
    """Base class of surrogate spike functions.

    Args:
        alpha: sharpness of the surrogate (larger = closer to the step function); ``None``
            takes the class's ``default_alpha``. Must be finite and ``> 0`` unless the
            subclass says otherwise (see :meth:`check_alpha`).
        spiking: if ``True`` the module is the spike function (Heaviside forward,
            surrogate backward); if ``False`` it is the smooth primitive ``g``.

    Raises:
        ValueError: ``alpha`` is out of range (the message names ``alpha``).
        TypeError: ``alpha`` is not a number or ``spiking`` is not a bool.

    Subclasses implement :meth:`primitive` and :meth:`derivative`, and may override
    :meth:`spike` when their forward is not the Heaviside step (e.g. stochastic variants).
    Subclasses with other hyper-parameters than ``alpha`` list them in
    ``hyperparameter_names``, set and validate them in their ``__init__``; they appear in
    ``repr`` and :attr:`hyperparameters`. When ``'alpha'`` is not listed, the base class
    ignores ``alpha`` and sets no ``alpha`` attribute.
    """

    default_alpha: float = 1.0
    hyperparameter_names: tuple[str, ...] = ("alpha",)

    def __init__(self, alpha: float | None = None, spiking: bool = True) -> None:
        super().__init__()
        if "alpha" in self.hyperparameter_names:
            self.alpha = self.check_alpha(self.default_alpha if alpha is None else alpha)
        self.spiking = check_bool("spiking", spiking)

    @classmethod
    def check_alpha(cls, alpha: Any) -> float:
        """Validate ``alpha`` (finite, ``> 0`` by default) and return it as a float.

        Subclasses with another admissible range override this.
        """
        return check_positive("alpha", alpha)

    @property
    def hyperparameters(self) -> dict[str, float]:
        """The surrogate's hyper-parameters by name (e.g. ``{'alpha': 2.0}``).

        This is what a kernel generator needs to instantiate the surrogate's derivative.
        """
        return {name: getattr(self, name) for name in self.hyperparameter_names}

    def set_spiking_mode(self, spiking: bool) -> None:
        """Switch between the spike function (``True``) and the primitive (``False``)."""
        self.spiking = check_bool("spiking", spiking)

    def extra_repr(self) -> str:
        parts = [f"{name}={value}" for name, value in self.hyperparameters.items()]
        parts.append(f"spiking={self.spiking}")
        return ", ".join(parts)

    def primitive(self, x: torch.Tensor) -> torch.Tensor:
        """The smooth function ``g(x)`` approximating the Heaviside step (autograd-friendly)."""
        raise NotImplementedError

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """The surrogate gradient ``d spike / dx`` in closed form (no autograd), dtype of ``x``."""
        raise NotImplementedError

    def spike(self, x: torch.Tensor) -> torch.Tensor:
        """Heaviside forward with this surrogate's gradient in the backward pass."""
        return SpikeFunction.apply(x, self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``spike(x)`` if ``self.spiking`` else ``primitive(x)``.

        Raises:
            TypeError: ``x`` is not a floating-point tensor.
        """
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
            raise TypeError(f"{type(self).__name__} expects a floating-point tensor, got {got}")
        if self.spiking:
            return self.spike(x)
        return self.primitive(x)


def __getattr__(name: str) -> Any:
    # ``Sigmoid`` and ``ATan`` used to live here; they moved to ``smooth`` with the other
    # smooth surrogates. Keep ``from jelly.surrogates.base import ATan`` working.
    if name in ("Sigmoid", "ATan"):
        from . import smooth

        return getattr(smooth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
