"""Deterministic, class-balanced train/test split for data sets without an official split."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

__all__ = ["split_to_train_test_set", "dataset_labels"]


def dataset_labels(dataset: Any, progress: bool = True) -> list[int]:
    """The label of every sample, read cheaply when the data set exposes them.

    Uses ``dataset.targets`` when present (Jelly's data sets, MNIST), follows
    ``torch.utils.data.Subset``, and otherwise reads ``dataset[i][1]`` for every ``i``.
    """
    if isinstance(dataset, torch.utils.data.Subset):
        parent = dataset_labels(dataset.dataset, progress)
        return [parent[i] for i in dataset.indices]
    targets = getattr(dataset, "targets", None)
    if targets is not None and len(targets) == len(dataset):
        return [int(t) for t in (targets.tolist() if hasattr(targets, "tolist") else targets)]
    labels = []
    for i in tqdm(range(len(dataset)), desc="reading labels", disable=not progress):
        label = dataset[i][1]
        labels.append(int(label.item() if hasattr(label, "item") else label))
    return labels


def split_to_train_test_set(
    train_ratio: float,
    origin_dataset: torch.utils.data.Dataset,
    num_classes: int,
    random_split: bool = False,
    seed: int = 0,
) -> tuple[torch.utils.data.Subset, torch.utils.data.Subset]:
    """Split a data set into train and test subsets with the same class proportions.

    For each class, the first ``ceil(n_c * train_ratio)`` of its samples (in data set order,
    or in a shuffled order when ``random_split``) go to the training set, the rest to the test
    set. Unlike SpikingJelly, the shuffle uses its own generator seeded by ``seed``, so the
    split is the same on every run and every process, whatever the global random state.

    Args:
        train_ratio: Fraction of each class for training, in ``[0, 1]``.
        origin_dataset: The data set (its ``targets`` are used when available).
        num_classes: Number of classes; labels must be in ``[0, num_classes)``.
        random_split: Shuffle each class before cutting.
        seed: Seed of the shuffle.

    Returns:
        ``(train_set, test_set)`` as :class:`torch.utils.data.Subset` (indices sorted within
        each class order).

    Raises:
        ValueError: On a ratio outside ``[0, 1]`` or a label outside ``[0, num_classes)``.
    """
    if not 0.0 <= float(train_ratio) <= 1.0:
        raise ValueError(f"train_ratio must be in [0, 1], got {train_ratio}")
    labels = dataset_labels(origin_dataset)
    per_class: list[list[int]] = [[] for _ in range(num_classes)]
    for i, label in enumerate(labels):
        if not 0 <= label < num_classes:
            raise ValueError(
                f"sample {i} has label {label}, outside [0, {num_classes}) (num_classes={num_classes})"
            )
        per_class[label].append(i)
    rng = np.random.default_rng(seed)
    train_idx: list[int] = []
    test_idx: list[int] = []
    for indices in per_class:
        order: Sequence[int] = indices
        if random_split:
            order = [indices[j] for j in rng.permutation(len(indices))]
        cut = math.ceil(len(order) * float(train_ratio))
        train_idx.extend(order[:cut])
        test_idx.extend(order[cut:])
    return torch.utils.data.Subset(origin_dataset, train_idx), torch.utils.data.Subset(
        origin_dataset, test_idx
    )
