"""The base class of spiking neuron modules: state, step modes, backends, checks."""

from __future__ import annotations

import torch

from jelly.core.base import MemoryModule, StateShapeError, StepModeError, check_sequence_input

from ..backends.registry import Resolution, backends_of, resolve


def _default_surrogate():
    from jelly.surrogates import Sigmoid

    return Sigmoid()


class BaseNode(MemoryModule):
    """Common machinery of spiking neurons (SpikingJelly's ``BaseNode`` arguments).

    Args:
        v_threshold: firing threshold (must be > ``v_reset`` for hard reset).
        v_reset: reset potential (hard reset); ``None`` for soft reset (subtract the threshold).
        surrogate_function: a :class:`jelly.surrogates.SurrogateFunction` (default ``Sigmoid()``).
        detach_reset: detach the spike used in the reset from the autograd graph.
        step_mode: ``'s'`` (``[N, *]`` per call) or ``'m'`` (``[T, N, *]`` per call).
        backend: ``'auto'`` (default: fastest available for the input's device and dtype),
            ``'torch'`` (fused BPTT), ``'reference'`` (per-step autograd), or a GPU backend.
        store_v_seq: in ``'m'`` mode keep the whole membrane sequence in ``self.v_seq``.

    State: ``v`` (membrane), a float until the first input, then a tensor of the input's
    shape. Calling the neuron on an input of another shape without ``reset()`` raises
    :class:`~jelly.core.base.StateShapeError`.
    """

    op_name: str = ""

    def __init__(
        self,
        v_threshold: float = 1.0,
        v_reset: float | None = 0.0,
        surrogate_function=None,
        detach_reset: bool = False,
        step_mode: str = "s",
        backend: str = "auto",
        store_v_seq: bool = False,
    ) -> None:
        super().__init__(step_mode)
        if v_reset is not None and not v_threshold > v_reset:
            raise ValueError(f"v_threshold ({v_threshold}) must be greater than v_reset ({v_reset})")
        self.v_threshold = float(v_threshold)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.surrogate_function = surrogate_function if surrogate_function is not None else _default_surrogate()
        self.detach_reset = bool(detach_reset)
        self.store_v_seq = bool(store_v_seq)
        self.backend = backend
        self.register_memory("v", 0.0 if v_reset is None else float(v_reset))
        self.register_memory("v_seq", None)

    @property
    def supported_backends(self) -> tuple[str, ...]:
        """Backends this neuron accepts (``'auto'`` first)."""
        return ("auto",) + backends_of(self.op_name)

    @property
    def backend(self) -> str:
        """Name of the requested backend (``'auto'`` resolves per input)."""
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        if value not in self.supported_backends:
            raise ValueError(f"{type(self).__name__} supports backends {self.supported_backends}, not {value!r}")
        self._backend = value

    def extra_repr(self) -> str:
        return (
            f"v_threshold={self.v_threshold}, v_reset={self.v_reset}, detach_reset={self.detach_reset}, "
            f"step_mode={self.step_mode}, backend={self.backend}"
        )

    # -- input and state checks ------------------------------------------------------
    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(
                f"{type(self).__name__} expects a floating-point input, got dtype {x.dtype}; "
                "convert with x.float()"
            )

    def _init_v(self, x: torch.Tensor) -> torch.Tensor:
        """The membrane as a tensor shaped like one step ``x`` (checks a kept state fits)."""
        v = self.v
        if isinstance(v, torch.Tensor):
            if v.shape != x.shape:
                raise StateShapeError(
                    f"{type(self).__name__}: input of shape {tuple(x.shape)} does not match the stored "
                    f"membrane of shape {tuple(v.shape)}; call jelly.core.functional.reset_net(net) "
                    "between batches (samples of another shape, or the last smaller batch)"
                )
            if v.device != x.device or v.dtype != x.dtype:
                v = v.to(device=x.device, dtype=x.dtype)
            return v
        return torch.full_like(x, float(v))

    # -- forwards ----------------------------------------------------------------------
    def describe(self, x: torch.Tensor) -> Resolution:
        """Which multi-step implementation runs for input ``x`` and why.

        The surrogate is passed to the backends' checks, so a backend without a kernel for
        it is skipped by ``'auto'`` (and an explicit request raises, naming the surrogate).
        """
        return resolve(self.op_name, self.backend, x, surrogate_function=self.surrogate_function)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if x.dim() < 1:
            raise StepModeError(f"{type(self).__name__} expects input [N, *], got a 0-d tensor")
        v = self._init_v(x)
        spike, self.v = self._step(x, v)
        return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_input(x_seq)
        check_sequence_input(x_seq, self)
        v = self._init_v(x_seq[0])
        spike_seq, v_seq = self._multi_step(x_seq, v)
        if self.store_v_seq:
            self.v_seq = v_seq
            self.v = v_seq[-1]
        else:
            # A copy of the last step, not a view: the view would keep all of v_seq alive.
            self.v = v_seq[-1].clone()
        return spike_seq

    def _step(self, x: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step: return ``(spike, v_next)`` (implemented by subclasses)."""
        raise NotImplementedError

    def _multi_step(self, x_seq: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """All steps: return ``(spike_seq, v_seq)`` (implemented by subclasses)."""
        raise NotImplementedError
