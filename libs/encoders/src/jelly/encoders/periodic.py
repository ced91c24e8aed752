r"""Periodic encoder: replays a fixed spike pattern.

Given a pattern :math:`P` of shape ``[T, *]`` with entries in :math:`\{0, 1\}`, the
:math:`k`-th single-step call (counting from 0 after a reset) returns

.. math:: s[k] = P[k \bmod T],

whatever the input. In multi-step mode an input ``[T', ...]`` (only its length is used) or
``None`` (one full period) returns the next ``T'`` (or ``T``) steps.
"""

from __future__ import annotations

import torch

from ._checks import check_tensor
from .base import StatefulEncoder


class PeriodicEncoder(StatefulEncoder):
    """Stateful encoder that outputs ``spike[k % T]`` at its ``k``-th call, ``T = spike.shape[0]``.

    The pattern is a buffer (``out_spike``): it moves with ``.to(device)`` and is saved in
    the ``state_dict``. Spikes come back in the pattern's dtype.

    Args:
        spike: the pattern ``[T, *]`` with ``T >= 1`` and values in ``{0, 1}`` (bool,
            integer or floating point).
        step_mode: ``'s'`` or ``'m'``.

    Example:
        >>> pattern = torch.tensor([[0., 1., 0.], [1., 0., 0.]]).T  # T=3, 2 neurons
        >>> enc = PeriodicEncoder(pattern)
        >>> torch.stack([enc() for _ in range(6)]).equal(pattern.repeat(2, 1))
        True
    """

    requires_input = False

    def __init__(self, spike: torch.Tensor, step_mode: str = "s") -> None:
        pattern = self._check_pattern(spike)
        super().__init__(pattern.shape[0], step_mode)
        self.register_buffer("out_spike", pattern.clone())

    @staticmethod
    def _check_pattern(spike: object) -> torch.Tensor:
        spike = check_tensor(spike, "PeriodicEncoder", "spike pattern")
        if spike.dim() < 1 or spike.shape[0] == 0:
            raise ValueError(
                f"PeriodicEncoder: the spike pattern must have shape [T, *] with T >= 1, got shape "
                f"{tuple(spike.shape)}"
            )
        if spike.is_complex():
            raise TypeError(f"PeriodicEncoder: the spike pattern must be real, got dtype {spike.dtype}")
        if spike.dtype != torch.bool and not bool(((spike == 0) | (spike == 1)).all()):
            raise ValueError("PeriodicEncoder: the spike pattern must hold only 0 and 1")
        return spike

    def set_out_spike(self, spike: torch.Tensor) -> None:
        """Replace the pattern (its period becomes ``spike.shape[0]``) and reset the encoder."""
        pattern = self._check_pattern(spike)
        self.out_spike = pattern.clone().to(self.out_spike.device)
        self.T = pattern.shape[0]
        self.reset()

    def output_shape(self, input_shape: torch.Size | tuple[int, ...]) -> tuple[int, ...]:
        """The pattern's step shape, whatever the input."""
        return tuple(self.out_spike.shape[1:])

    def single_step_encode(self, x: torch.Tensor | None = None) -> torch.Tensor:
        """Return the pattern ``[T, *]`` (the input is ignored)."""
        return self.out_spike
