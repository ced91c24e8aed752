"""Step modes and the stateful-module base shared by every Jelly library.

A spiking network runs in one of two *step modes*:

* ``'s'`` (single step): the input is ``[N, *]``, one time step per call; the module
  keeps its state (membrane potential, masks, counters) between calls.
* ``'m'`` (multi step): the input is ``[T, N, *]``, the whole sequence in one call.

Modules that carry state between calls derive from :class:`MemoryModule`, register each
state with :meth:`MemoryModule.register_memory` and get :meth:`~MemoryModule.reset` and
:meth:`~MemoryModule.detach` for free. ``jelly.core.functional.reset_net`` walks a network
and resets every such module.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

STEP_MODES = ("s", "m")


class StepModeError(ValueError):
    """Raised when an input does not fit the module's step mode (e.g. wrong rank)."""


class StateShapeError(RuntimeError):
    """Raised when a stateful module gets an input whose shape does not fit its state.

    This almost always means ``functional.reset_net(net)`` was not called between two
    batches of different shape.
    """


def check_step_mode(step_mode: str) -> str:
    """Return ``step_mode`` if it is ``'s'`` or ``'m'``, else raise a ``ValueError``."""
    if step_mode not in STEP_MODES:
        raise ValueError(f"step_mode must be 's' (single step) or 'm' (multi step), got {step_mode!r}")
    return step_mode


class StepModule:
    """Mixin for modules that know a step mode.

    Subclasses list the modes they support in :meth:`supported_step_mode`; assigning an
    unsupported mode raises a ``ValueError``.
    """

    def supported_step_mode(self) -> tuple[str, ...]:
        """Step modes this module can run in (default: both)."""
        return STEP_MODES

    @property
    def step_mode(self) -> str:
        """The current step mode, ``'s'`` or ``'m'``."""
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        check_step_mode(value)
        if value not in self.supported_step_mode():
            raise ValueError(
                f"{type(self).__name__} supports step modes {self.supported_step_mode()}, not {value!r}"
            )
        self._step_mode = value


def check_sequence_input(x_seq: torch.Tensor, owner: object, min_dim: int = 2) -> None:
    """Raise :class:`StepModeError` unless ``x_seq`` looks like a ``[T, N, *]`` sequence.

    ``owner`` (a module or a name) is named in the error message.
    """
    name = owner if isinstance(owner, str) else type(owner).__name__
    if not isinstance(x_seq, torch.Tensor):
        raise TypeError(f"{name} expects a torch.Tensor, got {type(x_seq).__name__}")
    if x_seq.dim() < min_dim:
        raise StepModeError(
            f"{name} is in multi-step mode ('m') and expects input of shape "
            f"[T, N, *] with at least {min_dim} dimensions, got shape {tuple(x_seq.shape)}. "
            "Use step_mode='s' for a single time step."
        )


class MemoryModule(nn.Module, StepModule):
    """Base class of modules that keep state between calls.

    Register each state with :meth:`register_memory` (its value is the reset value: a
    number, ``None`` or a tensor, deep-copied on reset). The state is an attribute like any
    other (``self.v``). :meth:`forward` dispatches on the step mode to
    :meth:`single_step_forward` or :meth:`multi_step_forward`; the default multi-step
    forward loops the single-step one over ``T``.
    """

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self._memories: dict[str, Any] = {}
        self._memories_rv: dict[str, Any] = {}
        self.step_mode = step_mode

    def register_memory(self, name: str, value: Any) -> None:
        """Declare a state variable ``name`` whose reset value is ``value``."""
        if hasattr(self, name) and name not in self._memories:
            raise AttributeError(f"{name!r} is already an attribute of {type(self).__name__}")
        self._memories[name] = copy.deepcopy(value)
        self._memories_rv[name] = copy.deepcopy(value)

    def reset(self) -> None:
        """Set every registered state back to its reset value."""
        for key, value in self._memories_rv.items():
            self._memories[key] = copy.deepcopy(value)

    def detach(self) -> None:
        """Detach every tensor state from the autograd graph (truncated BPTT)."""
        for key, value in self._memories.items():
            if isinstance(value, torch.Tensor):
                self._memories[key] = value.detach()

    def memories(self):
        """Iterate over the current values of the registered states."""
        return iter(self._memories.values())

    def named_memories(self):
        """Iterate over ``(name, value)`` of the registered states."""
        return iter(self._memories.items())

    def __getattr__(self, name: str) -> Any:
        memories = self.__dict__.get("_memories")
        if memories is not None and name in memories:
            return memories[name]
        return super().__getattr__(name)

    def __setattr__(self, name: str, value: Any) -> None:
        memories = self.__dict__.get("_memories")
        if memories is not None and name in memories:
            memories[name] = value
        else:
            super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        memories = self.__dict__.get("_memories")
        if memories is not None and name in memories:
            del memories[name]
            del self._memories_rv[name]
        else:
            super().__delattr__(name)

    def __dir__(self):
        return list(super().__dir__()) + list(self._memories)

    def _apply(self, fn, *args, **kwargs):
        # Move tensor states along with parameters (``.to(device)``, ``.double()``...).
        for key, value in self._memories.items():
            if isinstance(value, torch.Tensor):
                self._memories[key] = fn(value)
        return super()._apply(fn, *args, **kwargs)

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode}"

    def single_step_forward(self, x: torch.Tensor, *args, **kwargs):
        """One time step: ``x`` is ``[N, *]``."""
        raise NotImplementedError

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs):
        """Whole sequence: ``x_seq`` is ``[T, N, *]``. Default: loop the single step."""
        check_sequence_input(x_seq, self)
        outputs = [self.single_step_forward(x, *args, **kwargs) for x in x_seq.unbind(0)]
        return torch.stack(outputs)

    def forward(self, *args, **kwargs):
        if self.step_mode == "s":
            return self.single_step_forward(*args, **kwargs)
        return self.multi_step_forward(*args, **kwargs)
