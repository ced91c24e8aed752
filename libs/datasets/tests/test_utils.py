"""Collate, masks, class-balanced split, tonic structured arrays, event helpers."""

import numpy as np
import pytest
import torch

from jelly.datasets import (
    from_tonic_events,
    make_events,
    pad_sequence_collate,
    padded_sequence_mask,
    split_to_train_test_set,
    to_tonic_events,
    tonic_transform,
)
from jelly.datasets.events import concatenate_events, events_equal


def test_pad_sequence_collate_and_mask():
    batch = [(np.ones((2, 3)), 0), (torch.full((4, 3), 2.0), 5), (np.zeros((1, 3)), 7)]
    x, y, lengths = pad_sequence_collate(batch)
    assert x.shape == (3, 4, 3) and y.tolist() == [0, 5, 7] and lengths.tolist() == [2, 4, 1]
    assert x[0, 2:].abs().sum() == 0 and x[1].sum() == 24
    mask = padded_sequence_mask(lengths)
    assert mask.shape == (4, 3)
    assert mask.T.tolist() == [[True, True, False, False], [True] * 4, [True, False, False, False]]
    assert padded_sequence_mask(lengths, T=6).shape == (6, 3)
    with pytest.raises(ValueError, match="same"):
        pad_sequence_collate([(np.ones((2, 3)), 0), (np.ones((2, 4)), 1)])


class Labelled(torch.utils.data.Dataset):
    def __init__(self, labels, expose_targets=True):
        self.labels = labels
        if expose_targets:
            self.targets = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return i, self.labels[i]


@pytest.mark.parametrize("expose", [True, False])
def test_split_is_class_balanced_and_deterministic(expose):
    labels = [i % 3 for i in range(30)] + [1] * 10
    ds = Labelled(labels, expose)
    train, test = split_to_train_test_set(0.8, ds, 3)
    assert sorted(train.indices + test.indices) == list(range(40))
    for c, n in ((0, 10), (1, 20), (2, 10)):
        assert sum(labels[i] == c for i in train.indices) == int(np.ceil(n * 0.8))
    assert train.indices[:3] == [0, 3, 6]  # first of each class in data set order
    a, _ = split_to_train_test_set(0.5, ds, 3, random_split=True, seed=1)
    np.random.seed(123)  # the global state does not matter
    b, _ = split_to_train_test_set(0.5, ds, 3, random_split=True, seed=1)
    c, _ = split_to_train_test_set(0.5, ds, 3, random_split=True, seed=2)
    assert a.indices == b.indices != c.indices
    with pytest.raises(ValueError, match="label 2"):
        split_to_train_test_set(0.5, ds, 2)


def test_tonic_structured_round_trip():
    ev = make_events([1, 5, 9], [3, 4, 5], [0, 1, 2], [1, 0, 1])
    arr = to_tonic_events(ev)
    assert arr.dtype.names == ("x", "y", "t", "p")
    assert arr["x"].tolist() == [3, 4, 5] and arr["t"].tolist() == [1, 5, 9]
    assert events_equal(from_tonic_events(arr), ev)
    audio = to_tonic_events(ev, with_y=False)
    assert audio.dtype.names == ("x", "t", "p")
    back = from_tonic_events(audio)
    assert back["y"].tolist() == [0, 0, 0] and back["p"].dtype == np.uint8
    tonic_like = np.array(
        [(1, 2, 10.4, True), (3, 4, 20.6, False)],
        dtype=[("x", "<i8"), ("y", "<i8"), ("t", "<f8"), ("p", "?")],
    )
    got = from_tonic_events(tonic_like)
    assert got["t"].tolist() == [10, 21] and got["p"].tolist() == [1, 0] and got["x"].dtype == np.int16
    with pytest.raises(ValueError, match="structured"):
        from_tonic_events(np.zeros(3))


def test_tonic_transform_wrapper():
    ev = make_events([1, 5, 9], [3, 4, 5], [0, 1, 2], [1, 0, 1])
    keep_on = tonic_transform(lambda a: a[a["p"] == 1])
    assert events_equal(keep_on(ev), make_events([1, 9], [3, 5], [0, 2], [1, 1]))
    count = tonic_transform(lambda a: len(a))
    assert count(ev) == 3


def test_make_events_validation():
    ev = make_events([1.0, 2.0], [0, 1], [0, 0], [-1, 1])
    assert ev["t"].dtype == np.int64 and ev["p"].tolist() == [0, 1]
    with pytest.raises(ValueError, match="different lengths"):
        make_events([1, 2], [0], [0, 0], [0, 1])
    with pytest.raises(ValueError, match="non-integer"):
        make_events([1.5], [0], [0], [0])
    with pytest.raises(ValueError, match="polarity"):
        make_events([1], [0], [0], [2])
    with pytest.raises(ValueError, match="do not fit"):
        make_events([1], [40000], [0], [0])
    both = concatenate_events([ev, ev])
    assert both["t"].tolist() == [1, 2, 1, 2] and both["x"].dtype == np.int16
