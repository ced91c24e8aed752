"""Readers and writers of the on-disk formats of the neuromorphic data sets.

Each format lives in its own module (``read_<format>`` / ``write_<format>``); this package
re-exports their public names:

=====================  ==================================  ==========================
module                 format                              data sets
=====================  ==================================  ==========================
``atis_bin``           ATIS 40-bit ``.bin``                N-MNIST, N-Caltech101
``prophesee_dat``      ATIS / Prophesee ``.dat``           Nav Gesture
``aedat2``             AEDAT 2.0                           CIFAR10-DVS
``aedat31``            AEDAT 3.1                           DVS128 Gesture
``dvs_gesture_labels`` ``*_labels.csv``                    DVS128 Gesture
``asl_dvs_mat``        MATLAB ``.mat``                     ASL-DVS
``es_imagenet_npz``    ``.npz`` (pos/neg)                  ES-ImageNet
``hardvs``             ``.npz`` (t, x, y, p) + split files HARDVS
``shd_hdf5``           HDF5                                SHD
``dvs_lip_npy``        ``.npy`` structured array           DVS-Lip
=====================  ==================================  ==========================

The HDF5 and MATLAB readers import ``h5py`` / ``scipy`` only when called.
"""

from . import (
    aedat2,
    aedat31,
    asl_dvs_mat,
    atis_bin,
    dvs_gesture_labels,
    dvs_lip_npy,
    es_imagenet_npz,
    hardvs,
    prophesee_dat,
    shd_hdf5,
)
from .aedat2 import *  # noqa: F403
from .aedat31 import *  # noqa: F403
from .asl_dvs_mat import *  # noqa: F403
from .atis_bin import *  # noqa: F403
from .dvs_gesture_labels import *  # noqa: F403
from .dvs_lip_npy import *  # noqa: F403
from .es_imagenet_npz import *  # noqa: F403
from .hardvs import *  # noqa: F403
from .prophesee_dat import *  # noqa: F403
from .shd_hdf5 import *  # noqa: F403

_MODULES = (
    aedat2,
    aedat31,
    asl_dvs_mat,
    atis_bin,
    dvs_gesture_labels,
    dvs_lip_npy,
    es_imagenet_npz,
    hardvs,
    prophesee_dat,
    shd_hdf5,
)
__all__ = [name for module in _MODULES for name in module.__all__]
