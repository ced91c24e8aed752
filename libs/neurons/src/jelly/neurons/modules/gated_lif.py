r"""Gated LIF (GLIF) neuron: learnable gates over leak, integration and reset.

Per step ``t`` (Yao et al. 2022, "GLIF: A Unified Gated Leaky Integrate-and-Fire Neuron
for Spiking Neural Networks", NeurIPS); every quantity below is the sigmoid of a learned
parameter, scalar (layer-wise) or one per channel (``inplane``; dimension 1 of
``[N, C, *]``), and ``g[t]`` has one value per time step::

    I[t] = x[t] (1 - β (1 - g[t]))
    u[t] = (1 - α (1 - τ)) u[t-1] - (1 - α) ld + I[t]
           - (1 - α (1 - τ)) u[t-1] γ s[t-1] - (1 - γ) v_sr s[t-1]
    s[t] = Θ(u[t] - v_th)

with ``u`` (kept as ``v``) and ``s`` starting at 0. Same class name, arguments, parameter
names (``alpha, beta, gamma, tau, v_threshold, linear_decay, v_subreset, conduct``: the
values before the sigmoid) and equations as SpikingJelly's ``GatedLIFNode``. Deliberate
differences: single-step mode is supported (the neuron counts its steps to pick ``g[t]``);
the previous spike and the step count are states kept between calls until ``reset()``
(SpikingJelly restarts both at every multi-step call); more than ``T`` steps without a
reset raise an error; channel-wise gates broadcast over any ``[N, C, *]`` input, not
only 4-d ones; ``alpha, beta, gamma`` start from ``torch.rand`` (SpikingJelly: numpy).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from jelly.core.base import StepModeError, check_sequence_input

from ..backends.torch_gated_lif import GATED_LIF_OP
from ..functional.gated_lif import GLIFGates, gated_lif_step
from ._zoo_base import check_number
from .base_node import BaseNode


def _logit(p: float) -> float:
    return -math.log(1.0 / p - 1.0)


def _check_unit(owner: str, name: str, value) -> float:
    value = check_number(owner, name, value, gt=0.0)
    if not value < 1.0:
        raise ValueError(f"{owner}: {name} must be in (0, 1) (it is learned through a sigmoid), got {value}")
    return value


class GatedLIFNode(BaseNode):
    """Gated LIF neuron (equations in the module docstring).

    Args:
        T: number of time steps (one conductance ``g[t]`` per step), a positive int.
        inplane: number of channels for channel-wise gates, ``None`` for layer-wise.
        init_linear_decay: initial ``ld`` in ``(0, 1)``; default ``init_v_threshold / (2 T)``.
        init_v_subreset: initial ``v_sr`` in ``(0, 1)``; default ``init_v_threshold``.
        init_tau: initial ``τ`` (a decay factor here) in ``(0, 1)``.
        init_v_threshold: initial threshold in ``(0, 1)``.
        init_conduct: initial conductance in ``(0, 1)``.
        surrogate_function: surrogate of the spike (default ``Sigmoid()``).
        step_mode: ``'m'`` (default) or ``'s'``.
        backend: ``'auto'``, ``'torch'`` (fused BPTT), ``'cupy'`` or ``'triton'`` (fused GPU kernels) or
            ``'reference'`` (per-step autograd).

    State: ``v`` (the membrane ``u``), ``spike`` (the previous spike), ``time_step``.

    Raises:
        ValueError: an argument is out of range (the message names it).
    """

    op_name = GATED_LIF_OP

    def __init__(
        self,
        T: int,
        inplane: int | None = None,
        init_linear_decay: float | None = None,
        init_v_subreset: float | None = None,
        init_tau: float = 0.25,
        init_v_threshold: float = 0.5,
        init_conduct: float = 0.5,
        surrogate_function=None,
        step_mode: str = "m",
        backend: str = "auto",
    ) -> None:
        name = type(self).__name__
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"{name}: T must be a positive int, got {T!r}")
        if inplane is not None and (isinstance(inplane, bool) or not isinstance(inplane, int) or inplane < 1):
            raise ValueError(f"{name}: inplane must be None or a positive int, got {inplane!r}")
        init_tau = _check_unit(name, "init_tau", init_tau)
        init_v_threshold = _check_unit(name, "init_v_threshold", init_v_threshold)
        init_conduct = _check_unit(name, "init_conduct", init_conduct)
        init_linear_decay = _check_unit(
            name,
            "init_linear_decay",
            init_v_threshold / (2 * T) if init_linear_decay is None else init_linear_decay,
        )
        init_v_subreset = _check_unit(
            name, "init_v_subreset", init_v_threshold if init_v_subreset is None else init_v_subreset
        )
        super().__init__(init_v_threshold, None, surrogate_function, False, step_mode, backend, False)
        self.T = T
        self.inplane = inplane
        shape = () if inplane is None else (inplane,)
        self.alpha, self.beta, self.gamma = (nn.Parameter(0.2 * (torch.rand(shape) - 0.5)) for _ in range(3))
        self.tau = nn.Parameter(torch.full(shape, _logit(init_tau)))
        self.v_threshold = nn.Parameter(torch.full(shape, _logit(init_v_threshold)))
        self.linear_decay = nn.Parameter(torch.full(shape, _logit(init_linear_decay)))
        self.v_subreset = nn.Parameter(torch.full(shape, _logit(init_v_subreset)))
        self.conduct = nn.Parameter(torch.full((T, *shape), _logit(init_conduct)))
        self.register_memory("spike", 0.0)
        self.register_memory("time_step", 0)

    def extra_repr(self) -> str:
        return f"T={self.T}, inplane={self.inplane}, step_mode={self.step_mode}, backend={self.backend}"

    # -- parameters after the sigmoid, shaped for one step [N, C, *] -------------------
    def _view(self, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(p).to(x.dtype)
        if self.inplane is None:
            return p
        return p.reshape(p.shape[:-1] + (self.inplane,) + (1,) * (x.dim() - 2))

    def _gates(self, x: torch.Tensor) -> GLIFGates:
        return GLIFGates(
            *(
                self._view(p, x)
                for p in (
                    self.alpha,
                    self.beta,
                    self.gamma,
                    self.tau,
                    self.v_threshold,
                    self.linear_decay,
                    self.v_subreset,
                )
            )
        )

    def _check_channels(self, x: torch.Tensor) -> None:
        if self.inplane is not None and (x.dim() < 2 or x.shape[1] != self.inplane):
            raise ValueError(
                f"{type(self).__name__} has channel-wise gates for inplane={self.inplane} channels "
                f"and expects one step of shape [N, {self.inplane}, *], got {tuple(x.shape)}"
            )

    def _check_steps(self, steps: int) -> int:
        start = int(self.time_step)
        if start + steps > self.T:
            raise RuntimeError(
                f"{type(self).__name__} was built for T={self.T} steps and has run {start}; "
                f"{steps} more exceed it. Call jelly.core.functional.reset_net(net) between "
                "sequences, or build the neuron with a larger T"
            )
        return start

    def _init_spike(self, x: torch.Tensor) -> torch.Tensor:
        spike = self.spike
        if isinstance(spike, torch.Tensor):
            return spike.to(device=x.device, dtype=x.dtype)
        return torch.full_like(x, float(spike))

    # -- forwards ----------------------------------------------------------------------
    def single_step_forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if x.dim() < 1:
            raise StepModeError(f"{type(self).__name__} expects input [N, *], got a 0-d tensor")
        self._check_channels(x)
        u = self._init_v(x)
        t = self._check_steps(1)
        spike, self.v = gated_lif_step(
            x, u, self._init_spike(x), self._gates(x), self._view(self.conduct[t], x), self.surrogate_function
        )
        self.spike = spike
        self.time_step = t + 1
        return spike

    def multi_step_forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._check_input(x_seq)
        check_sequence_input(x_seq, self)
        self._check_channels(x_seq[0])
        u = self._init_v(x_seq[0])
        steps = x_seq.shape[0]
        t = self._check_steps(steps)
        conduct = self._view(self.conduct[t : t + steps], x_seq[0])
        spike_seq, u_seq = self.describe(x_seq).fn(
            x_seq, u, self._init_spike(x_seq[0]), self._gates(x_seq[0]), conduct, self.surrogate_function
        )
        self.v = u_seq[-1]
        self.spike = spike_seq[-1]
        self.time_step = t + steps
        return spike_seq
