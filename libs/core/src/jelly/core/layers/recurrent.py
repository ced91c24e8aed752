r"""Recurrent containers: feed a module's previous output back into its input.

Denote the container's input ``x[t]``, the wrapped module's input ``i[t]`` and its output
``y[t]`` (which is also the container's output), with ``y[-1] = 0``:

* :class:`ElementWiseRecurrentContainer`: ``i[t] = f(y[t-1], x[t])`` for a user-given
  element-wise ``f`` (e.g. ``lambda y, x: x + y``); ``y`` must have the shape of ``x``.
* :class:`LinearRecurrentContainer`: ``i[t] = [x[t], y[t-1]] W^T + b``, a learnable
  ``nn.Linear(in_features + out_features, in_features, bias)`` named ``rc`` (as in
  SpikingJelly, so state dicts carry over).

The feedback is delayed by one step, so the wrapped module runs one step at a time: it
must be in single-step mode (a neuron from ``jelly.neurons`` with ``step_mode='s'``, or any
module mapping ``[N, *]`` to ``[N, *]``). The container itself takes ``step_mode='s'``
(``[N, *]`` per call) or ``'m'`` (``[T, N, *]``, looped over ``T``);
``functional.set_step_mode`` changes the container only. jelly-core does not depend on
``jelly.neurons``: the neuron is passed in.

:meth:`reset` clears the container's ``y``; ``functional.reset_net(net)`` also resets the
wrapped module.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..base import MemoryModule, StateShapeError, StepModeError, StepModule, check_sequence_input


def _check_single_step_children(owner: nn.Module, sub_module: nn.Module) -> None:
    for name, module in sub_module.named_modules():
        if isinstance(module, StepModule) and module.step_mode != "s":
            where = f"sub_module.{name}" if name else "sub_module"
            raise ValueError(
                f"{type(owner).__name__}: {where} ({type(module).__name__}) has step_mode="
                f"{module.step_mode!r}; the recurrent feedback is computed one step at a time, so the "
                "wrapped module must use step_mode='s' (the container's own step_mode may be 'm')"
            )


class _RecurrentContainer(MemoryModule):
    """Shared loop: ``y[t] = sub_module(input_of(x[t], y[t-1]))`` with ``y[-1] = 0``."""

    _keeps_children_step_mode = True

    def __init__(self, sub_module: nn.Module, step_mode: str) -> None:
        super().__init__(step_mode)
        _check_single_step_children(self, sub_module)
        self.sub_module = sub_module
        self.register_memory("y", None)

    def _initial_output(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _recurrent_input(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _check_output(self, y: torch.Tensor, y_prev: torch.Tensor) -> None:
        if not isinstance(y, torch.Tensor) or y.shape != y_prev.shape:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ValueError(
                f"{type(self).__name__}: sub_module returned {got}, but the fed-back output must have "
                f"shape {tuple(y_prev.shape)}"
            )

    def _step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y_next = self.sub_module(self._recurrent_input(x, y))
        self._check_output(y_next, y)
        return y_next

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor, got {type(x).__name__}")
        _check_single_step_children(self, self.sub_module)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step: ``x`` ``[N, *]`` -> ``y`` (kept for the next step)."""
        self._check_input(x)
        if x.dim() < 1:
            raise StepModeError(f"{type(self).__name__} expects input [N, *], got a 0-d tensor")
        self.y = self._step(x, self._initial_output(x))
        return self.y

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """All steps: ``x_seq`` ``[T, N, *]`` -> ``[T, N, *']``, looping the single step."""
        self._check_input(x_seq)
        check_sequence_input(x_seq, self)
        y = self._initial_output(x_seq[0])
        outputs = []
        for x in x_seq.unbind(0):
            y = self._step(x, y)
            outputs.append(y)
        self.y = y
        return torch.stack(outputs)


