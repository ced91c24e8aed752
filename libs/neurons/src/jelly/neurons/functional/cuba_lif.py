r"""Current-based LIF (CUBA-LIF) neuron: a decaying synaptic current drives the membrane.

The two-state discrete-time neuron of Intel's Loihi (Davies et al. 2018, "Loihi: A
Neuromorphic Manycore Processor with On-Chip Learning", IEEE Micro 38(1)), as written
in SpikingJelly's ``CUBALIFNode`` (``c`` the synaptic current, both decays are retention
factors per step)::

    c[t] = c[t-1] · c_decay + x[t]
    h[t] = v[t-1] · v_decay + c[t]
    s[t] = Θ(h[t] - v_th)
    v[t] = h[t] (1 - s[t]) + v_reset s[t]    (hard)     v[t] = h[t] - v_th s[t]   (soft)

The current has no reset. Backward (fused backend): ``∂h/∂v = v_decay``, ``∂h/∂c = 1``,
``∂c[t]/∂c[t-1] = c_decay``, ``∂c/∂x = 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .integrate_fire import fire, neuronal_reset


@dataclass(frozen=True)
class CUBALIFParams:
    """Constants of a CUBA-LIF neuron.

    Attributes:
        c_decay: retention factor of the synaptic current per step, in ``[0, 1]``.
        v_decay: retention factor of the membrane per step, in ``[0, 1]``.
        v_threshold: firing threshold.
        v_reset: hard-reset potential, ``None`` for soft reset.
        detach_reset: detach the spike used in the reset from the graph.
    """

    c_decay: float = 0.5
    v_decay: float = 0.75
    v_threshold: float = 0.5
    v_reset: float | None = 0.0
    detach_reset: bool = False


def cuba_lif_step(
    x: torch.Tensor, c: torch.Tensor, v: torch.Tensor, params: CUBALIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One CUBA-LIF step.

    Returns:
        ``(spike, c_next, v_next)``.
    """
    c_next = c * params.c_decay + x
    h = v * params.v_decay + c_next
    spike = fire(h, params.v_threshold, surrogate_function)
    v_next = neuronal_reset(h, spike, params.v_threshold, params.v_reset, params.detach_reset)
    return spike, c_next, v_next


def cuba_lif_multistep_reference(
    x_seq: torch.Tensor, c_init: torch.Tensor, v_init: torch.Tensor, params: CUBALIFParams, surrogate_function
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-step autograd loop of :func:`cuba_lif_step` over ``x_seq`` ``[T, N, *]``.

    Returns:
        ``(spike_seq, v_seq, c_last)``: spikes and membranes ``[T, N, *]``, the current
        after the last step ``[N, *]``.
    """
    c, v = c_init, v_init
    spikes, vs = [], []
    for x in x_seq.unbind(0):
        spike, c, v = cuba_lif_step(x, c, v, params, surrogate_function)
        spikes.append(spike)
        vs.append(v)
    return torch.stack(spikes), torch.stack(vs), c
