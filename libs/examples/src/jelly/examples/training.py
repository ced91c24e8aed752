"""Shared training utilities of the examples: distributed setup, checkpoints, plots."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as torch_dist
from torch import nn


@dataclass
class Distributed:
    """Process-group facts for one training process (a single process when not launched
    by ``torchrun`` or with ``WORLD_SIZE`` unset)."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        """Whether more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the one that prints, saves and plots)."""
        return self.rank == 0

    @classmethod
    def from_env(cls, device: str, init_method: str = "env://") -> Distributed:
        """Join the process group described by ``RANK``/``WORLD_SIZE`` (set by torchrun).

        gloo on CPU, nccl on CUDA; on CUDA each process uses the GPU ``LOCAL_RANK``.
        """
        world_size = int(os.environ.get("WORLD_SIZE", "1"))
        dev = torch.device(device)
        if world_size <= 1:
            return cls(0, 1, dev)
        rank = int(os.environ["RANK"])
        if dev.type == "cuda":
            dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count())))
            torch.cuda.set_device(dev)
        if not torch_dist.is_initialized():
            torch_dist.init_process_group(
                "nccl" if dev.type == "cuda" else "gloo", init_method=init_method, rank=rank, world_size=world_size
            )
        return cls(rank, world_size, dev)

    def sampler(self, dataset, shuffle: bool, seed: int):
        """A ``DistributedSampler`` when distributed, else ``None``."""
        if not self.enabled:
            return None
        return torch.utils.data.DistributedSampler(
            dataset, num_replicas=self.world_size, rank=self.rank, shuffle=shuffle, seed=seed
        )

    @staticmethod
    def set_epoch(loader, epoch: int) -> None:
        """Reshuffle a distributed sampler for ``epoch``."""
        if isinstance(loader.sampler, torch.utils.data.DistributedSampler):
            loader.sampler.set_epoch(epoch)

    def wrap(self, model: nn.Module) -> nn.Module:
        """``DistributedDataParallel(model)`` when distributed, else the model itself."""
        if not self.enabled:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def all_reduce_stats(self, loss_sum: torch.Tensor, correct: torch.Tensor, count: int) -> tuple[float, int, int]:
        """Sum ``(loss_sum, correct, count)`` over all processes."""
        stats = torch.stack([loss_sum.double().cpu(), correct.double().cpu(), torch.tensor(float(count))])
        if self.enabled:
            stats = stats.to(self.device)
            torch_dist.all_reduce(stats)
            stats = stats.cpu()
        return float(stats[0]), int(stats[1]), int(stats[2])

    def close(self) -> None:
        """Leave the process group."""
        if self.enabled and torch_dist.is_initialized():
            torch_dist.barrier()  # every rank is done with collectives before any leaves
            torch_dist.destroy_process_group()


def atomic_torch_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename: a crash never leaves half a checkpoint."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def plot_learning_curves(history: list[dict], path: Path) -> None:
    """Save loss and accuracy per epoch (train and test) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split in ("train", "test"):
        ax_loss.plot(epochs, [h[f"{split}_loss"] for h in history], marker="o", label=split)
        ax_acc.plot(epochs, [h[f"{split}_acc"] for h in history], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="MSE loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_membrane_and_spikes(v_seq: torch.Tensor, s_seq: torch.Tensor, label: int, path: Path) -> None:
    """Save a heat map of the output neurons' membrane potential ``[T, C]`` and a raster of
    their spikes ``[T, C]`` for one sample."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_v, ax_s) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    im = ax_v.imshow(v_seq.T.numpy(), aspect="auto", cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax_v, label="membrane potential")
    ax_v.set(ylabel="output neuron", title=f"output layer of one test sample (label {label})")
    t_idx, n_idx = torch.nonzero(s_seq > 0, as_tuple=True)
    ax_s.scatter(t_idx.numpy(), n_idx.numpy(), marker="|", s=60, color="black")
    ax_s.set(xlabel="time step", ylabel="output neuron", ylim=(-0.5, v_seq.shape[1] - 0.5), title="spikes")
    ax_s.set_yticks(range(v_seq.shape[1]))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
