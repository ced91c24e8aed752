"""Fast evaluation of converted networks: multi-step runs over chunks of time steps.

The SNN receives the same (analog) input at every step; its output is read as the mean
of the per-step outputs (the "firing-rate output"), which approaches the ANN's output as
``T`` grows. Evaluation runs the network in multi-step mode on ``chunk_size`` steps at a
time: every stateless layer processes ``chunk_size × N`` samples in one call and the layers
before the first neuron run once per sample (:meth:`SpikingNetwork.forward_static`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from tqdm.auto import tqdm

from jelly.core import functional

from .converter import batch_input
from .network import SpikingNetwork


def _check_time_steps(time_steps: int | Sequence[int]) -> list[int]:
    steps = [time_steps] if isinstance(time_steps, int) else list(time_steps)
    if not steps or any(not isinstance(t, int) or isinstance(t, bool) or t < 1 for t in steps):
        raise ValueError(f"time steps must be positive integers, got {time_steps!r}")
    return sorted(set(steps))


CHUNK_BYTES = 16 * 2**20


def auto_chunk_size(snn: SpikingNetwork, x: torch.Tensor, time_steps: int) -> int:
    """Time steps per call so the largest intermediate tensor stays under :data:`CHUNK_BYTES`.

    Tensors of that size are recycled by the C allocator; larger ones are fresh memory on
    every call, whose page faults cost more than the small per-call overhead of short chunks.
    """
    per_step = max(1, snn.sample_numel) * max(1, x.shape[0] if x.dim() else 1) * x.element_size()
    return max(1, min(int(time_steps), CHUNK_BYTES // per_step))


def simulate(
    snn: SpikingNetwork,
    x: torch.Tensor,
    time_steps: int | Sequence[int],
    chunk_size: int | None = None,
) -> dict[int, torch.Tensor]:
    """Run ``snn`` on the static input ``x`` and return its firing-rate output at each ``T``.

    Args:
        snn: a converted network.
        x: one input batch ``[N, *]``, presented at every time step.
        time_steps: one ``T`` or several (one run to the largest; the others are read
            on the way).
        chunk_size: time steps per multi-step call (memory grows with it); default
            :func:`auto_chunk_size`.

    Returns:
        ``{T: mean of the outputs of steps 1..T}`` (each ``[N, *]``). The network is reset
        before and after, and its step mode restored.
    """
    steps = _check_time_steps(time_steps)
    if chunk_size is None:
        chunk_size = auto_chunk_size(snn, x, steps[-1])
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    previous = snn.step_mode
    cache: dict = {}
    functional.set_step_mode(snn, "m")
    functional.reset_net(snn)
    results: dict[int, torch.Tensor] = {}
    total = None
    done = 0
    try:
        with torch.no_grad():
            while done < steps[-1]:
                n = min(int(chunk_size), steps[-1] - done)
                y = snn.forward_static(x, n, cache=cache)
                if not isinstance(y, torch.Tensor):
                    raise TypeError(f"simulate needs a network with one output tensor, got {type(y).__name__}")
                for t in steps:
                    if done < t <= done + n:
                        part = y[: t - done].sum(0)
                        results[t] = (part if total is None else total + part) / t
                chunk_sum = y.sum(0)
                total = chunk_sum if total is None else total + chunk_sum
                done += n
    finally:
        functional.reset_net(snn)
        functional.set_step_mode(snn, previous)
    return results


def accuracy_vs_time(
    snn: SpikingNetwork,
    dataloader: Iterable,
    time_steps: int | Sequence[int],
    chunk_size: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    desc: str = "SNN",
) -> dict[int, float]:
    """Classification accuracy (argmax of the firing-rate output) at each ``T``.

    Args:
        snn: a converted classifier.
        dataloader: yields ``(input, label)`` batches.
        time_steps: the ``T`` values to report (one run to the largest).
        chunk_size: time steps per multi-step call (default: :func:`auto_chunk_size`).
        device: where to run (default: where the network's buffers are).
        progress: show a tqdm progress bar.
        desc: label of the progress bar.

    Returns:
        ``{T: accuracy in [0, 1]}``.
    """
    steps = _check_time_steps(time_steps)
    if device is None:
        device = next(iter(snn.buffers()), torch.empty(0)).device
    correct = dict.fromkeys(steps, 0)
    seen = 0
    for batch in tqdm(dataloader, desc=desc, disable=not progress, leave=False):
        if not (isinstance(batch, (list, tuple)) and len(batch) >= 2):
            raise TypeError("accuracy_vs_time needs (input, label) batches")
        x, labels = batch_input(batch).to(device), batch[1].to(device)
        outputs = simulate(snn, x, steps, chunk_size)
        for t, out in outputs.items():
            correct[t] += int((out.argmax(1) == labels).sum())
        seen += labels.shape[0]
    if seen == 0:
        raise ValueError("the data loader is empty")
    return {t: correct[t] / seen for t in steps}
