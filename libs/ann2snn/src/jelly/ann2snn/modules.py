r"""The modules a converted network is built of.

* :class:`VoltageHook`: placed after a ReLU during calibration; passes its input through
  and records the normalisation statistic ``λ`` of the activations (see
  :mod:`jelly.ann2snn.modes`).
* :class:`VoltageScaler`: multiplies its input by a constant.
* :class:`SpikingActivation`: what a ReLU becomes, ``VoltageScaler(1/λ) →
  IFNode(v_threshold=1, v_reset=None) → VoltageScaler(λ)``. With soft reset ("reset by
  subtraction") the IF neuron's firing rate over ``T`` steps of a constant input ``x``
  is ``clip(x/λ, 0, 1)`` up to ``1/T``, so the scaled output rate approaches
  ``clip(ReLU(x), 0, λ)``.
* :class:`ExpandTime`: repeats a time-independent tensor over the time steps (used only
  by the static-input fast path of :class:`~jelly.ann2snn.network.SpikingNetwork`).

In multi-step mode the converted network keeps time merged into the batch (``[T * N,
*]``) for every stateless layer; a :class:`SpikingActivation` splits it into ``[T, N, *]``
for its IF neuron and merges it back. The network tells each activation ``T``.
"""

from __future__ import annotations

import torch
from torch import nn

from jelly.core.base import StateShapeError
from jelly.neurons import IFNode

from .modes import NormMode, parse_mode


class VoltageHook(nn.Module):
    """Identity that records the normalisation statistic of the activations it sees.

    Args:
        scale: initial value of the recorded statistic.
        momentum: ``float`` in ``(0, 1]``: exponential moving average over batches,
            ``λ ← (1 - momentum) λ + momentum · λ_batch`` (SpikingJelly's rule; the first
            batch initialises ``λ``); ``None``: plain mean over all batches.
        mode: a normalisation mode (see :func:`jelly.ann2snn.modes.parse_mode`).

    Attributes:
        scale: the recorded statistic (a 0-d buffer).
        num_batches_tracked: number of batches seen.
    """

    def __init__(self, scale: float = 1.0, momentum: float | None = 0.1, mode: str | float | NormMode = "max") -> None:
        super().__init__()
        if momentum is not None and not 0.0 < float(momentum) <= 1.0:
            raise ValueError(f"momentum must be in (0, 1] or None (plain mean), got {momentum!r}")
        self.mode = parse_mode(mode)
        self.momentum = momentum
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.num_batches_tracked = 0

    def extra_repr(self) -> str:
        return f"mode={self.mode.text!r}, momentum={self.momentum}, scale={float(self.scale):.6g}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stat = self.mode.statistic(x).to(self.scale.dtype)
        n = self.num_batches_tracked
        if n == 0:
            new = stat
        elif self.momentum is None:
            new = self.scale + (stat - self.scale) / (n + 1)
        else:
            new = (1.0 - self.momentum) * self.scale + self.momentum * stat
        self.scale.copy_(new)
        self.num_batches_tracked = n + 1
        return x


class VoltageScaler(nn.Module):
    """Multiply the input by a constant ``scale`` (kept as a 0-d buffer).

    Args:
        scale: the factor.
    """

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(float(scale)))

    def extra_repr(self) -> str:
        return f"{float(self.scale):.6g}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


CACHE_BLOCK_ELEMENTS = 1 << 17  # elements per block of the fused IF loop (512 KiB in float32)


def _like_format(x: torch.Tensor) -> torch.memory_format:
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format


