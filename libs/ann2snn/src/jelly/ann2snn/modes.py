"""Normalisation modes: how the firing threshold of each converted ReLU is chosen.

A ReLU whose activations on the calibration data reach about ``λ`` is replaced by an IF
neuron that fires at ``λ`` (``VoltageScaler(1/λ) → IFNode(v_threshold=1) →
VoltageScaler(λ)``). ``λ`` is a statistic of the ReLU's output, computed per calibration
batch and then averaged over the batches:

* ``'max'``: the largest activation of the batch. No activation is clipped on the
  calibration data, at the price of a lower firing rate (slower convergence in ``T``).
* ``'p%'`` (e.g. ``'99.9%'``): the ``p``-th percentile of the batch's activations
  (nearest-rank, ``0 < p <= 100``), "robust normalisation" (Rueckauer et al., 2017): the
  rare largest activations saturate, every other neuron fires faster.
* a number ``f`` with ``0 < f <= 1``: ``f`` times the largest activation of the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

MODE_HELP = "mode must be 'max', a percentile string such as '99.9%' (0 < p <= 100), or a number f with 0 < f <= 1"


@dataclass(frozen=True)
class NormMode:
    """A parsed normalisation mode.

    Attributes:
        kind: ``'max'``, ``'percentile'`` or ``'fraction'``.
        value: the percentile as a fraction in ``(0, 1]`` for ``'percentile'``, the factor
            for ``'fraction'``, ``1.0`` for ``'max'``.
        text: the mode as the user wrote it (for reports and plots).
    """

    kind: str
    value: float
    text: str

    def statistic(self, x: torch.Tensor) -> torch.Tensor:
        """The mode's statistic of one calibration batch ``x`` (a 0-d float tensor)."""
        flat = x.detach().reshape(-1)
        if flat.numel() == 0:
            raise ValueError("cannot compute an activation statistic of an empty tensor")
        if not flat.is_floating_point() or flat.dtype in (torch.float16, torch.bfloat16):
            flat = flat.float()
        if self.kind == "percentile" and self.value < 1.0:
            k = max(1, math.ceil(round(self.value * flat.numel(), 6)))  # round: 99.9/100 is 0.99900...01
            return flat.kthvalue(k).values
        top = flat.max()
        return top * self.value if self.kind == "fraction" else top


def parse_mode(mode: str | float | NormMode) -> NormMode:
    """Parse a normalisation mode (see the module docstring).

    Args:
        mode: ``'max'`` (any case), ``'p%'`` with ``0 < p <= 100``, or a number in ``(0, 1]``.

    Returns:
        The :class:`NormMode`.

    Raises:
        ValueError: the mode is none of these (the message lists the accepted forms).
    """
    if isinstance(mode, NormMode):
        return mode
    if isinstance(mode, str):
        text = mode.strip()
        if text.lower() == "max":
            return NormMode("max", 1.0, "max")
        if text.endswith("%"):
            try:
                percent = float(text[:-1])
            except ValueError:
                raise ValueError(f"{MODE_HELP}; got {mode!r} (not a number before '%')") from None
            if not 0.0 < percent <= 100.0 or math.isnan(percent):
                raise ValueError(f"{MODE_HELP}; got {mode!r} (percentile out of range)")
            return NormMode("percentile", percent / 100.0, text)
        raise ValueError(f"{MODE_HELP}; got {mode!r}")
    if isinstance(mode, (int, float)) and not isinstance(mode, bool):
        value = float(mode)
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{MODE_HELP}; got {mode!r} (out of range)")
        return NormMode("fraction", value, f"{value:g}")
    raise ValueError(f"{MODE_HELP}; got {mode!r} of type {type(mode).__name__}")
