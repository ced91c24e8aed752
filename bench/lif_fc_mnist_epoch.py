"""Seconds per training epoch of the lif_fc_mnist network: Jelly vs SpikingJelly 2.0.

Both train Flatten → Linear(784, 10, bias=False) → LIF(tau=2, ATan) with Poisson input,
MSE on firing rates, Adam(lr=1e-3), batch 64, on the same MNIST batches. SpikingJelly runs
its tutorial's single-step loop over T (its CPU path); Jelly runs multi-step (one matmul
for all T, the fused LIF). Implementations are interleaved and repeated; the script prints
median seconds per batch, the extrapolated seconds per epoch (938 batches) and the ratio.

    python bench/lif_fc_mnist_epoch.py -data-dir ../shared/data/mnist -T 100 8 -batches 60
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn


def jelly_step_fn(T: int, tau: float):
    from jelly import encoders, neurons, surrogates
    from jelly.core import functional, layers

    torch.manual_seed(0)
    net = nn.Sequential(layers.Flatten(), layers.Linear(784, 10, bias=False),
                        neurons.LIFNode(tau=tau, surrogate_function=surrogates.ATan()))
    functional.set_step_mode(net, "m")
    enc = encoders.PoissonEncoder()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step(img, label):
        x_seq = enc.encode(img, T)
        out_fr = net(x_seq).mean(0)
        loss = F.mse_loss(out_fr, F.one_hot(label, 10).float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        functional.reset_net(net)
        return loss.item()

    return step


def spikingjelly_step_fn(T: int, tau: float):
    from spikingjelly.activation_based import encoding, functional, layer, neuron, surrogate

    torch.manual_seed(0)
    net = nn.Sequential(layer.Flatten(), layer.Linear(784, 10, bias=False),
                        neuron.LIFNode(tau=tau, surrogate_function=surrogate.ATan()))
    enc = encoding.PoissonEncoder()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)

    def step(img, label):
        out_fr = 0.0
        for _ in range(T):
            out_fr = out_fr + net(enc(img))
        out_fr = out_fr / T
        loss = F.mse_loss(out_fr, F.one_hot(label, 10).float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        functional.reset_net(net)
        return loss.item()

    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-data-dir", dest="data_dir", default=None)
    p.add_argument("-T", type=int, nargs="+", default=[100, 8])
    p.add_argument("-b", type=int, default=64)
    p.add_argument("-batches", type=int, default=40, help="batches timed per repeat")
    p.add_argument("-repeats", type=int, default=3)
    p.add_argument("-threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from jelly.examples.image_data import load_images

    train, _, name = load_images(args.data_dir)
    imgs, labels = train.images, train.labels
    n_batches_epoch = -(-len(labels) // args.b)
    impls = {"jelly": jelly_step_fn}
    try:
        import spikingjelly  # noqa: F401

        impls["spikingjelly"] = spikingjelly_step_fn
    except ImportError:
        print("spikingjelly not installed: timing Jelly only")
    print(f"data: {name}; batch {args.b}; {args.batches} batches x {args.repeats} repeats; "
          f"{args.threads} threads; epoch = {n_batches_epoch} batches")
    print(f"{'T':>4} {'impl':>13} {'s/batch':>9} {'s/epoch':>9} {'ratio':>7}")
    for T in args.T:
        steps = {k: f(T, 2.0) for k, f in impls.items()}
        times: dict[str, list[float]] = {k: [] for k in impls}
        for _ in range(args.repeats):
            for name_, step in steps.items():  # interleaved
                perm = torch.randperm(len(labels))[: args.batches * args.b]
                step(imgs[perm[: args.b]], labels[perm[: args.b]])  # warm-up
                t0 = time.perf_counter()
                for i in range(args.batches):
                    idx = perm[i * args.b:(i + 1) * args.b]
                    step(imgs[idx], labels[idx])
                times[name_].append((time.perf_counter() - t0) / args.batches)
        med = {k: statistics.median(v) for k, v in times.items()}
        for k, v in med.items():
            ratio = med.get("spikingjelly", float("nan")) / v
            print(f"{T:>4} {k:>13} {v:>9.4f} {v * n_batches_epoch:>9.1f} {ratio:>6.2f}x")


if __name__ == "__main__":
    main()