class SpikingActivation(nn.Module):
    """A converted ReLU: ``VoltageScaler(1/λ) → IFNode(soft reset) → VoltageScaler(λ)``.

    Args:
        scale: ``λ``, the activation level at which the neuron fires every step (> 0).
        step_mode: initial step mode of the IF neuron.
        pool: an average pooling that follows the ReLU in the ANN (optional). It is then
            applied to the spikes before ``scale_out`` (``λ · pool(s)``, equal to
            ``pool(λ · s)`` since pooling is linear); the fast loop pools each block of
            spikes while it is still in cache, so the full-resolution spikes never go to
            memory.

    In single-step mode it maps ``[N, *]`` to ``[N, *]``. In multi-step mode it expects
    time merged into the batch, ``[T * N, *]``, with ``T`` in :attr:`time_steps` (set by
    :class:`~jelly.ann2snn.network.SpikingNetwork` before each call). Without gradients it
    runs a fused in-place loop whose arithmetic is that of
    :class:`jelly.neurons.IFNode` (same spikes, same membrane); with gradients it calls
    the neuron's own multi-step forward.
    """

    def __init__(self, scale: float, step_mode: str = "s", pool: nn.Module | None = None) -> None:
        super().__init__()
        scale = float(scale)
        if not scale > 0.0:
            raise ValueError(f"SpikingActivation needs a positive scale, got {scale}")
        self.scale_in = VoltageScaler(1.0 / scale)
        self.neuron = IFNode(v_threshold=1.0, v_reset=None, step_mode=step_mode)
        self.pool = pool
        self.scale_out = VoltageScaler(scale)
        self.time_steps: int | None = None
        self.static_fed = False  # set by the converter: the input does not depend on earlier neurons
        self.static_input = False  # set per call: the input is one [N, *] step shared by all T steps
        self.static_memo: dict | None = None  # set per call by SpikingNetwork.forward_static(cache=...)
        self.fast_inference = True

    @property
    def scale(self) -> float:
        """``λ``: the output amplitude of a spike and the ANN activation of rate 1."""
        return float(self.scale_out.scale)

    def extra_repr(self) -> str:
        return f"scale={self.scale:.6g}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.neuron.step_mode == "s":
            return self.scale_out(self._pool(self.neuron(self.scale_in(x))))
        T = self.time_steps
        if T is None:
            raise RuntimeError(
                "SpikingActivation in multi-step mode takes time merged into the batch ([T*N, *]) and "
                "needs T: call the converted network (SpikingNetwork), which sets it, not its inner graph"
            )
        static = self.static_fed and self.static_input
        memo = self.static_memo if static else None
        if memo is not None and memo.get("input") is x:
            xs = memo["scaled"]  # same static input as the previous chunk: reuse its scaling
        else:
            xs = self.scale_in(x)
            if memo is not None:
                memo["input"], memo["scaled"] = x, xs
        if not static and xs.shape[0] % T != 0:
            raise ValueError(
                f"SpikingActivation: the merged batch of shape {tuple(xs.shape)} is not a multiple of T={T}"
            )
        if self.fast_inference and self._fast_path_applies(xs):
            # The spike buffer is ours: scale it in place (same arithmetic as scale_out).
            return self._fast_if(xs, T, static).mul_(self.scale_out.scale)
        x_seq = xs.unsqueeze(0).expand(T, *xs.shape) if static else xs.unflatten(0, (T, -1))
        return self.scale_out(self._pool(self.neuron(x_seq).flatten(0, 1)))

    def _pool(self, spikes: torch.Tensor) -> torch.Tensor:
        return spikes if self.pool is None else self.pool(spikes)

    def _fast_path_applies(self, xs: torch.Tensor) -> bool:
        neuron = self.neuron
        return (
            not (torch.is_grad_enabled() and xs.requires_grad)
            and type(neuron) is IFNode
            and neuron.v_reset is None
            and not neuron.store_v_seq
            and xs.is_floating_point()
        )

    def _fast_if(self, xs: torch.Tensor, T: int, static: bool) -> torch.Tensor:
        """In-place IF loop (soft reset) over ``T`` steps; updates ``self.neuron.v``.

        Returns the spikes ``[T * N, *]`` (pooled by :attr:`pool` if set), unscaled.
        """
        neuron = self.neuron
        N = xs.shape[0] if static else xs.shape[0] // T
        step_shape = (N, *xs.shape[1:])
        v_state = neuron.v
        if isinstance(v_state, torch.Tensor):
            if tuple(v_state.shape) != step_shape:
                raise StateShapeError(
                    f"IFNode: input of shape {step_shape} does not match the stored membrane of shape "
                    f"{tuple(v_state.shape)}; call jelly.core.functional.reset_net(net) between batches"
                )
            v = v_state.to(device=xs.device, dtype=xs.dtype, copy=True)
        else:
            v = torch.full_like(xs[:N], float(v_state))
        x_seq = None if static else xs.unflatten(0, (T, N))
        v_th = neuron.v_threshold
        # A 0-d tensor threshold takes a faster comparison kernel than a Python float (same result).
        v_th_tensor = torch.tensor(v_th, dtype=xs.dtype, device=xs.device)
        # Run all T steps on a block of samples before the next block: the block's membrane,
        # input and spikes stay in cache (on CPU). Each element's arithmetic is unchanged.
        per_sample = max(1, v[0].numel()) if N else 1
        block = N if xs.device.type != "cpu" else max(1, min(N, CACHE_BLOCK_ELEMENTS // per_sample))
        out = out_seq = scratch = None
        with torch.no_grad():
            for n0 in range(0, N, block):
                v_b = v[n0: n0 + block]
                x_b = xs[n0: n0 + block] if static else None
                if self.pool is not None:
                    scratch = torch.empty_like(v_b)
                for t in range(T):
                    v_b.add_(x_b if static else x_seq[t, n0: n0 + block])  # charge: h = v + x
                    if self.pool is None:
                        if out is None:
                            out = torch.empty((T * N, *xs.shape[1:]), dtype=xs.dtype, device=xs.device,
                                              memory_format=_like_format(xs))
                            out_seq = out.unflatten(0, (T, N))
                        spike = out_seq[t, n0: n0 + block]
                    else:
                        spike = scratch
                    torch.ge(v_b, v_th_tensor, out=spike)  # fire: s = Θ(h - v_th)
                    v_b.sub_(spike, alpha=v_th)  # soft reset: v = h - v_th s
                    if self.pool is not None:
                        pooled = self.pool(spike)
                        if out is None:
                            out = torch.empty((T * N, *pooled.shape[1:]), dtype=pooled.dtype, device=pooled.device,
                                              memory_format=_like_format(pooled))
                            out_seq = out.unflatten(0, (T, N))
                        out_seq[t, n0: n0 + pooled.shape[0]].copy_(pooled)
        neuron.v = v
        if out is None:  # N == 0
            shape = xs.shape[1:] if self.pool is None else self.pool(xs[:1]).shape[1:]
            out = xs.new_empty((0, *shape))
        return out


class ExpandTime(nn.Module):
    """Repeat a time-independent ``[N, *]`` tensor as ``[T * N, *]``.

    Identity unless :attr:`active` (set by the network while it runs a static input).
    """

    def __init__(self) -> None:
        super().__init__()
        self.time_steps: int | None = None
        self.active = False

    def forward(self, x):
        if not self.active or not isinstance(x, torch.Tensor):
            return x
        return x.unsqueeze(0).expand(self.time_steps, *x.shape).flatten(0, 1)
