"""The converted network: a traced graph whose ReLUs became IF neurons, with step modes.

* ``step_mode='s'``: ``forward(x)`` takes one time step ``[N, *]`` and returns ``[N, *]``
  (call it ``T`` times and average the outputs; SpikingJelly's way).
* ``step_mode='m'``: ``forward(x_seq)`` takes ``[T, N, *]`` and returns ``[T, N, *]``. Every
  stateless layer runs once on the merged batch ``[T * N, *]``; only the IF neurons see
  ``[T, N, *]``.
* :meth:`SpikingNetwork.forward_static` (multi-step): the same input at every step. The part
  of the graph before the first neuron is computed once per sample instead of ``T`` times.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx, nn

from jelly.core.base import StepModule, check_sequence_input, check_step_mode

from .modules import ExpandTime, SpikingActivation


def _unmerge(y: Any, T: int) -> Any:
    """``[T * N, *] -> [T, N, *]`` on every tensor of a (possibly nested) output."""
    if isinstance(y, torch.Tensor):
        return y.unflatten(0, (T, -1)) if y.dim() >= 1 else y
    if isinstance(y, (list, tuple)):
        items = [_unmerge(v, T) for v in y]
        return type(y)(*items) if hasattr(y, "_fields") else type(y)(items)
    if isinstance(y, dict):
        return {k: _unmerge(v, T) for k, v in y.items()}
    return y


class _PrefixCachingInterpreter(fx.Interpreter):
    """Runs the graph, reusing the values of the time-independent prefix nodes from ``cache``."""

    def __init__(self, gm: fx.GraphModule, prefix: frozenset[str], cache: dict[str, Any]) -> None:
        super().__init__(gm)
        self.prefix = prefix
        self.cache = cache

    def run_node(self, n: fx.Node) -> Any:
        if n.name in self.cache:
            return self.cache[n.name]
        value = super().run_node(n)
        if n.name in self.prefix:
            self.cache[n.name] = value
        return value


class SpikingNetwork(nn.Module, StepModule):
    """A converted SNN (returned by :class:`~jelly.ann2snn.converter.Converter`).

    Args:
        graph_module: the converted ``torch.fx.GraphModule`` (held as :attr:`net`).
        report: the :class:`~jelly.ann2snn.report.ConversionReport` of the conversion.
        supports_static_input: whether :meth:`forward_static` may skip repeating the
            time-independent part of the graph (decided by the converter).
        prefix_nodes: names of the graph nodes before the first neuron that depend on the
            input (the time-independent prefix; cached by :meth:`forward_static`).
        sample_numel: the largest number of elements per sample of any intermediate tensor
            (used to size chunks of time steps).
        step_mode: ``'s'`` or ``'m'``; setting it sets every IF neuron of the network too.

    ``jelly.core.functional.reset_net(snn)`` resets every neuron (do it between batches);
    ``jelly.core.functional.set_step_mode(snn, 'm')`` switches everything to multi-step.
    """

    def __init__(
        self,
        graph_module: nn.Module,
        report: Any = None,
        supports_static_input: bool = False,
        step_mode: str = "s",
        prefix_nodes: frozenset[str] | set[str] = frozenset(),
        sample_numel: int = 0,
    ) -> None:
        super().__init__()
        self.net = graph_module
        self.report = report
        self.supports_static_input = bool(supports_static_input)
        self.prefix_nodes = frozenset(prefix_nodes)
        self.sample_numel = int(sample_numel)
        self.step_mode = step_mode

    @property
    def step_mode(self) -> str:
        """The current step mode, ``'s'`` or ``'m'`` (shared by every IF neuron)."""
        return self._step_mode

    @step_mode.setter
    def step_mode(self, value: str) -> None:
        check_step_mode(value)
        self._step_mode = value
        for act in self.activations():
            act.neuron.step_mode = value

    def activations(self) -> list[SpikingActivation]:
        """The converted ReLUs, in graph order."""
        return [m for m in self.net.modules() if isinstance(m, SpikingActivation)] if "net" in self._modules else []

    @property
    def scales(self) -> dict[str, float]:
        """``{submodule name: λ}`` of every converted ReLU."""
        return {name: m.scale for name, m in self.net.named_modules() if isinstance(m, SpikingActivation)}

    def reset(self) -> None:
        """Reset every neuron of the network (same as ``functional.reset_net(self)``)."""
        for act in self.activations():
            act.neuron.reset()

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode}, neurons={len(self.activations())}"

    def _configure(self, time_steps: int | None, static: bool) -> None:
        for m in self.net.modules():
            if isinstance(m, SpikingActivation):
                m.time_steps = time_steps
                m.static_input = static
            elif isinstance(m, ExpandTime):
                m.time_steps = time_steps
                m.active = static

    def forward(self, x: torch.Tensor) -> Any:
        """One step ``[N, *]`` (``'s'``) or a sequence ``[T, N, *]`` (``'m'``)."""
        if self.step_mode == "s":
            self._configure(None, False)
            return self.net(x)
        check_sequence_input(x, self)
        T = x.shape[0]
        self._configure(T, False)
        return _unmerge(self.net(x.flatten(0, 1)), T)

    def forward_static(self, x: torch.Tensor, time_steps: int, cache: dict | None = None) -> Any:
        """Multi-step run of ``time_steps`` steps that all receive the same input ``x`` ``[N, *]``.

        Equivalent to ``forward(x.expand(T, *x.shape))`` in step mode ``'m'`` (which it
        requires), but the layers before the first neuron run once instead of ``T`` times.

        Args:
            x: the input of every step, ``[N, *]``.
            time_steps: number of steps ``T`` of this call.
            cache: pass the same (initially empty) dict to consecutive calls on the same
                ``x`` (chunks of one longer run) to compute the time-independent prefix only
                once; do not change ``x`` in between.

        Returns:
            The outputs ``[T, N, *]``.
        """
        if self.step_mode != "m":
            raise RuntimeError("forward_static needs step_mode='m' (functional.set_step_mode(snn, 'm'))")
        T = int(time_steps)
        if T < 1:
            raise ValueError(f"time_steps must be >= 1, got {time_steps}")
        if self.supports_static_input:
            self._configure(T, True)
            acts = self.activations() if cache is not None else []
            for i, act in enumerate(acts):
                act.static_memo = cache.setdefault(f"activation {i}", {})
            try:
                if cache is None:
                    y = self.net(x)
                else:
                    if cache.setdefault("input", x) is not x:
                        raise ValueError("forward_static: a cache filled for another input tensor was passed")
                    y = _PrefixCachingInterpreter(self.net, self.prefix_nodes, cache.setdefault("nodes", {})).run(x)
            finally:
                self._configure(None, False)
                for act in acts:
                    act.static_memo = None
        else:
            self._configure(T, False)
            y = self.net(x.unsqueeze(0).expand(T, *x.shape).flatten(0, 1))
        return _unmerge(y, T)
