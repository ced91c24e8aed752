r"""Parallel spiking neurons (PSN): all ``T`` membrane potentials in one matrix product.

Fang et al., "Parallel Spiking Neurons with High Efficiency and Ability to Learn Long-term
Dependencies", NeurIPS 2023 (arXiv:2304.12760).

A PSN drops the reset, so the membrane potential at step ``t`` is a linear function of the
inputs of all steps; the whole sequence is one matrix product followed by the spike
function. With the input flattened to ``X`` of shape ``[T, N*]``:

.. math::

    H = W X + b, \qquad S = \Theta(H),

where ``W`` is ``[T, T]`` (learnable), ``b`` is ``[T, 1]`` (learnable; ``-b`` is the
threshold, initialised to ``b = -1``) and ``Θ`` is the Heaviside step (surrogate gradient
in the backward pass). Variants differ only in how ``W`` is built:

* **PSN**: ``W`` is a free ``T x T`` matrix (each step may look at past *and* future
  inputs).
* **Masked PSN** of order ``k``: ``W ⊙ M_k(λ)`` with the banded causal mask
  ``M_k[i, j] = 1`` if ``j <= i <= j + k - 1`` else ``0`` and the progressive mask
  ``M_k(λ) = λ M_k + (1 - λ) J`` (``J`` all ones). ``λ`` grows from 0 to 1 during training;
  at ``λ = 1`` step ``t`` only sees inputs ``t-k+1 .. t``.
* **Sliding PSN** of order ``k``: one weight vector ``w = (w_0, ..., w_{k-1})`` shared over
  time, ``H[t] = Σ_{i=0}^{k-1} w_i X[t-k+1+i] + b`` (inputs before step 0 are zero), i.e.
  ``W`` is the banded Toeplitz matrix ``W[i, j] = w_{k-1-(i-j)}`` for ``0 <= i-j < k``.
  It works for any ``T``; its bias is one scalar.

These functions are pure: the modules in :mod:`jelly.neurons.modules.parallel_spiking`
hold the parameters and call them.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def _check_sequence(x_seq: torch.Tensor, name: str) -> None:
    if not isinstance(x_seq, torch.Tensor):
        raise TypeError(f"{name} expects a torch.Tensor, got {type(x_seq).__name__}")
    if not x_seq.is_floating_point():
        raise TypeError(
            f"{name} expects a floating-point input, got dtype {x_seq.dtype}; convert with x.float()"
        )
    if x_seq.dim() < 2:
        raise ValueError(
            f"{name} expects a sequence [T, N, *] with at least 2 dimensions, got {tuple(x_seq.shape)}"
        )


def psn_membrane(x_seq: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The PSN membrane potentials ``H = W X + b`` for a whole sequence.

    Args:
        x_seq: input ``[T, N, *]`` (floating point).
        weight: ``[T, T]`` weight matrix (``W[t, s]`` weighs input ``s`` into step ``t``).
        bias: ``[T, 1]``, ``[T]`` or a scalar tensor, added to every element of step ``t``.

    Returns:
        ``h_seq`` with the shape of ``x_seq``.

    Raises:
        TypeError: ``x_seq`` is not a floating-point tensor.
        ValueError: ``weight`` is not ``[T, T]`` for the ``T`` of ``x_seq``.
    """
    _check_sequence(x_seq, "psn_membrane")
    T = x_seq.shape[0]
    if weight.shape != (T, T):
        raise ValueError(
            f"psn_membrane: weight must be [T, T] = [{T}, {T}] for an input of {T} time steps, "
            f"got {tuple(weight.shape)}"
        )
    if bias.dim() == 1:
        bias = bias.unsqueeze(1)
    x_flat = x_seq.reshape(T, -1)
    return torch.addmm(bias.to(x_flat.dtype), weight.to(x_flat.dtype), x_flat).view(x_seq.shape)


def psn_multistep(
    x_seq: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor,
    surrogate_function: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Spikes of a parallel spiking neuron: ``surrogate_function(W X + b)``.

    Args:
        x_seq: input ``[T, N, *]``.
        weight: ``[T, T]`` (the already masked/expanded weight for the variants).
        bias: ``[T, 1]``, ``[T]`` or scalar.
        surrogate_function: Heaviside forward with a surrogate backward (a
            :class:`jelly.surrogates.SurrogateFunction`, or any callable).

    Returns:
        ``spike_seq`` with the shape of ``x_seq``.
    """
    return surrogate_function(psn_membrane(x_seq, weight, bias))


def masked_psn_mask(T: int, k: int, device=None, dtype=None) -> torch.Tensor:
    """The banded causal mask ``M_k`` (``[T, T]``): ``1`` where ``j <= i <= j + k - 1``.

    Raises:
        ValueError: ``T < 1`` or ``k`` not in ``[1, T]``.
    """
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    if not 1 <= k <= T:
        raise ValueError(f"the order k of a masked PSN must be in [1, T] = [1, {T}], got {k}")
    ones = torch.ones(T, T, device=device, dtype=dtype)
    return torch.tril(ones) * torch.triu(ones, -(k - 1))


def masked_psn_weight(
    weight: torch.Tensor, mask: torch.Tensor, lambda_: float | torch.Tensor
) -> torch.Tensor:
    """``W ⊙ (λ M_k + (1 - λ) J)``; exactly ``W ⊙ M_k`` when ``λ >= 1``.

    Args:
        weight: ``[T, T]`` weight.
        mask: ``M_k`` from :func:`masked_psn_mask`.
        lambda_: the progressive-masking coefficient ``λ`` in ``[0, 1]``.
    """
    lam = float(lambda_)
    if lam >= 1.0:
        return weight * mask
    return weight * (lam * mask + (1.0 - lam))


def sliding_psn_weight(weight: torch.Tensor, T: int) -> torch.Tensor:
    """Expand the ``k`` sliding weights into the ``[T, T]`` banded Toeplitz matrix.

    ``W[i, j] = weight[k - 1 - (i - j)]`` for ``0 <= i - j < k``, else ``0``: the last
    weight multiplies the current input, the first one the input ``k - 1`` steps back.
    Differentiable with respect to ``weight``.

    Raises:
        ValueError: ``weight`` is not 1-D or ``T < 1``.
    """
    if weight.dim() != 1:
        raise ValueError(f"sliding_psn_weight: weight must be 1-D [k], got {tuple(weight.shape)}")
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    k = weight.shape[0]
    steps = torch.arange(T, device=weight.device)
    lag = steps.unsqueeze(1) - steps.unsqueeze(0)  # i - j
    inside = (lag >= 0) & (lag < k)
    index = (k - 1 - lag).clamp(0, k - 1)
    return torch.where(inside, weight[index], weight.new_zeros(()))


__all__ = [
    "masked_psn_mask",
    "masked_psn_weight",
    "psn_membrane",
    "psn_multistep",
    "sliding_psn_weight",
]