class ElementWiseRecurrentContainer(_RecurrentContainer):
    """Element-wise feedback: ``i[t] = f(y[t-1], x[t])``, ``y[t] = sub_module(i[t])``.

    Args:
        sub_module: the wrapped module, single-step, output shaped like its input.
        element_wise_function: ``f(y, x)`` combining the previous output ``y`` and the
            current input ``x`` (same shapes), e.g. ``lambda y, x: x + y``.
        step_mode: the container's step mode, ``'s'`` or ``'m'``.

    State: ``y``, ``None`` until the first step. An input of another shape without
    :meth:`reset` raises :class:`~jelly.core.base.StateShapeError`.

    Example::

        rnn = ElementWiseRecurrentContainer(neurons.IFNode(v_reset=None), lambda y, x: x + y)
        spikes = [rnn(x[t]) for t in range(T)]
    """

    def __init__(self, sub_module: nn.Module, element_wise_function: Callable, step_mode: str = "s") -> None:
        if not callable(element_wise_function):
            raise TypeError(
                f"element_wise_function must be callable f(y, x), got {type(element_wise_function).__name__}"
            )
        super().__init__(sub_module, step_mode)
        self.element_wise_function = element_wise_function

    def _initial_output(self, x: torch.Tensor) -> torch.Tensor:
        y = self.y
        if y is None:
            return torch.zeros_like(x)
        if y.shape != x.shape:
            raise StateShapeError(
                f"ElementWiseRecurrentContainer: input of shape {tuple(x.shape)} does not match the stored "
                f"output of shape {tuple(y.shape)}; call jelly.core.functional.reset_net(net) between batches"
            )
        return y

    def _recurrent_input(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.element_wise_function(y, x)

    def extra_repr(self) -> str:
        return f"element_wise_function={self.element_wise_function}, step_mode={self.step_mode}"


class LinearRecurrentContainer(_RecurrentContainer):
    """Linear feedback: ``i[t] = [x[t], y[t-1]] W^T + b``, ``y[t] = sub_module(i[t])``.

    Args:
        sub_module: the wrapped single-step module, mapping ``[N, *, in_features]`` to
            ``[N, *, out_features]`` (e.g. ``nn.Sequential(nn.Linear(in, out), neuron)``).
        in_features: size of the last dim of ``x[t]``.
        out_features: size of the last dim of ``y[t]``.
        bias: whether the recurrent linear layer ``rc`` has a bias.
        step_mode: the container's step mode, ``'s'`` or ``'m'``.

    Attributes:
        rc: ``nn.Linear(in_features + out_features, in_features, bias)``; its first
            ``in_features`` columns act on ``x[t]``, the others on ``y[t-1]``.

    State: ``y``, ``None`` until the first step, then ``[N, *, out_features]``.
    """

    def __init__(
        self,
        sub_module: nn.Module,
        in_features: int,
        out_features: int,
        bias: bool = True,
        step_mode: str = "s",
    ) -> None:
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"LinearRecurrentContainer: {name} must be a positive int, got {value!r}")
        super().__init__(sub_module, step_mode)
        self.in_features = in_features
        self.sub_module_out_features = out_features
        self.rc = nn.Linear(in_features + out_features, in_features, bias)

    @property
    def out_features(self) -> int:
        """Size of the last dim of the fed-back output ``y``."""
        return self.sub_module_out_features

    def _initial_output(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"LinearRecurrentContainer expects x[t] of shape [N, *, {self.in_features}], "
                f"got {tuple(x.shape)}"
            )
        shape = (*x.shape[:-1], self.out_features)
        y = self.y
        if y is None:
            return x.new_zeros(shape)
        if tuple(y.shape) != shape:
            raise StateShapeError(
                f"LinearRecurrentContainer: input of shape {tuple(x.shape)} needs a stored output of shape "
                f"{shape}, got {tuple(y.shape)}; call jelly.core.functional.reset_net(net) between batches"
            )
        return y

    def _recurrent_input(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.rc(torch.cat((x, y), dim=-1))

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.rc.bias is not None}, step_mode={self.step_mode}"
        )


__all__ = ["ElementWiseRecurrentContainer", "LinearRecurrentContainer"]
