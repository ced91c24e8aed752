r"""Parallel spiking neurons: ``PSN``, ``MaskedPSN`` and ``SlidingPSN`` (multi-step only).

Fang et al., "Parallel Spiking Neurons with High Efficiency and Ability to Learn Long-term
Dependencies", NeurIPS 2023 (arXiv:2304.12760). Class names, arguments and parameter names
follow SpikingJelly's ``neuron.PSN``/``MaskedPSN``/``SlidingPSN``.

A PSN has no reset, hence no recurrence: with the input ``X`` flattened to ``[T, N*]``,

.. math::

    H = W X + b, \qquad S = \Theta(H),

``W`` ``[T, T]`` and ``b`` learnable (``b`` starts at ``-1``, i.e. a threshold of 1),
``Θ`` the Heaviside step with the surrogate gradient of ``surrogate_function``.

* :class:`PSN`: ``W`` free (``T x T``, Kaiming-uniform init as ``nn.Linear``).
* :class:`MaskedPSN`: ``W ⊙ (λ M_k + (1 - λ) J)`` with the banded causal mask
  ``M_k[i, j] = 1`` for ``j <= i <= j + k - 1``; ``λ`` (``lambda_``) is raised from
  ``lambda_init`` to 1 during training (progressive masking), at ``λ >= 1`` the mask is
  exactly ``M_k``.
* :class:`SlidingPSN`: ``H[t] = Σ_{i=0}^{k-1} w_i X[t-k+1+i] + b`` with ``k`` weights
  shared over time (``exp_init=True``: ``w = (…, 1/4, 1/2, 1)``) and a scalar ``b``; any ``T``.

Memory: the backward keeps the input sequence (for ``dW``), ``H`` (for the surrogate)
and the ``[T, T]`` weight; nothing per step.

Deliberate differences from SpikingJelly: all three modules run in multi-step mode only
(``step_mode='m'``, the default here; SpikingJelly's ``MaskedPSN``/``SlidingPSN`` also have
a slow queue-based single-step mode and default to ``'s'``); ``lambda_`` must lie in
``[0, 1]``; inputs of the wrong ``T``, rank or dtype raise clear errors.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from jelly.core.base import MemoryModule, StepModeError, check_sequence_input

from ..functional.parallel_spiking import (
    masked_psn_mask,
    masked_psn_weight,
    psn_multistep,
    sliding_psn_weight,
)


def _default_surrogate():
    from jelly.surrogates import ATan

    return ATan()


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


class _ParallelSpikingNeuron(MemoryModule):
    """Shared machinery: multi-step only, surrogate, input checks. No state to reset."""

    def __init__(self, surrogate_function, step_mode: str) -> None:
        if step_mode != "m":
            raise ValueError(
                f"{type(self).__name__} computes all T steps at once and runs in multi-step mode only: "
                f"step_mode must be 'm' (input [T, N, *]), got {step_mode!r}"
            )
        super().__init__(step_mode)
        if surrogate_function is None:
            surrogate_function = _default_surrogate()
        self.surrogate_function = surrogate_function

    def supported_step_mode(self) -> tuple[str, ...]:
        """Parallel spiking neurons run in multi-step mode only."""
        return ("m",)

    def _check_input(self, x_seq: torch.Tensor) -> None:
        check_sequence_input(x_seq, self)
        if not x_seq.is_floating_point():
            raise TypeError(
                f"{type(self).__name__} expects a floating-point input, got dtype {x_seq.dtype}; "
                "convert with x.float()"
            )

    def _check_T(self, x_seq: torch.Tensor) -> None:
        if x_seq.shape[0] != self.T:
            raise StepModeError(
                f"{type(self).__name__} was built for T={self.T} time steps, got an input with "
                f"{x_seq.shape[0]} steps (shape {tuple(x_seq.shape)}; expected [T, N, *])"
            )

    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        raise StepModeError(f"{type(self).__name__} runs in multi-step mode only (input [T, N, *])")

    def weight_matrix(self, T: int | None = None) -> torch.Tensor:
        """The effective ``[T, T]`` matrix ``W`` of ``H = W X + b``."""
        raise NotImplementedError

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` for the input sequence ``x_seq`` ``[T, N, *]``."""
        self._check_input(x_seq)
        weight = self.weight_matrix(x_seq.shape[0])
        return psn_multistep(x_seq, weight, self.bias, self.surrogate_function)


