"""Train a small CNN on MNIST, convert it to an SNN with each normalisation mode, evaluate.

The network is SpikingJelly's ``ann2snn`` MNIST CNN: three times [Conv 3x3 with 32
channels and no padding, BatchNorm(eps=1e-3), ReLU, AvgPool 2], then Flatten and
Linear(32, 10). Without padding the maps shrink 28 → 26 → 13 → 11 → 5 → 3 → 1, so the
flatten yields exactly 32 features.

Usage::

    python -m jelly.examples.ann2snn_cnn_mnist -data-dir /path/to/mnist -out-dir runs/ann2snn \\
        -epochs 8 -T 10 20 50 100 200

``-data-dir`` holds the four MNIST IDX ``.gz`` files (``train-images-idx3-ubyte.gz``...), read
by :class:`jelly.datasets.MNIST` (checksums verified). The ANN is trained once and saved
as ``ann.pt`` in ``-out-dir``; later runs convert from that checkpoint. The table of accuracies goes to stdout and
``results.json``, the plot to ``accuracy_vs_T.png``, the conversion reports to
``reports.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm.auto import tqdm

from jelly.ann2snn import Converter, accuracy_vs_time
from jelly.examples.image_data import load_mnist


def load_mnist_tensors(data_dir: str | Path) -> tuple[TensorDataset, TensorDataset]:
    """MNIST (train, test) from ``data_dir`` as images ``[N, 1, 28, 28]`` in ``[0, 1]`` and labels.

    Read by :class:`jelly.datasets.MNIST` (checksums verified; a missing, truncated or
    corrupt file raises an error naming it).
    """
    train, test, _ = load_mnist(data_dir)
    return TensorDataset(train.images, train.labels), TensorDataset(test.images, test.labels)


def mnist_cnn() -> nn.Sequential:
    """The CNN of the example (see the module docstring)."""
    layers: list[nn.Module] = []
    channels = 1
    for _ in range(3):
        layers += [nn.Conv2d(channels, 32, 3), nn.BatchNorm2d(32, eps=1e-3), nn.ReLU(), nn.AvgPool2d(2)]
        channels = 32
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(32, 10))


def _fast_layout(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Channels-last images on CPU (convolutions run several times faster there)."""
    x = x.to(device)
    return x.contiguous(memory_format=torch.channels_last) if device.type == "cpu" and x.dim() == 4 else x


