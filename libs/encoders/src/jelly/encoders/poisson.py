r"""Poisson (Bernoulli rate) encoder.

Each element of the input is read as a firing probability :math:`x \in [0, 1]`. At every
time step an independent uniform number :math:`u \sim U[0, 1)` is drawn per element and

.. math::

    s[t] = \mathbb{1}\left[u[t] < x\right], \qquad P(s[t] = 1) = x,

so the mean firing rate over :math:`T` steps converges to :math:`x` (the spike count over
:math:`T` steps is binomial :math:`B(T, x)`, the discrete-time Poisson process). The strict
comparison makes :math:`x = 0` never fire and :math:`x = 1` always fire. (SpikingJelly
writes :math:`u \le x`, which differs only on the event :math:`u = x`, of probability about
:math:`2^{-24}` in float32, but lets :math:`x = 0` fire on that event.)

The uniform numbers are drawn in at least float32 precision, so a half or bfloat16 input
keeps an accurate rate; the spikes come back in the input's dtype.
"""

from __future__ import annotations

import torch

from ._checks import (
    check_floating,
    check_min_dim,
    check_positive_int,
    check_range,
    check_tensor,
)
from .base import StatelessEncoder


class PoissonEncoder(StatelessEncoder):
    """Stateless Poisson encoder: spike with probability ``x`` at every step.

    Args:
        step_mode: ``'s'``: ``x`` is ``[N, *]``, one step of spikes per call; ``'m'``:
            ``x`` is ``[T, N, *]`` (e.g. a static image repeated ``T`` times), one step of
            spikes per frame.
        generator: optional ``torch.Generator`` (on the input's device) for reproducible
            spikes; the global generator is used when ``None``.
        check_input: validate dtype and range (``0 <= x <= 1``) on every call. The range
            check reads one boolean back from the device per call; turn it off in a tight
            GPU loop once the data pipeline is trusted.

    Example:
        >>> enc = PoissonEncoder(generator=torch.Generator().manual_seed(0))
        >>> img = torch.rand(2, 1, 28, 28)
        >>> spikes = enc.encode(img, T=8)  # [8, 2, 1, 28, 28], all steps in one draw
        >>> one_step = enc(img)  # [2, 1, 28, 28]
    """

    def __init__(
        self,
        step_mode: str = "s",
        generator: torch.Generator | None = None,
        *,
        check_input: bool = True,
    ) -> None:
        super().__init__(step_mode)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(
                f"PoissonEncoder: generator must be a torch.Generator, got {type(generator).__name__}"
            )
        self.generator = generator
        self.check_input = check_input

    def _validate(self, x: torch.Tensor) -> None:
        if self.check_input:
            check_floating(x, self)
            check_range(x, 0.0, 1.0, self, "[0, 1] (firing probabilities)")

    def _bernoulli(
        self, x: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None
    ) -> torch.Tensor:
        if generator is not None and generator.device.type != x.device.type:
            raise ValueError(
                f"PoissonEncoder: the generator is on device {generator.device} but the input is on "
                f"{x.device}; create it with torch.Generator(device=x.device)"
            )
        uniform_dtype = torch.promote_types(x.dtype, torch.float32)
        uniform = torch.rand(shape, generator=generator, dtype=uniform_dtype, device=x.device)
        return (uniform < x).to(x.dtype)

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        """One step of spikes with the shape of ``x``: ``rand < x`` element-wise."""
        self._validate(x)
        return self._bernoulli(x, tuple(x.shape), self.generator)

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """One step of spikes per frame of ``x_seq`` (``[T, N, *]``), drawn in one call."""
        return self.single_step_forward(x_seq)

    def encode(self, x: torch.Tensor, T: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Encode a static sample ``x`` (``[N, *]``) into ``T`` steps ``[T, N, *]`` at once.

        Equivalent to ``T`` single-step calls (with a seeded CPU generator it gives exactly
        the same spikes), but draws all random numbers in one vectorised call.

        Args:
            x: firing probabilities in ``[0, 1]``, shape ``[N, *]``.
            T: number of time steps, ``>= 1``.
            generator: overrides the encoder's generator for this call.
        """
        T = check_positive_int(T, "T", self)
        x = check_tensor(x, self)
        check_min_dim(x, self, 1, "[N, *] (one static sample)")
        self._validate(x)
        return self._bernoulli(x, (T, *x.shape), generator if generator is not None else self.generator)

    def extra_repr(self) -> str:
        seeded = ", generator=<torch.Generator>" if self.generator is not None else ""
        return f"step_mode={self.step_mode}{seeded}"
