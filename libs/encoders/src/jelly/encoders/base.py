"""Base classes of the encoders: stateless and stateful.

An encoder turns a (usually static) input ``x`` into spikes in ``{0, 1}``.

* A :class:`StatelessEncoder` draws each time step independently (e.g. Poisson rate
  coding): ``encoder(x)`` is one step of spikes with the shape of ``x``. In multi-step mode
  an input sequence ``[T, N, *]`` gives one step of spikes per frame.
* A :class:`StatefulEncoder` computes the whole spike train ``S`` of period ``T`` once per
  sample, ``S = encode(x)`` of shape ``[T, N, *]``, the first time it is called after a
  :meth:`~StatefulEncoder.reset`. The ``k``-th call (counting from 0) in single-step mode
  returns ``S[k mod T]``. In multi-step mode an input ``[T', N, *]`` holding the same frame
  ``T'`` times returns ``S[(k + j) mod T]`` for ``j = 0 .. T'-1``; the counter advances by
  ``T'``.

Call ``reset()`` (or ``jelly.core.functional.reset_net(net)``) before encoding a new sample:
a stateful encoder encodes only on the first call after a reset and reuses the stored spike
train afterwards. A later input of another shape raises
:class:`~jelly.core.StateShapeError`.
"""

from __future__ import annotations

import torch
from torch import nn

from jelly.core import MemoryModule, StateShapeError, StepModule, check_sequence_input

from ._checks import check_min_dim, check_positive_int, check_single_step_input, check_tensor


