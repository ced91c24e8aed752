"""Shared pieces of the zoo neurons: argument checks and a base for multi-state neurons."""

from __future__ import annotations

import math
from typing import Any

import torch

from jelly.core.base import StateShapeError, StepModeError, check_sequence_input

from .base_node import BaseNode


def check_number(
    owner: str,
    name: str,
    value: Any,
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> float:
    """Return ``value`` as a finite float, checking the bounds given.

    Raises:
        TypeError: ``value`` is not a real number (bools and strings are refused).
        ValueError: ``value`` is not finite or out of bounds; the message names ``name``.
    """
    if isinstance(value, (bool, str, bytes)) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{owner}: {name} must be finite, got {number}")
    if gt is not None and not number > gt:
        raise ValueError(f"{owner}: {name} must be > {gt}, got {number}")
    if ge is not None and not number >= ge:
        raise ValueError(f"{owner}: {name} must be >= {ge}, got {number}")
    if le is not None and not number <= le:
        raise ValueError(f"{owner}: {name} must be <= {le}, got {number}")
    return number


class MultiStateNode(BaseNode):
    """A :class:`BaseNode` with further states next to ``v`` (listed in ``extra_state_names``).

    Subclasses register each extra state with ``register_memory`` and implement
    :meth:`_step_states` and :meth:`_multi_step_states`. Every state is checked against the
    input shape like ``v`` (a mismatch raises :class:`~jelly.core.base.StateShapeError`)
    before any state changes.
    """

    extra_state_names: tuple[str, ...] = ()

    def _init_state(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """State ``name`` as a tensor shaped like one step ``x`` (checks a kept state fits)."""
        value = getattr(self, name)
        if isinstance(value, torch.Tensor):
            if value.shape != x.shape:
                raise StateShapeError(
                    f"{type(self).__name__}: input of shape {tuple(x.shape)} does not match the stored "
                    f"state {name!r} of shape {tuple(value.shape)}; call "
                    "jelly.core.functional.reset_net(net) between batches (samples of another shape, "
                    "or the last smaller batch)"
                )
            if value.device != x.device or value.dtype != x.dtype:
                value = value.to(device=x.device, dtype=x.dtype)
            return value
        return torch.full_like(x, float(value))

    def _init_states(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        v = self._init_v(x)
        return v, tuple(self._init_state(name, x) for name in self.extra_state_names)

    def _set_extra_states(self, extras: tuple[torch.Tensor, ...]) -> None:
        for name, value in zip(self.extra_state_names, extras, strict=True):
            setattr(self, name, value)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if x.dim() < 1:
            raise StepModeError(f"{type(self).__name__} expects input [N, *], got a 0-d tensor")
        v, extras = self._init_states(x)
        out, self.v, extras = self._step_states(x, v, extras)
        self._set_extra_states(extras)
        return out

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_input(x_seq)
        check_sequence_input(x_seq, self)
        v, extras = self._init_states(x_seq[0])
        out_seq, v_seq, extras = self._multi_step_states(x_seq, v, extras)
        self.v = v_seq[-1]
        self._set_extra_states(extras)
        if self.store_v_seq:
            self.v_seq = v_seq
        return out_seq

    def _step_states(self, x, v, extras):
        """One step: return ``(output, v_next, extras_next)``."""
        raise NotImplementedError

    def _multi_step_states(self, x_seq, v, extras):
        """All steps: return ``(output_seq, v_seq, extras_last)``."""
        raise NotImplementedError
