"""Network-level helpers: reset, step mode, backend, detach, and sequence forwards.

These walk ``net.modules()``; there is no global registry of stateful modules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from .base import MemoryModule, StepModule, check_sequence_input, check_step_mode


def reset_net(net: nn.Module) -> None:
    """Reset the state of every stateful module in ``net`` (call between samples/batches).

    Any module with a ``reset()`` method is reset, so user-defined stateful modules
    participate without deriving from :class:`~jelly.core.base.MemoryModule`.
    """
    for module in net.modules():
        reset = getattr(module, "reset", None)
        if callable(reset):
            reset()


def detach_net(net: nn.Module) -> None:
    """Detach the state of every stateful module from the autograd graph (truncated BPTT)."""
    for module in net.modules():
        if isinstance(module, MemoryModule):
            module.detach()


def set_step_mode(net: nn.Module, step_mode: str) -> None:
    """Set ``step_mode`` (``'s'`` or ``'m'``) on every step-mode-aware module in ``net``.

    Containers that manage the step mode of their children themselves
    (:class:`~jelly.core.layers.StepModeContainer`) keep their children as they are.
    """
    check_step_mode(step_mode)
    keep: set[int] = set()
    for module in net.modules():
        if getattr(module, "_keeps_children_step_mode", False):
            keep.update(id(m) for m in module.modules() if m is not module)
    for module in net.modules():
        if isinstance(module, StepModule) and id(module) not in keep:
            module.step_mode = step_mode


def set_backend(net: nn.Module, backend: str, instance: type | tuple[type, ...] = nn.Module) -> None:
    """Set ``backend`` on every module of type ``instance`` in ``net`` that has a backend.

    Raises ``ValueError`` if a module does not support the backend (its
    ``supported_backends`` tells which it has).
    """
    for module in net.modules():
        if isinstance(module, instance) and hasattr(module, "supported_backends"):
            supported = module.supported_backends
            if backend not in supported:
                raise ValueError(
                    f"{type(module).__name__} supports backends {tuple(supported)}, not {backend!r}"
                )
            module.backend = backend


def _as_module_list(modules) -> list:
    if isinstance(modules, (list, tuple, nn.Sequential)):
        return list(modules)
    return [modules]


def multi_step_forward(
    x_seq: torch.Tensor, single_step_module: nn.Module | Sequence[nn.Module] | Callable
) -> torch.Tensor:
    """Run a single-step module (or a list of them, in order) over every step of ``x_seq``.

    Args:
        x_seq: input of shape ``[T, N, *]``.
        single_step_module: module(s) that map ``[N, *]`` to ``[N, *]``.

    Returns:
        The stacked outputs, ``[T, N, *]``.
    """
    check_sequence_input(x_seq, "multi_step_forward")
    modules = _as_module_list(single_step_module)
    outputs = []
    for x in x_seq.unbind(0):
        for module in modules:
            x = module(x)
        outputs.append(x)
    return torch.stack(outputs)


def seq_to_ann_forward(
    x_seq: torch.Tensor, stateless_module: nn.Module | Sequence[nn.Module] | Callable
) -> torch.Tensor:
    """Apply a stateless module to all ``T`` steps at once by merging ``T`` into the batch.

    ``[T, N, *] -> [T * N, *] -> module -> [T, N, *']``. This is how stateless layers
    (convolution, linear, pooling, normalisation) run in multi-step mode: one big call
    instead of ``T`` small ones.
    """
    check_sequence_input(x_seq, "seq_to_ann_forward")
    T, N = x_seq.shape[0], x_seq.shape[1]
    y = x_seq.flatten(0, 1)
    modules = _as_module_list(stateless_module)
    for module in modules:
        y = module(y)
    return y.reshape(T, N, *y.shape[1:])
