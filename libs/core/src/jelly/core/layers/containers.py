"""Containers that adapt modules between step modes.

* :class:`SeqToANNContainer`: runs stateless modules on ``[T, N, *]`` by merging ``T``
  into the batch (always multi-step).
* :class:`MultiStepContainer`: runs single-step modules on ``[T, N, *]`` by looping over
  ``T`` (always multi-step).
* :class:`StepModeContainer`: runs its children in their own step mode while the
  container presents ``step_mode`` to the outside; ``stateful=True`` loops over ``T``,
  ``False`` merges ``T`` into the batch.
"""

from __future__ import annotations

import torch
from torch import nn

from ..base import StepModule, check_sequence_input
from ..functional import multi_step_forward, seq_to_ann_forward


class SeqToANNContainer(nn.Sequential):
    """Apply stateless modules to ``[T, N, *]`` as one ``[T * N, *]`` batch.

    Example::

        conv = SeqToANNContainer(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8))
        y_seq = conv(x_seq)  # [T, N, 1, H, W] -> [T, N, 8, H-2, W-2]
    """

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_sequence_input(x_seq, self)
        return seq_to_ann_forward(x_seq, super().forward)


class MultiStepContainer(nn.Sequential):
    """Run single-step modules over every time step of ``[T, N, *]`` (a loop over ``T``).

    Use it for stateful modules that only have a single-step implementation.
    """

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        check_sequence_input(x_seq, self)
        return multi_step_forward(x_seq, super().forward)


class StepModeContainer(nn.Sequential, StepModule):
    """Present a step mode to the outside and drive children that run single-step.

    Args:
        stateful: ``True`` if the children keep state between time steps (then ``'m'``
            input is looped over ``T``), ``False`` if they are stateless (then ``T`` is
            merged into the batch).
        *args: the child modules (run in order, each in single-step fashion).
        step_mode: the container's own step mode.

    ``functional.set_step_mode`` changes the container's step mode but leaves its children
    alone: they always see single steps.
    """

    _keeps_children_step_mode = True

    def __init__(self, stateful: bool, *args: nn.Module, step_mode: str = "s") -> None:
        super().__init__(*args)
        self.stateful = stateful
        self.step_mode = step_mode

    def extra_repr(self) -> str:
        return f"stateful={self.stateful}, step_mode={self.step_mode}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.step_mode == "s":
            return super().forward(x)
        check_sequence_input(x, self)
        if self.stateful:
            return multi_step_forward(x, super().forward)
        return seq_to_ann_forward(x, super().forward)
