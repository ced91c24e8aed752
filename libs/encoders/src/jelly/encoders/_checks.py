"""Input validation shared by the encoders.

Every check raises an error that names the encoder and the problem (shape, dtype, range), so
a wrong input fails at the encoder instead of producing silent garbage spikes.
"""

from __future__ import annotations

import operator

import torch

from jelly.core import StepModeError


def owner_name(owner: object) -> str:
    """Return the name used in error messages for ``owner`` (a module, a class or a string)."""
    if isinstance(owner, str):
        return owner
    if isinstance(owner, type):
        return owner.__name__
    return type(owner).__name__


def check_positive_int(value: object, name: str, owner: object, minimum: int = 1) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum``.

    Raises:
        TypeError: ``value`` is not an integer (``bool`` and ``float`` are refused).
        ValueError: ``value < minimum``.
    """
    who = owner_name(owner)
    if isinstance(value, bool):
        raise TypeError(f"{who}: {name} must be an integer, got bool {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{who}: {name} must be an integer, got {type(value).__name__} {value!r}") from None
    if number < minimum:
        raise ValueError(f"{who}: {name} must be an integer >= {minimum}, got {number}")
    return number


def check_tensor(x: object, owner: object, what: str = "input") -> torch.Tensor:
    """Raise a ``TypeError`` unless ``x`` is a ``torch.Tensor``; return it."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{owner_name(owner)} expects the {what} to be a torch.Tensor, got {type(x).__name__}"
        )
    return x


def check_floating(x: torch.Tensor, owner: object, what: str = "input") -> None:
    """Raise a ``TypeError`` unless ``x`` has a real floating-point dtype.

    Encoders read their input as intensities or probabilities; an integer tensor (a raw
    ``uint8`` image, class labels) or a boolean one almost always means a missing
    normalisation step.
    """
    if not x.dtype.is_floating_point:
        raise TypeError(
            f"{owner_name(owner)} expects a floating-point {what} (intensities), got dtype {x.dtype}. "
            "Convert and normalise it first, e.g. x.float() / 255 for an 8-bit image."
        )


def check_min_dim(x: torch.Tensor, owner: object, min_dim: int, layout: str, hint: str = "") -> None:
    """Raise :class:`~jelly.core.StepModeError` if ``x`` has fewer than ``min_dim`` dimensions."""
    if x.dim() < min_dim:
        raise StepModeError(
            f"{owner_name(owner)} expects input of shape {layout} with at least {min_dim} "
            f"dimension(s), got shape {tuple(x.shape)}.{hint}"
        )


def check_single_step_input(x: object, owner: object) -> torch.Tensor:
    """Check that ``x`` is a tensor shaped ``[N, *]`` (single-step mode); return it."""
    x = check_tensor(x, owner)
    check_min_dim(
        x,
        owner,
        1,
        "[N, *] in single-step mode ('s')",
        " Use step_mode='m' with a [T, N, *] sequence for several steps.",
    )
    return x


def check_range(
    x: torch.Tensor,
    low: float | torch.Tensor,
    high: float | torch.Tensor,
    owner: object,
    interval: str,
) -> None:
    """Raise a ``ValueError`` unless every element satisfies ``low <= x <= high`` (no NaN).

    The comparison runs in :func:`work_dtype`, so a bound such as ``1 - 2**-30`` is not
    rounded to the input's precision first. ``interval`` is the human-readable range put
    in the message (e.g. ``"[0, 1]"``).
    """
    if x.numel() == 0:
        return
    wide = x.to(work_dtype(x.device))
    inside = (wide >= low) & (wide <= high)
    if bool(inside.all()):
        return
    who = owner_name(owner)
    n_nan = int(torch.isnan(x).sum())
    if n_nan:
        raise ValueError(f"{who} expects input in {interval}, got {n_nan} NaN value(s)")
    n_bad = int((~inside).sum())
    raise ValueError(
        f"{who} expects input in {interval}, got {n_bad} value(s) outside it "
        f"(min {float(x.min()):.6g}, max {float(x.max()):.6g})"
    )


def work_dtype(device: torch.device) -> torch.dtype:
    """Dtype in which encoders compute spike times and bits: ``float64`` where supported.

    Computing in double precision makes the rounding of spike times independent of the
    input's dtype; Apple's MPS has no ``float64`` and uses ``float32``.
    """
    return torch.float32 if device.type == "mps" else torch.float64
