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


def reset_into(h: torch.Tensor, v_threshold: float, v_reset: torch.Tensor | None, out: torch.Tensor) -> torch.Tensor:
    """Fire and reset in two kernels, writing the post-reset membrane into ``out``.

    ``where(h >= v_th, v_reset, h)`` (hard; ``v_reset`` a 0-d tensor of ``h``'s dtype) or
    ``where(h >= v_th, h - v_th, h)`` (soft). For finite ``h`` these are the values of the
    reference's ``h (1 - s) + v_r s`` and ``h - v_th s`` (up to the sign of a zero).
    """
    fired = h >= v_threshold
    if v_reset is None:
        return torch.where(fired, h - v_threshold, h, out=out)
    return torch.where(fired, v_reset, h, out=out)


def reset_values(h: torch.Tensor, v_threshold: float, v_reset: float | None) -> torch.Tensor:
    """Post-reset membranes recomputed from charged ones (any shape, vectorised)."""
    fired = h >= v_threshold
    if v_reset is None:
        return torch.where(fired, h - v_threshold, h)
    return torch.where(fired, torch.tensor(v_reset, dtype=h.dtype, device=h.device), h)


def previous_membranes(
    h_seq: torch.Tensor, v_init: torch.Tensor, t0: int, t1: int, v_threshold: float, v_reset: float | None
) -> torch.Tensor:
    """``v[t-1]`` for ``t`` in ``[t0, t1)`` recomputed from the saved ``h`` (``v[-1] = v_init``)."""
    if t0 > 0:
        return reset_values(h_seq[t0 - 1 : t1 - 1], v_threshold, v_reset)
    rest = reset_values(h_seq[: t1 - 1], v_threshold, v_reset)
    return torch.cat((v_init.unsqueeze(0), rest), dim=0)


def time_chunks(steps: int, elements: int, target: int = 1 << 18):
    """Chunks ``(t0, t1)`` of the time axis from the last step back, about ``target`` elements each.

    The backward computes everything that does not depend on the recurrence (surrogate
    gradients, reset and charge partials) for a whole chunk in one vectorised call, which
    bounds the temporaries to a few chunk-sized buffers and amortises the per-call overhead
    when a step has few elements.
    """
    size = max(1, min(steps, target // max(elements, 1)))
    t1 = steps
    while t1 > 0:
        t0 = max(0, t1 - size)
        yield t0, t1
        t1 = t0


def spikes_of(h_seq: torch.Tensor, v_threshold: float) -> torch.Tensor:
    """All spikes ``Θ(h - v_th)`` at once (as the reference computes them)."""
    return heaviside(h_seq - v_threshold)
