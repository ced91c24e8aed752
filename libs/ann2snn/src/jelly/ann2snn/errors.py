"""Errors raised by the converter; every message names the problem and how to fix it."""

from __future__ import annotations


class ConversionError(ValueError):
    """The ANN cannot be converted as asked (base class of the converter's errors)."""


class UnsupportedOperationError(ConversionError):
    """The ANN holds operations that would make the SNN diverge from the ANN.

    Attributes:
        records: the offending :class:`~jelly.ann2snn.report.NodeRecord` entries (op, node, reason).
    """

    def __init__(self, message: str, records: list | None = None) -> None:
        super().__init__(message)
        self.records = list(records or [])


class TracingError(ConversionError):
    """``torch.fx`` could not trace the ANN (typically data-dependent control flow)."""
