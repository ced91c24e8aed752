"""Dropout whose mask is shared by every time step of a sample.

Standard dropout would draw a new mask at every time step, which injects noise into the
membrane dynamics; SNNs instead drop the same units for the whole sequence. In ``'m'``
mode one mask of shape ``[N, *]`` is drawn per call and applied to all ``T`` steps; in
``'s'`` mode the mask is drawn at the first step and kept until :meth:`reset`.
"""

from __future__ import annotations

import torch

from ..base import MemoryModule, StepModeError, check_sequence_input


class Dropout(MemoryModule):
    """Dropout with one mask per sample for all time steps.

    Args:
        p: probability of an element to be zeroed, in ``[0, 1)``.
        step_mode: ``'s'`` or ``'m'``.

    Kept elements are scaled by ``1 / (1 - p)`` during training; in eval mode the module
    is the identity.
    """

    def __init__(self, p: float = 0.5, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
        self.p = p
        self.register_memory("mask", None)

    def extra_repr(self) -> str:
        return f"p={self.p}, step_mode={self.step_mode}"

    def _mask_shape(self, x: torch.Tensor) -> tuple[int, ...]:
        return tuple(x.shape)

    def _draw_mask(self, x: torch.Tensor) -> torch.Tensor:
        keep = torch.rand(self._mask_shape(x), device=x.device) >= self.p
        return keep.to(x.dtype) / (1.0 - self.p)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if self.mask is None:
            self.mask = self._draw_mask(x)
        elif self.mask.dim() != x.dim() or any(
            m not in (1, s) for m, s in zip(self.mask.shape, x.shape)
        ):
            raise StepModeError(
                f"{type(self).__name__}: input shape {tuple(x.shape)} does not match the mask drawn at the "
                f"first step {tuple(self.mask.shape)}; call functional.reset_net(net) between batches"
            )
        return x * self.mask

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_sequence_input(x_seq, self)
        if not self.training or self.p == 0.0:
            return x_seq
        mask = self._draw_mask(x_seq[0])
        return x_seq * mask


class Dropout2d(Dropout):
    """Channel dropout (whole feature maps) with one mask per sample for all time steps.

    Input ``[N, C, H, W]`` (``'s'``) or ``[T, N, C, H, W]`` (``'m'``); the mask has shape
    ``[N, C, 1, 1]``.
    """

    def _mask_shape(self, x: torch.Tensor) -> tuple[int, ...]:
        if x.dim() != 4:
            raise StepModeError(
                f"Dropout2d expects [N, C, H, W] per step, got a step of shape {tuple(x.shape)}"
            )
        return (x.shape[0], x.shape[1], 1, 1)
