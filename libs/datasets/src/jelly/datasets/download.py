"""Downloads with progress and resume, checksums, and safe archive extraction.

A download goes to ``<target>.part`` and is renamed to ``<target>`` only once complete and
verified. An interrupted download is resumed with an HTTP ``Range`` request; a server that
ignores the range makes it start over.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .errors import ChecksumError, CorruptFileError, DatasetError

__all__ = ["md5sum", "check_md5", "download_url", "extract_archive", "ARCHIVE_SUFFIXES"]

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".gz", ".rar")
"""Archive kinds :func:`extract_archive` understands (``.rar`` needs the ``rarfile`` package)."""


def md5sum(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Return the hex MD5 digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def check_md5(path: str | os.PathLike, expected: str | None) -> None:
    """Raise :class:`ChecksumError` if the file's MD5 differs from ``expected`` (``None``: skip)."""
    if expected is None:
        return
    actual = md5sum(path)
    if actual != expected.lower():
        raise ChecksumError(path, expected, actual)


def _default_opener(request: urllib.request.Request, timeout: float) -> Any:
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (user-chosen URL)


def download_url(
    url: str,
    target: str | os.PathLike,
    md5: str | None = None,
    *,
    opener: Callable[[urllib.request.Request, float], Any] | None = None,
    chunk_size: int = 1 << 16,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``target`` with a progress bar, resuming a previous partial download.

    Bytes are appended to ``<target>.part``; when the server honours ``Range`` (HTTP 206),
    an existing ``.part`` is continued, otherwise it is restarted. Once the transfer is
    complete and the checksum matches, ``.part`` is renamed to ``target``.

    Args:
        url: Source URL (``http(s)://``, ``file://``...).
        target: Destination file.
        md5: Expected MD5 (hex) or ``None`` when none is published.
        opener: ``opener(request, timeout) -> response`` (default ``urllib.request.urlopen``);
            tests pass a fake one.
        chunk_size: Bytes per read.
        timeout: Socket timeout in seconds.
        progress: Show a tqdm progress bar.

    Returns:
        The path of the complete file.

    Raises:
        DatasetError: If the transfer fails or stops short (the ``.part`` file is kept for a
            later resume).
        ChecksumError: If the complete file has the wrong MD5 (the ``.part`` file is deleted).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    opener = opener or _default_opener
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "jelly-datasets"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = opener(request, timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing left to fetch: the part file is complete
            response = None
        else:
            raise DatasetError(f"download of {url} to {target} failed: HTTP {e.code} {e.reason}") from e
    except (urllib.error.URLError, OSError) as e:
        raise DatasetError(f"download of {url} to {target} failed: {e}") from e
    if response is not None:
        with response:
            status = getattr(response, "status", None) or getattr(response, "code", None)
            length = response.headers.get("Content-Length") if response.headers else None
            if status == 206:
                content_range = response.headers.get("Content-Range", "")
                if content_range and not content_range.startswith(f"bytes {have}-"):
                    raise DatasetError(
                        f"download of {url}: server answered range {content_range!r}, asked {have}-"
                    )
                mode, start = "ab", have
            else:
                mode, start = "wb", 0
            total = start + int(length) if length is not None else None
            done = start
            try:
                with (
                    open(part, mode) as f,
                    tqdm(
                        total=total,
                        initial=start,
                        unit="B",
                        unit_scale=True,
                        desc=target.name,
                        disable=not progress,
                    ) as bar,
                ):
                    while True:
                        block = response.read(chunk_size)
                        if not block:
                            break
                        f.write(block)
                        done += len(block)
                        bar.update(len(block))
            except OSError as e:
                raise DatasetError(
                    f"download of {url} to {target} interrupted after {done} bytes "
                    f"(kept {part} to resume): {e}"
                ) from e
            if total is not None and done != total:
                raise DatasetError(
                    f"download of {url} to {target} stopped at {done} of {total} bytes "
                    f"(kept {part}; call again to resume)"
                )
    try:
        check_md5(part, md5)
    except ChecksumError:
        part.unlink()
        raise
    os.replace(part, target)
    return target


def _safe_member_path(archive: Path, root: Path, name: str) -> Path:
    """Resolve an archive member path under ``root`` and refuse escapes (``..``, absolute)."""
    dest = (root / name).resolve()
    if os.path.isabs(name) or not (dest == root.resolve() or root.resolve() in dest.parents):
        raise CorruptFileError(archive, f"member {name!r} would be written outside the target folder")
    return dest


def _archive_kind(path: Path) -> str:
    name = path.name.lower()
    for suffix in (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar"):
        if name.endswith(suffix):
            return "tar"
    for suffix in (".zip", ".gz", ".rar"):
        if name.endswith(suffix):
            return suffix[1:]
    raise CorruptFileError(path, f"unknown archive type (known: {', '.join(ARCHIVE_SUFFIXES)})")


def extract_archive(archive: str | os.PathLike, target_dir: str | os.PathLike) -> list[Path]:
    """Extract a ``.zip``, ``.tar[.gz|.bz2|.xz]``, ``.tgz``, single-file ``.gz`` or ``.rar`` archive.

    Members are checked (CRC for zip, stream integrity for gz/tar) and may not escape
    ``target_dir``. The caller makes the extraction atomic (extract into a temporary folder,
    then rename).

    Args:
        archive: The archive file.
        target_dir: Folder to extract into (created if needed).

    Returns:
        The top-level paths written.

    Raises:
        CorruptFileError: If the archive is truncated, corrupt or unsafe (message names it).
        MissingDataError: If the file does not exist.
    """
    from .errors import MissingDataError

    archive, target_dir = Path(archive), Path(target_dir)
    if not archive.is_file():
        raise MissingDataError(f"archive {archive} does not exist", path=archive)
    target_dir.mkdir(parents=True, exist_ok=True)
    kind = _archive_kind(archive)
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                names = zf.namelist()
                for info in zf.infolist():
                    dest = _safe_member_path(archive, target_dir, info.filename)
                    if info.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        continue
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
        elif kind == "tar":
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for m in members:
                    _safe_member_path(archive, target_dir, m.name)
                    if m.issym() or m.islnk():
                        raise CorruptFileError(archive, f"member {m.name!r} is a link; refusing to extract")
                names = [m.name for m in members]
                tf.extractall(target_dir, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        elif kind == "gz":
            out_name = archive.name[: -len(".gz")]
            names = [out_name]
            with gzip.open(archive, "rb") as src, open(target_dir / out_name, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:  # rar
            try:
                import rarfile  # type: ignore[import-not-found]
            except ImportError as e:
                raise MissingDataError(
                    f"extracting {archive} needs the 'rarfile' package and an unrar tool "
                    "(pip install rarfile); or extract it by hand into "
                    f"{target_dir}",
                    path=archive,
                ) from e
            with rarfile.RarFile(archive) as rf:
                names = rf.namelist()
                for n in names:
                    _safe_member_path(archive, target_dir, n)
                rf.extractall(target_dir)
    except CorruptFileError:
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise CorruptFileError(
            archive,
            f"corrupt or truncated {kind} archive ({type(e).__name__}: {e}); delete it and download it again",
        ) from e
    except OSError as e:
        if "rarfile" in type(e).__module__:
            raise CorruptFileError(archive, f"corrupt rar archive: {e}") from e
        raise
    tops = sorted({n.replace("\\", "/").strip("/").split("/")[0] for n in names if n.strip("/")})
    return [target_dir / t for t in tops]
