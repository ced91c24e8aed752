"""Jelly data sets: static and neuromorphic data sets, events to frames, caches, collate.

Quick start::

    from jelly.datasets import DVS128Gesture, pad_sequence_collate
    train = DVS128Gesture("data/dvs128", train=True, data_type="frame", frames_number=16, split_by="number")
    frames, label = train[0]          # float32 [16, 2, 128, 128], int

See the README for the layout of each data set's ``root`` folder.
"""

from . import formats
from ._version import __version__
from .cache import build_cache, cache_dir_name
from .collate import pad_sequence_collate, padded_sequence_mask
from .download import check_md5, download_url, extract_archive, md5sum
from .errors import ChecksumError, CorruptFileError, DatasetError, MissingDataError
from .events import check_events, concatenate_events, empty_events, events_equal, make_events
from .frames import (
    FRAMES_ALGORITHM_VERSION,
    integrate_events_by_fixed_duration,
    integrate_events_by_fixed_frames_number,
    integrate_events_to_frames,
)
from .neuromorphic import (
    ASLDVS,
    CIFAR10DVS,
    HARDVS,
    NMNIST,
    SHD,
    DVS128Gesture,
    DVSLip,
    ESImageNet,
    NAVGesture,
    NAVGestureSit,
    NAVGestureWalk,
    NCaltech101,
    NeuromorphicDataset,
    SpikingHeidelbergDigits,
)
from .split import split_to_train_test_set
from .static import MNIST, FashionMNIST, load_idx, write_idx
from .tonic_compat import from_tonic_events, to_tonic_events, tonic_transform

__all__ = [
    "__version__",
    "formats",
    # errors
    "DatasetError",
    "CorruptFileError",
    "MissingDataError",
    "ChecksumError",
    # events and frames
    "make_events",
    "empty_events",
    "check_events",
    "concatenate_events",
    "events_equal",
    "integrate_events_to_frames",
    "integrate_events_by_fixed_duration",
    "integrate_events_by_fixed_frames_number",
    "FRAMES_ALGORITHM_VERSION",
    # batching and splitting
    "pad_sequence_collate",
    "padded_sequence_mask",
    "split_to_train_test_set",
    # tonic
    "to_tonic_events",
    "from_tonic_events",
    "tonic_transform",
    # files
    "download_url",
    "extract_archive",
    "md5sum",
    "check_md5",
    "build_cache",
    "cache_dir_name",
    # static data sets
    "MNIST",
    "FashionMNIST",
    "load_idx",
    "write_idx",
    # neuromorphic data sets
    "NeuromorphicDataset",
    "ASLDVS",
    "CIFAR10DVS",
    "DVS128Gesture",
    "ESImageNet",
    "HARDVS",
    "NCaltech101",
    "NMNIST",
    "NAVGesture",
    "NAVGestureWalk",
    "NAVGestureSit",
    "SHD",
    "SpikingHeidelbergDigits",
    "DVSLip",
]
