"""IDX loader, MNIST / Fashion-MNIST, downloads with resume."""

import gzip
import hashlib
import io
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from jelly.datasets import (
    MNIST,
    ChecksumError,
    CorruptFileError,
    FashionMNIST,
    MissingDataError,
    load_idx,
    write_idx,
)
from jelly.datasets.download import download_url
from jelly.datasets.errors import DatasetError

REAL_MNIST = Path("/work/shared/data/mnist")


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    arr = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, arr)
    got = load_idx(path)
    assert got.dtype == arr.dtype and got.shape == arr.shape
    np.testing.assert_array_equal(got, arr)


def test_idx_byte_layout(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.array([[1, 2, 3]], dtype=np.int16))
    assert path.read_bytes() == bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 3, 0, 1, 0, 2, 0, 3])


@pytest.mark.parametrize(
    "data,match",
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x02ab", "wrong IDX magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x02ab", "unknown IDX type"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03ab", "truncated: shape"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x02abc", "trailing bytes"),
    ],
)
def test_idx_errors_name_the_file(tmp_path, data, match):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(CorruptFileError, match=match) as info:
        load_idx(path)
    assert str(path) in str(info.value)


def test_idx_truncated_gzip(tmp_path):
    path = tmp_path / "t.gz"
    write_idx(path, np.zeros((100, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(CorruptFileError, match="gzip"):
        load_idx(path)
    with pytest.raises(MissingDataError):
        load_idx(tmp_path / "absent.gz")


def write_fake_mnist(folder, n_train=50, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    data = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
        data[prefix] = (images, labels)
    return data


def test_synthetic_mnist_checksum_and_items(tmp_path):
    data = write_fake_mnist(tmp_path)
    with pytest.raises(ChecksumError, match="train-images-idx3-ubyte.gz"):
        MNIST(tmp_path)
    ds = MNIST(
        tmp_path, train=False, verify=False, transform=lambda x: x * 2, target_transform=lambda y: y + 100
    )
    images, labels = data["t10k"]
    assert len(ds) == 20
    x, y = ds[3]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32
    torch.testing.assert_close(x, torch.from_numpy(images[3]).float().unsqueeze(0) / 255 * 2)
    assert y == labels[3] + 100
    assert ds.data.dtype == torch.uint8 and ds.targets.tolist() == labels.tolist()


def test_checksum_of_recompressed_content_is_accepted(tmp_path, monkeypatch):
    data = write_fake_mnist(tmp_path)
    resources = dict(MNIST.resources)
    for name in resources:  # pretend the published content checksums are those of our files
        content = gzip.decompress((tmp_path / name).read_bytes())
        resources[name] = ("0" * 32, hashlib.md5(content).hexdigest())
    monkeypatch.setattr(MNIST, "resources", resources)
    ds = MNIST(tmp_path)
    assert len(ds) == len(data["train"][1])


def test_missing_files_message(tmp_path):
    with pytest.raises(MissingDataError) as info:
        MNIST(tmp_path / "nowhere")
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz" in msg and "https://" in msg and "download=True" in msg
    assert str(tmp_path / "nowhere") in msg


def test_torchvision_layout_and_wrong_shapes(tmp_path):
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    write_fake_mnist(raw)
    assert len(FashionMNIST(tmp_path, verify=False)) == 50
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.zeros(7, np.uint8))
    with pytest.raises(CorruptFileError, match="expected 20 labels"):
        FashionMNIST(tmp_path, train=False, verify=False)


@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason="real MNIST not available")
def test_real_mnist():
    train, test = MNIST(REAL_MNIST), MNIST(REAL_MNIST, train=False)
    assert (len(train), len(test)) == (60000, 10000)
    assert train.targets[:5].tolist() == [5, 0, 4, 1, 9]
    assert torch.bincount(test.targets).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    x, y = train[0]
    assert x.shape == (1, 28, 28) and 0.0 <= x.min() and x.max() <= 1.0 and y == 5


class FakeResponse(io.BytesIO):
    def __init__(self, data, status, headers):
        super().__init__(data)
        self.status = status
        self.headers = headers


class RangeServer:
    """Serves bytes, honouring Range; can die after ``fail_after`` bytes of a response."""

    def __init__(self, payload, honour_range=True, fail_after=None):
        self.payload, self.honour_range, self.fail_after = payload, honour_range, fail_after
        self.requests = []

    def __call__(self, request, timeout):
        rng = request.get_header("Range")
        self.requests.append(rng)
        start = int(rng.split("=")[1].rstrip("-")) if rng and self.honour_range else 0
        if start >= len(self.payload) and rng:
            raise urllib.error.HTTPError(request.full_url, 416, "Range Not Satisfiable", {}, None)
        body = self.payload[start:]
        headers = {"Content-Length": str(len(body))}
        status = 200
        if rng and self.honour_range:
            status, headers["Content-Range"] = (
                206,
                f"bytes {start}-{len(self.payload) - 1}/{len(self.payload)}",
            )
        response = FakeResponse(body, status, headers)
        if self.fail_after is not None:
            limit, self.fail_after = self.fail_after, None
            real_read = response.read

            def read(n=-1, _count=[0]):  # noqa: B006 (closure state)
                if _count[0] >= limit:
                    raise OSError("connection reset")
                chunk = real_read(min(n, limit - _count[0]) if n > 0 else limit)
                _count[0] += len(chunk)
                return chunk

            response.read = read
        return response


def test_download_resumes_with_range(tmp_path):
    payload = bytes(range(256)) * 1000
    md5 = hashlib.md5(payload).hexdigest()
    server = RangeServer(payload, fail_after=100_000)
    target = tmp_path / "f.bin"
    with pytest.raises(DatasetError, match="interrupted"):
        download_url("http://x/f.bin", target, md5, opener=server, chunk_size=4096, progress=False)
    part = tmp_path / "f.bin.part"
    assert not target.exists() and part.stat().st_size == 100_000
    download_url("http://x/f.bin", target, md5, opener=server, chunk_size=4096, progress=False)
    assert target.read_bytes() == payload and not part.exists()
    assert server.requests == [None, "bytes=100000-"]


def test_download_restarts_when_server_ignores_range(tmp_path):
    payload = b"abc" * 1000
    (tmp_path / "f.part").write_bytes(b"garbage!")
    server = RangeServer(payload, honour_range=False)
    download_url(
        "http://x/f", tmp_path / "f", hashlib.md5(payload).hexdigest(), opener=server, progress=False
    )
    assert (tmp_path / "f").read_bytes() == payload


def test_download_complete_part_and_bad_checksum(tmp_path):
    payload = b"xyz" * 10
    (tmp_path / "g.part").write_bytes(payload)  # complete already: server answers 416
    download_url(
        "http://x/g",
        tmp_path / "g",
        hashlib.md5(payload).hexdigest(),
        opener=RangeServer(payload),
        progress=False,
    )
    assert (tmp_path / "g").read_bytes() == payload
    with pytest.raises(ChecksumError):
        download_url("http://x/h", tmp_path / "h", "0" * 32, opener=RangeServer(payload), progress=False)
    assert not (tmp_path / "h").exists() and not (tmp_path / "h.part").exists()


def test_download_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello" * 100)
    out = download_url(
        src.as_uri(), tmp_path / "out" / "dst.bin", hashlib.md5(src.read_bytes()).hexdigest(), progress=False
    )
    assert out.read_bytes() == src.read_bytes()
    with pytest.raises(DatasetError, match="failed"):
        download_url((tmp_path / "absent").as_uri(), tmp_path / "z", None, progress=False)


def test_mnist_download(tmp_path, monkeypatch):
    src = tmp_path / "mirror"
    src.mkdir()
    write_fake_mnist(src)
    resources = {name: (hashlib.md5((src / name).read_bytes()).hexdigest(), "-") for name in MNIST.resources}
    monkeypatch.setattr(MNIST, "resources", resources)
    monkeypatch.setattr(MNIST, "mirrors", ("http://dead.invalid/", src.as_uri() + "/"))
    import jelly.datasets.static as static

    real = static.download_url

    def no_network(url, *args, **kwargs):
        if url.startswith("http://"):
            raise DatasetError("offline")
        return real(url, *args, progress=False, **kwargs)

    monkeypatch.setattr(static, "download_url", no_network)
    ds = MNIST(tmp_path / "root", download=True)
    assert len(ds) == 50 and (tmp_path / "root" / "train-images-idx3-ubyte.gz").is_file()
