r"""Non-spiking IF/LIF read-out neurons: integrate without firing or reset.

A read-out layer that outputs its membrane potential (or a decoding of it over time) is
the usual last layer of an SNN trained on the membrane (e.g. Fang et al. 2021, ICCV;
SpikingJelly's ``NonSpikingIFNode``/``NonSpikingLIFNode``)::

    v[t] = v[t-1] + x[t]                     (IF)
    v[t] = v[t-1] + (x[t] - v[t-1]) / τ      (LIF)

with ``v`` starting at 0. Decodings over ``T`` (``decode=``): ``'max-mem'`` (the maximum
over time), ``'max-abs-mem'`` (the value of largest magnitude over time; the minimum wins
a tie of magnitudes), ``'mean-mem'`` (the mean) and ``'last_mem'`` (the last value);
``None`` keeps the whole ``v_seq``.
"""

from __future__ import annotations

import torch

DECODES = (None, "max-mem", "max-abs-mem", "mean-mem", "last_mem")


def non_spiking_if_step(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``v_next = v + x``."""
    return v + x


def non_spiking_lif_step(x: torch.Tensor, v: torch.Tensor, tau: float) -> torch.Tensor:
    """``v_next = v + (x - v) / τ``."""
    return v + (x - v) / tau


def non_spiking_multistep_reference(
    x_seq: torch.Tensor, v_init: torch.Tensor, tau: float | None
) -> torch.Tensor:
    """Per-step autograd loop over ``x_seq`` ``[T, N, *]``; ``tau=None`` for IF.

    Returns:
        ``v_seq`` ``[T, N, *]``.
    """
    v = v_init
    vs = []
    for x in x_seq.unbind(0):
        v = non_spiking_if_step(x, v) if tau is None else non_spiking_lif_step(x, v, tau)
        vs.append(v)
    return torch.stack(vs)


def decode_membrane(v_seq: torch.Tensor, decode: str | None) -> torch.Tensor:
    """Decode ``v_seq`` ``[T, N, *]`` over time (see the module docstring for the modes).

    Raises:
        ValueError: ``decode`` is not one of :data:`DECODES`.
    """
    if decode is None:
        return v_seq
    if decode == "max-mem":
        return v_seq.max(dim=0).values
    if decode == "max-abs-mem":
        max_mem = v_seq.max(dim=0).values
        min_mem = v_seq.min(dim=0).values
        return torch.where(max_mem.abs() > min_mem.abs(), max_mem, min_mem)
    if decode == "mean-mem":
        return v_seq.mean(dim=0)
    if decode == "last_mem":
        return v_seq[-1]
    raise ValueError(f"decode must be one of {DECODES}, got {decode!r}")
