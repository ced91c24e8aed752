"""The neuromorphic data sets (SpikingJelly's user-facing API) and their base class."""

from .atis_datasets import NMNIST, NCaltech101
from .base import NeuromorphicDataset, Resource, Source
from .dvs_datasets import CIFAR10DVS, DVS128Gesture, NAVGesture, NAVGestureSit, NAVGestureWalk
from .npz_mat_datasets import ASLDVS, HARDVS, DVSLip, ESImageNet
from .shd import SHD, SpikingHeidelbergDigits

__all__ = [
    "NeuromorphicDataset",
    "Resource",
    "Source",
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
