"""Pieces shared by the hand-written BPTT backends of the neuron zoo."""

from __future__ import annotations

import torch


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


def spike_into(h: torch.Tensor, v_threshold, out: torch.Tensor | None = None) -> torch.Tensor:
    """``Θ(h - v_th)`` as a float tensor, computed as ``h >= v_th`` straight into ``out``.

    For floats ``h - v_th >= 0`` exactly when ``h >= v_th``, so these are the reference's
    spikes. A comparison written into a float tensor is one fast kernel on CPU, whereas a
    bool result converted with ``.to(dtype)`` (or a ``torch.where``) costs several times more.
    """
    if out is None:
        out = torch.empty_like(h)
    return torch.ge(h, v_threshold, out=out)


def reset_from_spike(
    h: torch.Tensor, spike: torch.Tensor, v_threshold, v_reset: float | None, out: torch.Tensor | None = None
) -> torch.Tensor:
    """The post-reset membrane in one or two kernels, with the reference's values.

    Hard: ``(h - s h) + v_r s``; soft: ``h - v_th s``. With ``s`` in ``{0, 1}`` every product
    is exact, so these round exactly like the reference's ``(1 - s) h + s v_r`` and
    ``h - s v_th`` (up to the sign of a zero).
    """
    if v_reset is None:
        if isinstance(v_threshold, torch.Tensor):
            return torch.sub(h, spike * v_threshold, out=out)
        return torch.add(h, spike, alpha=-v_threshold, out=out)
    kept = torch.addcmul(h, spike, h, value=-1.0)
    return torch.add(kept, spike, alpha=v_reset, out=out)


def previous_membranes(
    h_seq: torch.Tensor, v_init: torch.Tensor, t0: int, t1: int, v_threshold: float, v_reset: float | None
) -> torch.Tensor:
    """``v[t-1]`` for ``t`` in ``[t0, t1)``, recomputed from the saved ``h`` (``v[-1] = v_init``)."""
    if t0 > 0:
        h = h_seq[t0 - 1 : t1 - 1]
        return reset_from_spike(h, spike_into(h, v_threshold), v_threshold, v_reset)
    out = torch.empty_like(h_seq[t0:t1])
    out[0] = v_init
    if t1 > 1:
        h = h_seq[: t1 - 1]
        reset_from_spike(h, spike_into(h, v_threshold), v_threshold, v_reset, out=out[1:])
    return out


def surrogate_and_reset_grad(
    h: torch.Tensor, v_threshold: float, v_reset: float | None, detach_reset: bool, derivative
) -> tuple[torch.Tensor, torch.Tensor | float]:
    """For charged membranes ``h`` (any shape): the surrogate gradient ``σ = g'(h - v_th)`` and
    ``∂v/∂h`` of the reset (see :func:`reset_grad`), in a few float kernels."""
    u = h - v_threshold
    sg = derivative(u)
    if v_reset is None:
        if detach_reset:
            return sg, 1.0
        return sg, torch.mul(sg, -v_threshold).add_(1.0)
    not_fired = torch.lt(u, 0.0, out=torch.empty_like(u))
    if detach_reset:
        return sg, not_fired
    return sg, not_fired.addcmul_(v_reset - h, sg)


def time_chunks(steps: int, elements: int, target: int = 1 << 16):
    """Chunks ``(t0, t1)`` of the time axis from the last step back, about ``target`` elements each.

    The backward computes everything that does not depend on the recurrence (surrogate
    gradients, reset and charge partials) for a whole chunk in one vectorised call: this
    amortises the per-call overhead when a step has few elements, while the chunk-sized
    temporaries stay small and cache-resident.
    """
    size = max(1, min(steps, target // max(elements, 1)))
    t1 = steps
    while t1 > 0:
        t0 = max(0, t1 - size)
        yield t0, t1
        t1 = t0


def incoming_grad(grad_out_seq: torch.Tensor | None, t: int, grad_next: torch.Tensor | None, factor):
    """``∂L/∂v[t]``: the gradient of the output ``v[t]`` plus ``grad_next · factor`` (the path
    through step ``t + 1``); ``None`` when both are absent. ``factor`` is a tensor or a float."""
    own = None if grad_out_seq is None else grad_out_seq[t]
    if grad_next is None:
        return own
    if own is None:
        return grad_next * factor
    if isinstance(factor, torch.Tensor):
        return torch.addcmul(own, grad_next, factor)
    return torch.add(own, grad_next, alpha=factor)


def fused_surrogate_check(x: torch.Tensor, surrogate_function=None) -> str | None:
    """Registry check of the fused ``torch`` backends: decline a surrogate they cannot use.

    Used when the caller passes ``surrogate_function=`` to
    :func:`~jelly.neurons.backends.registry.resolve`; without it the fused wrappers still
    run the reference loop for such a surrogate (see :func:`fusable`).
    """
    if surrogate_function is None or fusable(surrogate_function):
        return None
    return (
        "the fused backward needs a spiking surrogate with a closed-form derivative(); "
        f"got {surrogate_function!r} (use backend='reference' or 'auto')"
    )