class StatelessEncoder(nn.Module, StepModule):
    """Base class of encoders without state between calls.

    Subclasses implement :meth:`single_step_forward` (``[N, *]`` in, spikes out). The
    default :meth:`multi_step_forward` folds ``[T, N, *]`` into ``[T * N, *]``, calls the
    single step once and unfolds the result, so an encoder that adds trailing dimensions
    still works in both modes.

    Args:
        step_mode: ``'s'`` (input ``[N, *]``) or ``'m'`` (input ``[T, N, *]``).
    """

    def __init__(self, step_mode: str = "s") -> None:
        super().__init__()
        self.step_mode = step_mode

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode one time step: ``x`` is ``[N, *]``."""
        raise NotImplementedError

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Encode a sequence: ``x_seq`` is ``[T, N, *]``, one step of spikes per frame."""
        steps, batch = x_seq.shape[0], x_seq.shape[1]
        spikes = self.single_step_forward(x_seq.flatten(0, 1))
        return spikes.unflatten(0, (steps, batch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Check the input's rank for the step mode and encode it."""
        if self.step_mode == "s":
            return self.single_step_forward(check_single_step_input(x, self))
        check_sequence_input(x, self)
        return self.multi_step_forward(x)

    def extra_repr(self) -> str:
        return f"step_mode={self.step_mode}"


class StatefulEncoder(MemoryModule):
    """Base class of encoders that compute a spike train of period ``T`` once per sample.

    Subclasses implement :meth:`single_step_encode` (``x`` of shape ``[N, *]`` to the spike
    train ``[T, N, *]``) and :meth:`check_sample` (input validation). The train is stored in
    the state ``spike`` and read with the counter ``t``; :meth:`reset` clears both.

    Args:
        T: period of the spike train (usually the number of simulation steps), ``>= 1``.
        step_mode: ``'s'`` (one step ``[N, *]`` per call) or ``'m'`` (input ``[T', N, *]``,
            output ``[T', N, *]``).

    Example:
        >>> from jelly.encoders import LatencyEncoder
        >>> enc = LatencyEncoder(T=4)
        >>> x = torch.tensor([[1.0, 0.0]])
        >>> [enc(x).tolist() for _ in range(4)]  # x=1 fires at t=0, x=0 at t=T-1
        [[[1.0, 0.0]], [[0.0, 0.0]], [[0.0, 0.0]], [[0.0, 1.0]]]
        >>> enc.reset()  # before the next sample
    """

    #: Whether the spike train depends on the input (``False`` for :class:`PeriodicEncoder`).
    requires_input: bool = True

    def __init__(self, T: int, step_mode: str = "s") -> None:
        super().__init__(step_mode)
        self.T = check_positive_int(T, "T", self)
        self.register_memory("spike", None)
        self.register_memory("t", 0)

    # -- to implement in subclasses -------------------------------------------------------
    def check_sample(self, x: torch.Tensor) -> None:
        """Validate a sample ``[N, *]`` (dtype, range); raise a clear error if it is wrong."""

    def single_step_encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the spike train ``[T, *output_shape(x.shape)]`` of a validated sample ``x``."""
        raise NotImplementedError

    def output_shape(self, input_shape: torch.Size | tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one step of spikes for an input of shape ``input_shape`` (default: same)."""
        return tuple(input_shape)

    # -- public API ---------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Return the whole spike train ``[T, N, *]`` of a static sample ``x`` (``[N, *]``).

        This does not touch the state (``spike``, ``t``); it is what the first call after a
        reset stores.
        """
        if self.requires_input:
            x = check_tensor(x, self)
            check_min_dim(x, self, 1, "[N, *] (one static sample)")
            self.check_sample(x)
        return self.single_step_encode(x)

    def single_step_forward(self, x: torch.Tensor | None = None) -> torch.Tensor:
        """Return the next step ``S[t]`` of the spike train, encoding ``x`` on the first call.

        Args:
            x: the sample ``[N, *]``. Needed on the first call after a reset; on later calls
                it may be ``None`` (its shape is checked when given, its values are not read).
        """
        if self.spike is None:
            if self.requires_input:
                if x is None:
                    raise ValueError(f"{type(self).__name__} needs an input on the first call after reset()")
                check_single_step_input(x, self)
            self._store(self.encode(x))
        elif x is not None and self.requires_input:
            self._check_same_shape(check_tensor(x, self).shape)
        t = self.t
        self.t = (t + 1) % self.T
        return self.spike[t]

    def multi_step_forward(self, x_seq: torch.Tensor | None = None) -> torch.Tensor:
        """Return the next ``T'`` steps of the spike train for ``x_seq`` of shape ``[T', N, *]``.

        Every frame ``x_seq[j]`` must be the same sample (a static input repeated over
        time). With ``x_seq=None`` (allowed once the train is stored, or always for an
        encoder that needs no input) the next ``T`` steps, one full period, are returned.
        """
        if x_seq is None:
            if self.spike is None:
                if self.requires_input:
                    raise ValueError(f"{type(self).__name__} needs an input on the first call after reset()")
                self._store(self.encode(None))
            steps = self.T
        else:
            check_sequence_input(x_seq, self)
            steps = x_seq.shape[0]
            if self.spike is None:
                spike = self.encode(x_seq[0])
                if self.requires_input and not torch.equal(x_seq, x_seq[:1].expand_as(x_seq)):
                    raise ValueError(
                        f"{type(self).__name__} encodes one static sample per period, but the "
                        f"{steps} frames of its [T, N, *] input differ. Repeat one sample over "
                        "time (x.unsqueeze(0).expand(T, *x.shape)) or call encode(x) directly."
                    )
                self._store(spike)
            elif self.requires_input:
                self._check_same_shape(x_seq.shape[1:])
        index = (self.t + torch.arange(steps, device=self.spike.device)) % self.T
        self.t = (self.t + steps) % self.T
        return self.spike.index_select(0, index)

    def extra_repr(self) -> str:
        return f"T={self.T}, step_mode={self.step_mode}"

    # -- helpers --------------------------------------------------------------------------
    def _store(self, spike: torch.Tensor | None) -> None:
        # A subclass written in SpikingJelly's style may assign ``self.spike`` itself and
        # return nothing.
        if spike is not None:
            self.spike = spike
        if self.spike is None:
            raise RuntimeError(f"{type(self).__name__}.single_step_encode returned no spike train")

    def _check_same_shape(self, input_shape: torch.Size) -> None:
        expected = tuple(self.spike.shape[1:])
        if self.output_shape(input_shape) != expected:
            raise StateShapeError(
                f"{type(self).__name__} holds the spike train of a sample whose steps have shape "
                f"{expected}, but got an input of shape {tuple(input_shape)}. Call reset() "
                "(or jelly.core.functional.reset_net(net)) before encoding a new sample."
            )
