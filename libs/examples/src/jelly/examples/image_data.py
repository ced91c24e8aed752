"""Image data for the examples: MNIST from IDX files, or scikit-learn's embedded digits.

Both are returned as in-memory float tensors in ``[0, 1]`` of shape ``[N, 1, H, W]``, so
the examples need no download: without a data directory they use the 1,797 8x8 digits
that ship inside scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass
class ImageSplit:
    """Images ``[N, 1, H, W]`` (float32 in [0, 1]) and integer labels ``[N]``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    def __getitems__(self, indices):
        # Batched fetch: DataLoader calls this with a whole batch of indices at once.
        idx = torch.as_tensor(indices)
        return self.images[idx], self.labels[idx]


def collate_batch(batch):
    """Collate for :meth:`ImageSplit.__getitems__`: the batch is already stacked."""
    return batch


def load_mnist(data_dir: str | Path) -> tuple[ImageSplit, ImageSplit, str]:
    """Load MNIST (train, test) from the four standard IDX ``.gz`` files in ``data_dir``."""
    from jelly.datasets import MNIST

    splits = []
    for train in (True, False):
        mnist = MNIST(data_dir, train=train)  # checks the checksums and the IDX headers
        splits.append(ImageSplit(mnist.data.unsqueeze(1).float().div_(255.0), mnist.targets))
    return splits[0], splits[1], f"MNIST from {data_dir}"


def load_embedded_digits(test_fraction: float = 0.2, seed: int = 0) -> tuple[ImageSplit, ImageSplit, str]:
    """scikit-learn's bundled 8x8 digits (1,797 images), split deterministically."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.from_numpy(digits.images.astype(np.float32) / 16.0).unsqueeze(1)
    y = torch.from_numpy(digits.target.astype(np.int64))
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(len(y) * test_fraction))
    test, train = perm[:n_test], perm[n_test:]
    return ImageSplit(x[train], y[train]), ImageSplit(x[test], y[test]), "scikit-learn 8x8 digits (embedded)"


def load_images(data_dir: str | Path | None) -> tuple[ImageSplit, ImageSplit, str]:
    """MNIST from ``data_dir`` when given, else the embedded 8x8 digits."""
    if data_dir is None:
        return load_embedded_digits()
    return load_mnist(data_dir)
