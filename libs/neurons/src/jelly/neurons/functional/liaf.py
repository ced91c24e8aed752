r"""LIAF neuron: leaky integrate and *analog* fire.

Wu et al. 2021, "LIAF-Net: Leaky Integrate and Analog Fire Network for Lightweight and
Efficient Spatiotemporal Information Processing", IEEE TNNLS (arXiv:2011.06176).
A LIF neuron whose output is a continuous activation of the charged membrane instead of
the spike; the spike still drives the reset (``v_r`` = ``v_reset``, or 0 for soft reset)::

    h[t] = v[t-1] + (x[t] - (v[t-1] - v_r)) / τ      (decay_input=True)
    h[t] = v[t-1] - (v[t-1] - v_r) / τ + x[t]        (decay_input=False)
    y[t] = act(h[t] - v_th)   (threshold_related=True)   or   act(h[t])   (False)
    s[t] = Θ(h[t] - v_th)
    v[t] = h[t] (1 - s[t]) + v_r s[t]   (hard)       v[t] = h[t] - v_th s[t]   (soft)

These are SpikingJelly's ``LIAFNode`` equations. The output ``y`` is not binary.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .integrate_fire import LinearChargeParams, linear_charge_step


def liaf_output(h: torch.Tensor, v_threshold: float, act: Callable, threshold_related: bool) -> torch.Tensor:
    """The analog output ``act(h - v_th)`` or ``act(h)``."""
    return act(h - v_threshold) if threshold_related else act(h)


def liaf_step(
    x: torch.Tensor,
    v: torch.Tensor,
    params: LinearChargeParams,
    act: Callable,
    threshold_related: bool,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LIAF step (``params.kind`` must be ``'lif'``).

    Returns:
        ``(y, v_next)``: the analog output and the membrane after the reset.
    """
    _, v_next, h = linear_charge_step(x, v, params, surrogate_function)
    return liaf_output(h, params.v_threshold, act, threshold_related), v_next


def liaf_multistep_reference(
    x_seq: torch.Tensor,
    v_init: torch.Tensor,
    params: LinearChargeParams,
    act: Callable,
    threshold_related: bool,
    surrogate_function,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-step autograd loop of :func:`liaf_step` over ``x_seq`` ``[T, N, *]``.

    Returns:
        ``(y_seq, v_seq)``, both ``[T, N, *]``.
    """
    v = v_init
    ys, vs = [], []
    for x in x_seq.unbind(0):
        y, v = liaf_step(x, v, params, act, threshold_related, surrogate_function)
        ys.append(y)
        vs.append(v)
    return torch.stack(ys), torch.stack(vs)

