"""Batching of variable-length sequences (e.g. frames integrated with a fixed duration)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["pad_sequence_collate", "padded_sequence_mask"]


def pad_sequence_collate(batch: Sequence[tuple[Any, Any]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Collate ``(sequence, label)`` pairs of different lengths by zero-padding (SpikingJelly's API).

    Args:
        batch: Pairs ``(x_i, y_i)`` with ``x_i`` an array or tensor ``[T_i, *]`` (same ``*`` for
            all) and ``y_i`` a label.

    Returns:
        ``(x, y, lengths)``: ``x`` of shape ``[N, T_max, *]`` (batch first, padded with zeros),
        ``y`` the labels as a tensor ``[N]``, ``lengths`` an ``int64`` tensor ``[N]`` of the
        ``T_i``. Use :func:`padded_sequence_mask` on ``lengths`` to mask the padding.

    Raises:
        ValueError: On an empty batch or sequences whose trailing shapes differ.
    """
    if len(batch) == 0:
        raise ValueError("pad_sequence_collate: empty batch")
    xs = [torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x) for x, _ in batch]
    tails = {tuple(x.shape[1:]) for x in xs}
    if any(x.ndim == 0 for x in xs) or len(tails) != 1:
        shapes = [tuple(x.shape) for x in xs]
        raise ValueError(
            f"pad_sequence_collate: sequences must be [T_i, *] with the same '*', got shapes {shapes}"
        )
    lengths = torch.as_tensor([x.shape[0] for x in xs], dtype=torch.int64)
    x = torch.nn.utils.rnn.pad_sequence(xs, batch_first=True)
    y = torch.as_tensor([label for _, label in batch])
    return x, y, lengths


def padded_sequence_mask(sequence_len: torch.Tensor, T: int | None = None) -> torch.Tensor:
    """Boolean mask ``[T, N]`` that is ``True`` on the valid steps of each padded sequence.

    Args:
        sequence_len: ``[N]`` lengths (e.g. the third output of :func:`pad_sequence_collate`).
        T: Number of steps of the mask; defaults to ``max(sequence_len)``.

    Returns:
        ``mask[t, n] = t < sequence_len[n]``.
    """
    sequence_len = torch.as_tensor(sequence_len)
    if sequence_len.ndim != 1:
        raise ValueError(f"sequence_len must be 1-D [N], got shape {tuple(sequence_len.shape)}")
    if T is None:
        T = int(sequence_len.max().item()) if sequence_len.numel() else 0
    return torch.arange(T, device=sequence_len.device)[:, None] < sequence_len[None, :]
