"""Pieces shared by the hand-written BPTT backends of the neuron zoo."""

from __future__ import annotations

import torch

from ..functional.integrate_fire import neuronal_reset


def heaviside(x: torch.Tensor) -> torch.Tensor:
    """``1`` where ``x >= 0`` else ``0``, in the dtype of ``x`` (the spike forward)."""
    return (x >= 0).to(x.dtype)


def fusable(surrogate_function) -> bool:
    """Whether a fused backend can use this surrogate.

    The fused backends spike with the Heaviside step and differentiate with
    ``surrogate_function.derivative``; a surrogate in primitive mode (``spiking=False``)
    or a plain callable without ``derivative`` runs through the reference loop instead.
    """
    return getattr(surrogate_function, "spiking", False) is True and callable(
        getattr(surrogate_function, "derivative", None)
    )


def reset_value(h: torch.Tensor, v_threshold: float, v_reset: float | None) -> torch.Tensor:
    """The post-reset membrane recomputed from the charged one (bit-identical to the forward)."""
    return neuronal_reset(h, heaviside(h - v_threshold), v_threshold, v_reset, False)


def reset_grad(
    h: torch.Tensor,
    spike: torch.Tensor,
    sg: torch.Tensor,
    v_threshold: float,
    v_reset: float | None,
    detach_reset: bool,
) -> torch.Tensor | float:
    """``∂v/∂h`` of the reset, including the surrogate term unless ``detach_reset``.

    Hard reset ``v = h (1 - s) + v_r s``: ``1 - s + (v_r - h) σ``; soft reset
    ``v = h - v_th s``: ``1 - v_th σ`` (``σ`` the surrogate gradient at ``h - v_th``).
    """
    if v_reset is not None:
        grad = 1.0 - spike
        if not detach_reset:
            grad = grad + (v_reset - h) * sg
        return grad
    if detach_reset:
        return 1.0
    return 1.0 - v_threshold * sg


def zeros_if_none(grad: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    """``grad``, or zeros shaped like ``like`` when autograd passed ``None``."""
    return torch.zeros_like(like) if grad is None else grad
