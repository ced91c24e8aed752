"""Static image data sets stored as IDX files: MNIST and Fashion-MNIST.

The IDX format (big-endian): two zero bytes, a type byte (``0x08`` uint8, ``0x09`` int8,
``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), a byte giving the number of
dimensions ``d``, ``d`` uint32 sizes, then the values in C order.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from .download import download_url
from .errors import ChecksumError, CorruptFileError, MissingDataError

__all__ = ["load_idx", "write_idx", "MNIST", "FashionMNIST"]

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise CorruptFileError(path, f"corrupt or truncated gzip stream ({e})") from e


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed: name ending in ``.gz``).

    Args:
        path: The ``.idx``/``-ubyte`` file or its ``.gz``.

    Returns:
        A numpy array with the stored shape and dtype (native byte order).

    Raises:
        MissingDataError: If the file does not exist.
        CorruptFileError: On a wrong magic number, an unknown type code, a truncated file or
            trailing bytes (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"IDX file {path} does not exist", path=path)
    return _parse_idx(_read_bytes(path), path)


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Parse the bytes of an IDX file (``path`` only names it in errors)."""
    if len(data) < 4:
        raise CorruptFileError(path, f"too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise CorruptFileError(path, f"wrong IDX magic number {data[:4].hex()} (must start with 0000)")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise CorruptFileError(path, f"unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptFileError(
            path, f"truncated header: {ndim} dimensions need {header} bytes, file has {len(data)}"
        )
    shape = tuple(int(s) for s in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise CorruptFileError(
            path, f"truncated: shape {shape} of {dtype.name} needs {expected} bytes, file has {len(data)}"
        )
    if len(data) > expected:
        raise CorruptFileError(path, f"{len(data) - expected} unexpected trailing bytes after shape {shape}")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as an IDX file (gzip-compressed if the name ends in ``.gz``).

    Args:
        path: Destination.
        array: uint8, int8, int16, int32, float32 or float64 array.

    Raises:
        ValueError: On an unsupported dtype.
    """
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}
    if array.dtype.newbyteorder("=") not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    code = codes[array.dtype.newbyteorder("=")]
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=np.dtype(_IDX_TYPES[code])).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)


class MNIST(torch.utils.data.Dataset):
    """The MNIST handwritten digits (60 000 training and 10 000 test images, 28 x 28, 10 classes).

    The four standard files (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``) are looked up in ``root`` and,
    for torchvision compatibility, in ``root/<ClassName>/raw``. Each file is accepted if the MD5
    of the ``.gz`` matches the published one or, for re-compressed copies, if the MD5 of its
    decompressed content matches the published content checksum.

    Items are ``(image, label)``: ``image`` a ``float32`` tensor ``[1, 28, 28]`` in ``[0, 1]``
    (then passed through ``transform``), ``label`` an ``int`` (through ``target_transform``).
    The whole split is also available as ``data`` (``uint8 [N, 28, 28]``) and ``targets``
    (``int64 [N]``) for fast full-batch use.

    Args:
        root: Folder holding (or receiving) the four ``.gz`` files.
        train: Training split if ``True``, test split otherwise.
        transform: Applied to the image tensor.
        target_transform: Applied to the label.
        download: Download missing files (with progress and resume) from the mirrors.
        verify: Check the MD5 checksums (about 50 ms for MNIST).

    Raises:
        MissingDataError: If a file is absent and ``download`` is ``False`` (the message gives
            the URL and the target path).
        ChecksumError: If a file does not match its published checksum.
        CorruptFileError: If a file cannot be parsed.
    """

    mirrors: ClassVar[tuple[str, ...]] = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )
    resources: ClassVar[dict[str, tuple[str, str]]] = {
        # file: (md5 of the .gz as published, md5 of the decompressed content)
        "train-images-idx3-ubyte.gz": (
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "6bbc9ace898e44ae57da46a324031adb",
        ),
        "train-labels-idx1-ubyte.gz": (
            "d53e105ee54ea40749a09fcbcd1e9432",
            "a25bea736e30d166cdddb491f175f624",
        ),
        "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
        "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
    }
    classes: ClassVar[tuple[str, ...]] = tuple(str(i) for i in range(10))
    sample_counts: ClassVar[dict[str, int]] = {"train": 60000, "test": 10000}
    image_size: ClassVar[tuple[int, int]] = (28, 28)
    license: ClassVar[str] = "CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. J. C. Burges)"

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable[[torch.Tensor], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        download: bool = False,
        verify: bool = True,
    ) -> None:
        self.root = Path(root)
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if self.train else "t10k"
        images_path = self._locate(f"{prefix}-images-idx3-ubyte.gz", download)
        labels_path = self._locate(f"{prefix}-labels-idx1-ubyte.gz", download)
        images, labels = self._load(images_path, verify), self._load(labels_path, verify)
        if images.ndim != 3 or images.shape[1:] != self.image_size or images.dtype != np.uint8:
            raise CorruptFileError(
                images_path, f"expected uint8 images [N, 28, 28], got {images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise CorruptFileError(
                labels_path, f"expected {images.shape[0]} labels, got shape {labels.shape}"
            )
        if labels.size and labels.max() >= len(self.classes):
            raise CorruptFileError(
                labels_path, f"label {labels.max()} out of range [0, {len(self.classes) - 1}]"
            )
        self.data = torch.from_numpy(images.copy())
        self.targets = torch.from_numpy(labels.astype(np.int64))

    def _candidates(self, name: str) -> list[Path]:
        return [self.root / name, self.root / type(self).__name__ / "raw" / name]

    def _load(self, path: Path, verify: bool) -> np.ndarray:
        """Read, verify (``.gz`` MD5, else content MD5) and parse one file, decompressing once."""
        raw = path.read_bytes()
        try:
            data = gzip.decompress(raw)
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise CorruptFileError(path, f"corrupt or truncated gzip stream ({e})") from e
        if verify:
            gz_md5, content_md5 = self.resources[path.name]
            actual = hashlib.md5(raw, usedforsecurity=False).hexdigest()
            if actual != gz_md5:
                content = hashlib.md5(data, usedforsecurity=False).hexdigest()
                if content != content_md5:
                    raise ChecksumError(
                        path, f"{gz_md5} (or content {content_md5})", f"{actual} (content {content})"
                    )
        return _parse_idx(data, path)

    def _locate(self, name: str, download: bool) -> Path:
        for path in self._candidates(name):
            if path.is_file():
                return path
        target = self.root / name
        if not download:
            raise MissingDataError(
                f"{type(self).__name__}: {name} not found in {self.root} (nor in {self._candidates(name)[1].parent}). "
                f"Pass download=True, or download {self.mirrors[0]}{name} and save it as {target}.",
                path=target,
                url=self.mirrors[0] + name,
            )
        errors = []
        for mirror in self.mirrors:
            try:
                return download_url(mirror + name, target, self.resources[name][0])
            except ChecksumError:
                raise
            except Exception as e:  # noqa: BLE001 (try the next mirror)
                errors.append(f"{mirror}{name}: {e}")
        raise MissingDataError(
            f"{type(self).__name__}: could not download {name} to {target}:\n  " + "\n  ".join(errors),
            path=target,
            url=self.mirrors[0] + name,
        )

    def __len__(self) -> int:
        return int(self.targets.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image: Any = self.data[index].unsqueeze(0).to(torch.float32).div_(255.0)
        label: Any = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"{type(self).__name__}(root={str(self.root)!r}, split={split!r}, samples={len(self)})"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (60 000 + 10 000 images of clothes, 28 x 28, 10 classes).

    Same files, layout and behaviour as :class:`MNIST` (see there for the arguments).
    """

    mirrors: ClassVar[tuple[str, ...]] = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    resources: ClassVar[dict[str, tuple[str, str]]] = {
        "train-images-idx3-ubyte.gz": (
            "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        ),
        "train-labels-idx1-ubyte.gz": (
            "25c81989df183df01b3e8a0aad5dffbe",
            "9018921c3c673c538a1fc5bad174d6f9",
        ),
        "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
        "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
    }
    classes: ClassVar[tuple[str, ...]] = (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
    license: ClassVar[str] = "MIT (Zalando SE)"
