"""Exceptions raised by :mod:`jelly.datasets`.

Every error names the file or folder concerned, so a user can find and fix the problem.
"""

from __future__ import annotations

import os

__all__ = ["DatasetError", "CorruptFileError", "MissingDataError", "ChecksumError"]


class DatasetError(Exception):
    """Base class of every error raised by :mod:`jelly.datasets`."""


class CorruptFileError(DatasetError):
    """A file exists but cannot be read: truncated, wrong header, impossible values.

    Args:
        path: The offending file.
        reason: What is wrong with it.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MissingDataError(DatasetError):
    """A file or folder the user must provide is absent.

    The message says where to get it (URL) and where to put it (target path).

    Args:
        message: The full explanation (should contain the URL and the target path).
        path: The missing file or folder, if a single one.
        url: Where the data can be obtained, if known.
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None, url: str | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        self.url = url
        super().__init__(message)


class ChecksumError(DatasetError):
    """A file's checksum does not match the published one.

    Args:
        path: The file checked.
        expected: The published checksum (hex).
        actual: The checksum computed from the file (hex).
    """

    def __init__(self, path: str | os.PathLike, expected: str, actual: str) -> None:
        self.path = os.fspath(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{self.path}: checksum mismatch (expected md5 {expected}, got {actual}); "
            "the file is corrupt or incomplete: delete it and download it again"
        )