def ann_accuracy(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    """Test accuracy of the ANN."""
    model.eval()
    correct = seen = 0
    with torch.no_grad():
        for x, y in loader:
            correct += int((model(_fast_layout(x, device)).argmax(1) == y.to(device)).sum())
            seen += y.shape[0]
    return correct / seen


def train(model: nn.Module, train_loader: DataLoader, epochs: int, lr: float, device: torch.device) -> None:
    """Adam with cosine learning-rate decay, cross-entropy loss."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * len(train_loader))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False)
        for x, y in bar:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(_fast_layout(x, device)), y.to(device))
            loss.backward()
            optimizer.step()
            scheduler.step()
            bar.set_postfix(loss=f"{loss.item():.4f}")


def parse_mode_arg(text: str) -> str | float:
    """``'max'`` and ``'99.9%'`` stay strings, ``'0.5'`` or ``'1/2'`` become numbers."""
    if "/" in text:
        num, den = text.split("/", 1)
        return float(num) / float(den)
    try:
        return float(text)
    except ValueError:
        return text


def format_table(ann_acc: float, results: dict[str, dict[int, float]], steps: list[int]) -> str:
    """Accuracy table (percent): one row per mode, one column per T."""
    head = f"{'mode':<8} {'ANN':>7} " + " ".join(f"{'T=' + str(t):>7}" for t in steps)
    rows = [head, "-" * len(head)]
    for mode, accs in results.items():
        rows.append(f"{mode:<8} {100 * ann_acc:>7.2f} " + " ".join(f"{100 * accs[t]:>7.2f}" for t in steps))
    return "\n".join(rows)


def save_plot(path: Path, ann_acc: float, results: dict[str, dict[int, float]], steps: list[int]) -> None:
    """Accuracy against T for every mode, with the ANN accuracy as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, accs in results.items():
        ax.plot(steps, [100 * accs[t] for t in steps], marker="o", label=f"mode {mode}")
    ax.axhline(100 * ann_acc, color="k", linestyle="--", label=f"ANN {100 * ann_acc:.2f}%")
    ax.set_xscale("log")
    ax.set_xticks(steps)
    ax.set_xticklabels([str(t) for t in steps])
    ax.set_xlabel("time steps T")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("MNIST CNN converted to an SNN")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    """Command-line flags of the example."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-data-dir", required=True, help="folder of the MNIST IDX files (.gz or plain)")
    p.add_argument("-out-dir", default="runs/ann2snn_cnn_mnist", help="checkpoint, table, plot and reports go here")
    p.add_argument("-device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    p.add_argument("-T", type=int, nargs="+", default=[10, 20, 50, 100, 200], help="time steps to evaluate")
    p.add_argument("-epochs", type=int, default=8, help="ANN training epochs (skipped if ann.pt exists)")
    p.add_argument("-b", type=int, default=100, help="batch size for training and calibration")
    p.add_argument("-eval-b", type=int, default=25, help="batch size of the SNN evaluation (25 is fastest on CPU)")
    p.add_argument("-lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("-modes", nargs="+", default=["max", "99.9%", "0.5"],
                   help="normalisation modes: max, a percentile like 99.9%%, or a fraction like 0.5 or 1/3")
    p.add_argument("-calib-batches", type=int, default=None, help="calibration batches (default: all training data)")
    p.add_argument("-test-samples", type=int, default=None, help="evaluate on the first N test images only")
    p.add_argument("-chunk", type=int, default=None,
                   help="time steps per multi-step call in the SNN evaluation (default: sized to the cache)")
    p.add_argument("-threads", type=int, default=1,
                   help="torch CPU threads (1 is fastest on a busy shared machine, 2 on an idle 2-core one)")
    p.add_argument("-retrain", action="store_true", help="train even if ann.pt exists")
    p.add_argument("-seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> dict:
    """Run the example; returns the results written to ``results.json``."""
    args = build_parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = sorted(set(args.T))

    train_set, test_set = load_mnist_tensors(args.data_dir)
    if args.test_samples is not None:
        test_set = TensorDataset(*(t[: args.test_samples] for t in test_set.tensors))
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train_set, batch_size=args.b, shuffle=True, generator=generator)
    calib_loader = DataLoader(train_set, batch_size=args.b, shuffle=False)
    test_loader = DataLoader(test_set, batch_size=args.b, shuffle=False)
    eval_loader = DataLoader(test_set, batch_size=args.eval_b, shuffle=False)

    model = mnist_cnn().to(device)
    if device.type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    checkpoint, meta_path = out_dir / "ann.pt", out_dir / "ann_training.json"
    if checkpoint.is_file() and not args.retrain:
        model.load_state_dict(torch.load(checkpoint, map_location=device))
        training = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        print(f"loaded the trained ANN from {checkpoint} ({training or 'no training record'})")
    else:
        start = time.perf_counter()
        train(model, train_loader, args.epochs, args.lr, device)
        training = {"epochs": args.epochs, "lr": args.lr, "batch_size": args.b, "seed": args.seed,
                    "seconds": round(time.perf_counter() - start, 1)}
        tmp = checkpoint.with_suffix(".tmp")
        torch.save(model.state_dict(), tmp)
        os.replace(tmp, checkpoint)
        meta_path.write_text(json.dumps(training) + "\n")
        print(f"trained the ANN ({training}); saved {checkpoint}")
    ann_acc = ann_accuracy(model, test_loader, device)
    print(f"ANN test accuracy: {100 * ann_acc:.2f}% on {len(test_set)} images")

    results: dict[str, dict[int, float]] = {}
    reports = []
    timings = {}
    for text in args.modes:
        converter = Converter(calib_loader, mode=parse_mode_arg(text), max_batches=args.calib_batches, device=device)
        snn = converter(model)
        reports.append(str(snn.report))
        loader = [(_fast_layout(x, device), y) for x, y in eval_loader]
        start = time.perf_counter()
        results[snn.report.mode] = accuracy_vs_time(snn, loader, steps, chunk_size=args.chunk, device=device,
                                                    desc=f"SNN mode {snn.report.mode}")
        timings[snn.report.mode] = time.perf_counter() - start
        best_t = max(steps, key=lambda t: results[snn.report.mode][t])
        print(f"mode {snn.report.mode}: best {100 * results[snn.report.mode][best_t]:.2f}% at T={best_t} "
              f"({timings[snn.report.mode]:.0f} s for {len(test_set)} images up to T={steps[-1]})")

    table = format_table(ann_acc, results, steps)
    print(table)
    save_plot(out_dir / "accuracy_vs_T.png", ann_acc, results, steps)
    (out_dir / "reports.txt").write_text("\n\n".join(reports) + "\n")
    summary = {"ann_accuracy": ann_acc, "test_images": len(test_set), "time_steps": steps,
               "snn_accuracy": {m: {str(t): a for t, a in accs.items()} for m, accs in results.items()},
               "eval_seconds": timings, "training": training, "table": table}
    (out_dir / "results.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {out_dir / 'results.json'}, {out_dir / 'accuracy_vs_T.png'}, {out_dir / 'reports.txt'}")
    return summary


if __name__ == "__main__":
    main()
