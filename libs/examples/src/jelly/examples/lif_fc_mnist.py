"""Train a one-layer spiking network (Flatten → Linear → LIF) on MNIST.

The network of SpikingJelly's first tutorial: the image is Poisson-encoded into ``T``
binary frames, a bias-free linear layer feeds 10 LIF neurons, and the loss is the MSE
between each neuron's firing rate and the one-hot label. It runs multi-step: the whole
``[T, N, 784]`` spike train goes through the linear layer as one matrix product and the
LIF layer as one fused autograd node.

Usage::

    python -m jelly.examples.lif_fc_mnist -tau 2.0 -T 100 -device cpu -b 64 -epochs 100 \\
        -data-dir ../shared/data/mnist -opt adam -lr 1e-3 -j 0 -out-dir runs/lif_fc_mnist

Without ``-data-dir`` it trains on scikit-learn's embedded 8x8 digits (no download).
It runs unchanged under ``torchrun --nproc_per_node=N`` (DistributedDataParallel,
gloo on CPU, nccl on GPU).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from jelly import encoders, neurons, surrogates
from jelly.core import functional, layers

from .image_data import collate_batch, load_images
from .training import Distributed, atomic_torch_save, plot_learning_curves, plot_membrane_and_spikes


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags (SpikingJelly's, plus ``-out-dir``/``-resume``/``-seed``)."""
    p = argparse.ArgumentParser(description="Train a LIF network on MNIST (or the embedded 8x8 digits).")
    p.add_argument("-tau", type=float, default=2.0, help="membrane time constant of the LIF neurons")
    p.add_argument("-T", type=int, default=100, help="number of simulation time steps")
    p.add_argument("-device", default="cpu", help="device, e.g. cpu or cuda:0")
    p.add_argument("-b", type=int, default=64, help="batch size (per process)")
    p.add_argument("-epochs", type=int, default=100, help="number of training epochs")
    p.add_argument("-j", type=int, default=0, help="DataLoader worker processes (data is in memory; 0 is fastest)")
    p.add_argument("-data-dir", dest="data_dir", default=None,
                   help="folder with the four MNIST IDX .gz files; default: embedded 8x8 digits")
    p.add_argument("-out-dir", dest="out_dir", default="runs/lif_fc_mnist", help="checkpoints, logs and plots")
    p.add_argument("-resume", nargs="?", const="latest", default=None,
                   help="resume from a checkpoint path (or the latest in -out-dir when given without a value)")
    p.add_argument("-amp", action="store_true", help="automatic mixed precision (bfloat16 on CPU, float16 on CUDA)")
    p.add_argument("-opt", default="adam", choices=["adam", "sgd"], help="optimizer")
    p.add_argument("-momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("-lr", type=float, default=1e-3, help="learning rate")
    p.add_argument("-seed", type=int, default=0, help="random seed")
    p.add_argument("-max-batches", dest="max_batches", type=int, default=None,
                   help="stop each epoch after this many batches (smoke tests)")
    p.add_argument("-dist-url", dest="dist_url", default="env://", help="init_method for torch.distributed")
    p.add_argument("-no-plots", dest="plots", action="store_false", help="skip the plots")
    p.add_argument("-quiet", action="store_true", help="no progress bars")
    return p


class LIFNet(nn.Module):
    """``Flatten → Linear(in_features, 10, bias=False) → LIF``, multi-step."""

    def __init__(self, in_features: int, tau: float, num_classes: int = 10) -> None:
        super().__init__()
        self.layer = nn.Sequential(
            layers.Flatten(),
            layers.Linear(in_features, num_classes, bias=False),
            neurons.LIFNode(tau=tau, surrogate_function=surrogates.ATan()),
        )
        functional.set_step_mode(self, "m")

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``[T, N, 1, H, W]`` spikes in, ``[T, N, 10]`` spikes out."""
        return self.layer(x_seq)


def poisson_sequence(encoder: encoders.PoissonEncoder, images: torch.Tensor, T: int) -> torch.Tensor:
    """``[N, *]`` intensities in [0, 1] → ``[T, N, *]`` Poisson spikes (all steps drawn at once)."""
    return encoder.encode(images, T)


def run_epoch(model, loader, encoder, args, device, optimizer=None, scaler=None, progress=None):
    """One pass over ``loader``; trains when ``optimizer`` is given. Returns (loss sum, correct, count)."""
    training = optimizer is not None
    model.train(training)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    count = 0
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    with torch.set_grad_enabled(training):
        for i, (img, label) in enumerate(loader):
            if args.max_batches is not None and i >= args.max_batches:
                break
            img, label = img.to(device, non_blocking=True), label.to(device, non_blocking=True)
            label_onehot = F.one_hot(label, 10).float()
            with torch.autocast(device.type, dtype=amp_dtype, enabled=args.amp):
                out_fr = model(poisson_sequence(encoder, img, args.T)).mean(0)
                loss = F.mse_loss(out_fr.float(), label_onehot)
            if training:
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
            functional.reset_net(model)
            loss_sum += loss.detach() * label.numel()
            correct += (out_fr.argmax(1) == label).sum()
            count += label.numel()
            if progress is not None:
                progress.update(1)
    return loss_sum, correct, count


def train(args: argparse.Namespace) -> tuple[nn.Module, list[dict]]:
    """Train as configured by ``args``; returns the (unwrapped) model and the history."""
    from tqdm import tqdm

    dist = Distributed.from_env(args.device, args.dist_url)
    device = dist.device
    torch.manual_seed(args.seed + dist.rank)
    out_dir = Path(args.out_dir)
    if dist.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)

    train_set, test_set, data_name = load_images(args.data_dir)
    in_features = math.prod(train_set.images.shape[1:])
    loaders = {}
    for name, split in (("train", train_set), ("test", test_set)):
        sampler = dist.sampler(split, shuffle=(name == "train"), seed=args.seed)
        loaders[name] = torch.utils.data.DataLoader(
            split, batch_size=args.b, sampler=sampler, shuffle=(sampler is None and name == "train"),
            num_workers=args.j, collate_fn=collate_batch, drop_last=False,
            generator=torch.Generator().manual_seed(args.seed),
        )

    torch.manual_seed(args.seed)  # identical initial weights on every rank
    model = LIFNet(in_features, args.tau).to(device)
    ddp_model = dist.wrap(model)
    encoder = encoders.PoissonEncoder()
    if args.opt == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    scaler = torch.amp.GradScaler("cuda") if (args.amp and device.type == "cuda") else None

    history: list[dict] = []
    start_epoch = 0
    if args.resume is not None:
        path = out_dir / "checkpoint_latest.pt" if args.resume == "latest" else Path(args.resume)
        if not path.is_file():
            raise FileNotFoundError(f"-resume: no checkpoint at {path}")
        ckpt = torch.load(path, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        history = ckpt["history"]
        start_epoch = ckpt["epoch"] + 1
        torch.set_rng_state(ckpt["rng_state"])

    if dist.is_main:
        print(f"data: {data_name}; train {len(train_set)}, test {len(test_set)}; world size {dist.world_size}; "
              f"LIF backend: {neurons.describe(model.layer[2], torch.zeros(1, 1, 10, device=device)).backend}")
    show = dist.is_main and not args.quiet
    for epoch in range(start_epoch, args.epochs):
        dist.set_epoch(loaders["train"], epoch)
        n_batches = len(loaders["train"]) if args.max_batches is None else min(args.max_batches, len(loaders["train"]))
        t0 = time.perf_counter()
        with tqdm(total=n_batches, desc=f"epoch {epoch}", disable=not show, leave=False) as bar:
            tr = run_epoch(ddp_model, loaders["train"], encoder, args, device, optimizer, scaler, bar)
        train_seconds = time.perf_counter() - t0
        te = run_epoch(ddp_model, loaders["test"], encoder, args, device)
        tr_loss, tr_correct, tr_count = dist.all_reduce_stats(*tr)
        te_loss, te_correct, te_count = dist.all_reduce_stats(*te)
        record = {
            "epoch": epoch,
            "train_loss": tr_loss / tr_count, "train_acc": tr_correct / tr_count,
            "test_loss": te_loss / te_count, "test_acc": te_correct / te_count,
            "train_seconds": train_seconds,
        }
        history.append(record)
        if dist.is_main:
            print(f"epoch {epoch}: train loss {record['train_loss']:.4f} acc {record['train_acc']:.4f} | "
                  f"test loss {record['test_loss']:.4f} acc {record['test_acc']:.4f} | {train_seconds:.1f} s")
            atomic_torch_save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                "history": history, "args": vars(args), "rng_state": torch.get_rng_state(),
            }, out_dir / "checkpoint_latest.pt")
            (out_dir / "history.json").write_text(json.dumps(history, indent=1))

    if dist.is_main and history:
        print(f"test accuracy: {history[-1]['test_acc']:.4f}")
        if args.plots:
            plot_learning_curves(history, out_dir / "learning_curves.png")
            plot_output_dynamics(model, test_set, encoder, args, device, out_dir / "output_dynamics.png")
            print(f"plots saved in {out_dir}")
    # Drop DDP (its reducer holds the process group) on every rank before leaving the group:
    # destroying the group first can hang in gloo's destructor.
    del ddp_model
    dist.close()
    return model, history


@torch.no_grad()
def plot_output_dynamics(model, test_set, encoder, args, device, path: Path) -> None:
    """Plot the output LIF layer's membrane potential and spikes over T for one test image."""
    model.eval()
    lif = model.layer[2]
    lif.store_v_seq = True
    img, label = test_set[0]
    out = model(poisson_sequence(encoder, img.unsqueeze(0).to(device), args.T))
    plot_membrane_and_spikes(lif.v_seq[:, 0].float().cpu(), out[:, 0].float().cpu(), int(label), path)
    lif.store_v_seq = False
    functional.reset_net(model)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    args = build_parser().parse_args(argv)
    torch.set_num_threads(max(1, int(os.environ.get("JELLY_NUM_THREADS", torch.get_num_threads()))))
    train(args)


if __name__ == "__main__":
    main()