class PSN(_ParallelSpikingNeuron):
    """Parallel spiking neuron: ``S = Θ(W X + b)`` with a free ``[T, T]`` weight.

    Args:
        T: number of time steps (the input must have exactly ``T`` steps).
        surrogate_function: surrogate spike function (default ``jelly.surrogates.ATan()``).
        step_mode: must be ``'m'`` (multi-step only).

    Attributes:
        weight: ``[T, T]`` learnable, Kaiming-uniform (``a = sqrt(5)``) as ``nn.Linear``.
        bias: ``[T, 1]`` learnable, initialised to ``-1`` (``-bias`` is the threshold).

    Example::

        psn = PSN(T=8, surrogate_function=surrogates.ATan())
        spikes = psn(x_seq)  # [8, N, *] -> [8, N, *]
    """

    def __init__(self, T: int, surrogate_function=None, step_mode: str = "m") -> None:
        super().__init__(surrogate_function, step_mode)
        self.T = _check_int("T", T, 1)
        self.weight = nn.Parameter(torch.empty(T, T))
        self.bias = nn.Parameter(torch.full((T, 1), -1.0))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def weight_matrix(self, T: int | None = None) -> torch.Tensor:
        """The ``[T, T]`` weight (the parameter itself)."""
        return self.weight

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` for the input sequence ``x_seq`` ``[T, N, *]``."""
        self._check_input(x_seq)
        self._check_T(x_seq)
        return psn_multistep(x_seq, self.weight, self.bias, self.surrogate_function)

    def extra_repr(self) -> str:
        return f"T={self.T}, step_mode={self.step_mode}"


class MaskedPSN(_ParallelSpikingNeuron):
    """Masked PSN of order ``k``: ``S = Θ((W ⊙ M_k(λ)) X + b)``.

    ``M_k(λ) = λ M_k + (1 - λ) J`` with ``M_k[i, j] = 1`` for ``j <= i <= j + k - 1``.
    Set ``λ`` during training with ``module.lambda_ = value`` (the paper raises it
    linearly from 0 to 1); at ``λ = 1`` step ``t`` depends on inputs ``t-k+1 .. t`` only.

    Args:
        k: order (how many recent steps each step sees once fully masked), ``1 <= k <= T``.
        T: number of time steps.
        lambda_init: initial ``λ`` in ``[0, 1]``.
        surrogate_function: surrogate spike function (default ``jelly.surrogates.ATan()``).
        step_mode: must be ``'m'``.

    Attributes:
        weight: ``[T, T]`` learnable; bias: ``[T, 1]`` learnable (init ``-1``);
        buffers ``mask0`` (``M_k``), ``mask1`` (``J``) and ``_lambda_`` (names as in
        SpikingJelly, so state dicts carry over).
    """

    def __init__(
        self,
        k: int,
        T: int,
        lambda_init: float = 0.0,
        surrogate_function=None,
        step_mode: str = "m",
    ) -> None:
        super().__init__(surrogate_function, step_mode)
        self.T = _check_int("T", T, 1)
        self.k = _check_int("k", k, 1)
        if k > T:
            raise ValueError(f"the order k of MaskedPSN must be <= T ({T}), got {k}")
        self.weight = nn.Parameter(torch.empty(T, T))
        self.bias = nn.Parameter(torch.full((T, 1), -1.0))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.register_buffer("_lambda_", torch.tensor(self._check_lambda(lambda_init)))
        self.register_buffer("mask0", masked_psn_mask(T, k))
        self.register_buffer("mask1", torch.ones(T, T))

    @staticmethod
    def _check_lambda(value: float) -> float:
        if isinstance(value, torch.Tensor):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"lambda_ must be a real number, got {value!r}")
        value = float(value)
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"lambda_ (progressive-masking coefficient) must be in [0, 1], got {value}")
        return value

    @property
    def lambda_(self) -> torch.Tensor:
        """The progressive-masking coefficient ``λ`` (a 0-d buffer)."""
        return self._lambda_

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        self._lambda_.fill_(self._check_lambda(value))

    def masked_weight(self) -> torch.Tensor:
        """``W ⊙ M_k(λ)`` (exactly ``W ⊙ M_k`` once ``λ >= 1``)."""
        return masked_psn_weight(self.weight, self.mask0, self._lambda_.item())

    def weight_matrix(self, T: int | None = None) -> torch.Tensor:
        """The masked ``[T, T]`` weight."""
        return self.masked_weight()

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, N, *]`` for the input sequence ``x_seq`` ``[T, N, *]``."""
        self._check_input(x_seq)
        self._check_T(x_seq)
        return psn_multistep(x_seq, self.masked_weight(), self.bias, self.surrogate_function)

    def extra_repr(self) -> str:
        return f"k={self.k}, T={self.T}, lambda_={self._lambda_.item()}, step_mode={self.step_mode}"


class SlidingPSN(_ParallelSpikingNeuron):
    """Sliding PSN of order ``k``: ``H[t] = Σ_{i=0}^{k-1} w_i X[t-k+1+i] + b``, ``S = Θ(H)``.

    The ``k`` weights are shared by all steps (inputs before step 0 count as zero), so the
    neuron works for any sequence length ``T``; it is the general PSN with the banded
    Toeplitz weight of :meth:`weight_matrix`.

    Args:
        k: order (number of recent steps each step sees), ``>= 1``.
        exp_init: ``True``: ``w = (2^{-(k-1)}, …, 1/4, 1/2, 1)`` (the current input has
            weight 1, older ones decay exponentially); ``False``: Kaiming-uniform.
        surrogate_function: surrogate spike function (default ``jelly.surrogates.ATan()``).
        step_mode: must be ``'m'``.

    Attributes:
        weight: ``[k]`` learnable (``weight[-1]`` multiplies the current input).
        bias: scalar learnable, initialised to ``-1``.
    """

    def __init__(
        self,
        k: int,
        exp_init: bool = True,
        surrogate_function=None,
        step_mode: str = "m",
    ) -> None:
        super().__init__(surrogate_function, step_mode)
        self.k = _check_int("k", k, 1)
        if exp_init:
            weight = torch.pow(2.0, torch.arange(-(k - 1), 1, dtype=torch.float32))
        else:
            weight = torch.empty(1, k)
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
            weight = weight[0]
        self.weight = nn.Parameter(weight)
        self.bias = nn.Parameter(torch.tensor(-1.0))

    def gen_gemm_weight(self, T: int) -> torch.Tensor:
        """The ``[T, T]`` banded weight ``W[i, j] = w[k - 1 - (i - j)]`` (SpikingJelly's name)."""
        return sliding_psn_weight(self.weight, T)

    def weight_matrix(self, T: int | None = None) -> torch.Tensor:
        """The ``[T, T]`` banded Toeplitz weight for a sequence of ``T`` steps."""
        if T is None:
            raise ValueError("SlidingPSN.weight_matrix needs the sequence length T")
        return self.gen_gemm_weight(T)

    def extra_repr(self) -> str:
        return f"order={self.k}, step_mode={self.step_mode}"


__all__ = ["PSN", "MaskedPSN", "SlidingPSN"]
