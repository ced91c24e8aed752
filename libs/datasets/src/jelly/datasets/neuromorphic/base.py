"""The base class of the neuromorphic data sets: files → events cache → frames cache → samples.

On-disk layout under ``root`` (the names ``download`` and ``extract`` are SpikingJelly's, so
its downloaded and extracted files can be reused)::

    root/download/            the published files (archives), checked against their MD5
    root/extract/             their extracted content (renamed from extract.partial when done)
    root/events_v1_.../       one .npz per sample (t, x, y, p) + manifest.json
    root/frames_v1_.../       one .npz per sample (frames) + manifest.json, keyed by T, split,
                              duration or function, sensor size and algorithm versions

Each stage is built in a ``.partial`` sibling and renamed when complete (see
:mod:`jelly.datasets.cache`), so an interrupted run resumes and never leaves a folder that
looks complete. A later stage that exists makes the earlier ones unnecessary (you may delete
``download``/``extract`` once the caches you use are built).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch

from ..cache import (
    CACHE_FORMAT_VERSION,
    atomic_save_npz,
    atomic_write_bytes,
    build_cache,
    cache_dir_name,
    load_npz,
    read_manifest,
)
from ..download import check_md5, download_url, extract_archive
from ..errors import CorruptFileError, MissingDataError
from ..events import make_events
from ..frames import (
    FRAMES_ALGORITHM_VERSION,
    SPLIT_BY,
    apply_custom_integration,
    integrate_events_by_fixed_duration,
    integrate_events_to_frames,
)

__all__ = ["Resource", "Source", "NeuromorphicDataset", "natural_key", "DEFAULT_TRAIN"]

DEFAULT_TRAIN: Any = type("DefaultTrain", (), {"__repr__": lambda self: "<default>"})()
"""Default of ``train``: ``True`` for data sets with an official split, ``None`` otherwise."""

_CHUNK = 32  # samples per cache task: resume granularity and process-pool batching


@dataclass(frozen=True)
class Resource:
    """A published file of a data set.

    Attributes:
        filename: Name under ``root/download``.
        url: Where to get it (a direct link when ``downloadable``, else a web page).
        md5: Published MD5 (hex), or ``None`` where none is published.
        required: ``False`` for files that are not needed to build the data set (read-me...).
    """

    filename: str
    url: str
    md5: str | None
    required: bool = True


class Source(NamedTuple):
    """One file (or one part of a file) of the extracted data that yields samples.

    Attributes:
        key: Unique name (used to resume).
        split: ``'train'``, ``'test'``, ``'val'`` or ``'all'``.
        label: Class index, or ``-1`` when the file holds several labels (read from it).
        path: Path relative to the extract folder.
        extra: Anything else the data set's reader needs (must be JSON/pickle friendly).
    """

    key: str
    split: str
    label: int
    path: str
    extra: Any = None


def natural_key(text: str) -> list[Any]:
    """Sort key that orders embedded numbers numerically (``img2`` before ``img10``)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _events_task(payload: tuple[Any, str, list[Source]], partial: Path) -> list[dict[str, Any]]:
    """Cache worker: read sources and store one events ``.npz`` per sample (atomically)."""
    cls, extract_dir, sources = payload
    entries = []
    for source in sources:
        for split, label, name, events in cls._read_source(Path(extract_dir), source):
            rel = f"{split}/{label}/{name}.npz"
            ev = make_events(events["t"], events["x"], events["y"], events["p"])
            atomic_save_npz(partial / rel, compressed=False, **ev)
            entries.append({"split": split, "label": int(label), "file": rel, "n": int(ev["t"].shape[0])})
    return entries


def _frames_task(payload: tuple[Any, str, list[dict[str, Any]], dict[str, Any]], partial: Path) -> list[dict]:
    """Cache worker: integrate events samples into frames, one ``.npz`` per sample (atomically)."""
    cls, events_dir, entries, params = payload
    H, W = cls.get_H_W()
    out = []
    for entry in entries:
        rel = entry.get("file") or f"{entry['split']}/{entry['label']}/{Path(entry['raw']).stem}.npz"
        target = partial / rel
        if not target.is_file():  # done before a crash: keep (written atomically)
            events = cls._load_entry_events(Path(events_dir), entry)
            if params["mode"] == "number":
                frames = integrate_events_to_frames(events, H, W, params["frames_number"], params["split_by"])
            elif params["mode"] == "duration":
                frames = integrate_events_by_fixed_duration(events, H, W, params["duration"])
            else:
                frames = apply_custom_integration(params["function"], events, H, W)
            atomic_save_npz(target, compressed=True, frames=cls._finish_frames(frames))
        out.append({"split": entry["split"], "label": int(entry["label"]), "file": rel})
    return out


class NeuromorphicDataset(torch.utils.data.Dataset):
    """Base class of the neuromorphic data sets (SpikingJelly's user-facing API).

    Items are ``(sample, label)``: with ``data_type='event'`` the sample is a dict of numpy
    arrays ``t`` (µs, int64), ``x``, ``y`` (int16), ``p`` (uint8, 0/1); with
    ``data_type='frame'`` it is a ``float32`` array ``[T, 2, H, W]`` of event counts. Labels
    are the class index in :attr:`classes` (the data set's own numeric id where it has one).

    Args:
        root: Folder of the data set (see the module docstring for its layout).
        train: ``True``/``False`` for the official training/test split (default ``True``, as
            SpikingJelly); ``None`` for the whole data set, the default and only choice for data
            sets without an official split (cut them with
            :func:`jelly.datasets.split_to_train_test_set`).
        data_type: ``'event'`` or ``'frame'``.
        frames_number: Number of frames ``T`` (with ``split_by``).
        split_by: ``'number'`` or ``'time'`` (see :mod:`jelly.datasets.frames`).
        duration: Frame duration in µs (variable number of frames per sample).
        custom_integrate_function: ``f(events, H, W) -> frames``; must be a module-level
            function to run in worker processes.
        custom_integrated_frames_dir_name: Cache folder name for the custom function (default:
            derived from the function's module and name).
        transform: Applied to the sample.
        target_transform: Applied to the label.
        download: Download missing files where the data set allows it.
        verify: Check the MD5 of the published files before extracting them.
        num_workers: Processes used to build the caches (``None``: up to 8, ``0``: none).
        split: Name of the split for data sets with more than two (e.g. ``'val'``); overrides
            ``train``.

    Raises:
        MissingDataError: If files are missing and cannot be downloaded (the message gives the
            URLs and the target paths).
        ChecksumError: If a published file does not match its MD5.
        CorruptFileError: If a file is truncated or malformed (names the file).
        ValueError: On inconsistent arguments.
    """

    # --- class-level description (overridden by every data set) ---
    name: ClassVar[str] = ""
    homepage: ClassVar[str] = ""
    license: ClassVar[str] = "see the homepage"
    sensor_size: ClassVar[tuple[int, int, int]] = (0, 0, 2)
    """tonic's convention ``(W, H, polarities)``; :meth:`get_H_W` gives SpikingJelly's ``(H, W)``."""
    classes: ClassVar[tuple[str, ...]] = ()
    sample_counts: ClassVar[dict[str, int]] = {}
    splits: ClassVar[tuple[str, ...]] = ()
    resources: ClassVar[tuple[Resource, ...]] = ()
    downloadable: ClassVar[bool] = False
    manual_download: ClassVar[str] = ""
    events_version: ClassVar[int] = 1
    time_unit: ClassVar[str] = "us"
    direct_events: ClassVar[bool] = False
    """True when the extracted files are already one small file per sample (read in place)."""

    def __init__(
        self,
        root: str | os.PathLike,
        train: Any = DEFAULT_TRAIN,
        data_type: str = "event",
        frames_number: int | None = None,
        split_by: str | None = None,
        duration: int | None = None,
        custom_integrate_function: Callable[..., Any] | None = None,
        custom_integrated_frames_dir_name: str | None = None,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        *,
        download: bool = False,
        verify: bool = True,
        num_workers: int | None = None,
        split: str | None = None,
    ) -> None:
        self.root = Path(root)
        if train is DEFAULT_TRAIN:
            train = True if self.splits else None
        self.split = self._resolve_split(train, split)
        self.train = {"train": True, "test": False}.get(self.split)
        self.data_type = data_type
        self.transform = transform
        self.target_transform = target_transform
        self.download, self.verify, self.num_workers = download, verify, num_workers
        self._frames_params = self._resolve_frames_params(
            data_type,
            frames_number,
            split_by,
            duration,
            custom_integrate_function,
            custom_integrated_frames_dir_name,
        )
        if data_type == "frame":
            frames_dir = self.root / self._frames_dir_name()
            if frames_dir.is_dir():
                manifest = read_manifest(frames_dir)
            else:
                manifest = self._build_frames(self._ensure_events(), frames_dir)
            self.cache_dir = frames_dir
        else:
            manifest = self._ensure_events()
            self.cache_dir = self.root / self._events_dir_name()
        self.entries = [e for e in manifest["entries"] if self.split == "all" or e["split"] == self.split]
        self.targets = [int(e["label"]) for e in self.entries]

    # ----- argument handling -----
    @classmethod
    def _resolve_split(cls, train: bool | None, split: str | None) -> str:
        if split is not None:
            if split not in cls.splits:
                raise ValueError(f"{cls.__name__}: split must be one of {cls.splits}, got {split!r}")
            return split
        if train is None:
            return "all"
        if not cls.splits:
            raise ValueError(
                f"{cls.__name__} has no official train/test split: pass train=None and cut it with "
                "jelly.datasets.split_to_train_test_set(train_ratio, dataset, num_classes)"
            )
        return "train" if train else "test"

    @staticmethod
    def _resolve_frames_params(
        data_type, frames_number, split_by, duration, function, dir_name
    ) -> dict[str, Any]:
        if data_type not in ("event", "frame"):
            raise ValueError(f"data_type must be 'event' or 'frame', got {data_type!r}")
        if data_type == "event":
            return {}
        given = [
            n
            for n, v in (
                ("frames_number", frames_number),
                ("duration", duration),
                ("custom_integrate_function", function),
            )
            if v is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "data_type='frame' needs exactly one of frames_number (with split_by), duration or "
                f"custom_integrate_function; got {given or 'none'}"
            )
        if frames_number is not None:
            if split_by not in SPLIT_BY:
                raise ValueError(f"frames_number needs split_by in {SPLIT_BY}, got {split_by!r}")
            if isinstance(frames_number, bool) or int(frames_number) != frames_number or frames_number <= 0:
                raise ValueError(f"frames_number must be a positive integer, got {frames_number!r}")
            return {"mode": "number", "frames_number": int(frames_number), "split_by": split_by}
        if duration is not None:
            if isinstance(duration, bool) or int(duration) != duration or duration <= 0:
                raise ValueError(f"duration must be a positive integer (µs), got {duration!r}")
            return {"mode": "duration", "duration": int(duration)}
        if not callable(function):
            raise ValueError("custom_integrate_function must be callable")
        name = (
            dir_name or f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', 'custom')}"
        )
        return {"mode": "custom", "function": function, "name": name, "explicit_name": dir_name is not None}

    # ----- class-level helpers (SpikingJelly compatible) -----
    @classmethod
    def get_H_W(cls) -> tuple[int, int]:
        """Sensor ``(height, width)`` (SpikingJelly's ``get_H_W``)."""
        return int(cls.sensor_size[1]), int(cls.sensor_size[0])

    @classmethod
    def resource_url_md5(cls) -> list[tuple[str, str, str | None]]:
        """``(filename, url, md5)`` of the published files (SpikingJelly's method)."""
        return [(r.filename, r.url, r.md5) for r in cls.resources]

    # ----- stage 1: files -----
    def _events_dir_name(self) -> str:
        return cache_dir_name("events", dataset=type(self).__name__, reader=self.events_version)

    def _frames_dir_name(self) -> str:
        p = self._frames_params
        H, W = self.get_H_W()
        common = {"dataset": type(self).__name__, "reader": self.events_version}
        if p["mode"] == "custom":
            if p["explicit_name"]:
                return p["name"]
            return cache_dir_name("frames", **common, custom=p["name"], sensor=(H, W))
        return cache_dir_name(
            "frames",
            **common,
            algo=FRAMES_ALGORITHM_VERSION,
            T=p.get("frames_number"),
            split_by=p.get("split_by"),
            duration=p.get("duration"),
            sensor=(H, W),
        )

    def _resources(self) -> tuple[Resource, ...]:
        """The published files this instance needs (default: the class's :attr:`resources`)."""
        return self.resources

    def _extract_dir(self) -> Path:
        """Where the extracted data live (``root/extract``)."""
        return self.root / "extract"

    def _ensure_downloads(self) -> Path:
        download_dir = self.root / "download"
        missing = [r for r in self._resources() if r.required and not (download_dir / r.filename).is_file()]
        if missing and self.download and self.downloadable:
            for r in missing:
                download_url(r.url, download_dir / r.filename, r.md5 if self.verify else None)
            missing = []
        if missing:
            lines = "\n".join(f"  - {r.url}\n    -> save as {download_dir / r.filename}" for r in missing)
            how = (
                f"pass download=True to fetch them, or download them by hand:\n{lines}"
                if self.downloadable
                else f"they cannot be downloaded automatically; download them by hand:\n{lines}"
            )
            extra = f"\n{self.manual_download}" if self.manual_download else ""
            raise MissingDataError(
                f"{type(self).__name__}: {len(missing)} file(s) missing in {download_dir} and no complete "
                f"{self._extract_dir()} folder; {how}{extra}",
                path=download_dir / missing[0].filename,
                url=missing[0].url,
            )
        return download_dir

    def _ensure_extract(self) -> Path:
        extract_dir = self._extract_dir()
        if extract_dir.is_dir():
            return extract_dir
        download_dir = self._ensure_downloads()
        if self.verify:
            for r in self._resources():
                if r.required:
                    check_md5(download_dir / r.filename, r.md5)
        partial = extract_dir.with_name(extract_dir.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)  # an interrupted extraction is redone
        try:
            self._extract(download_dir, partial)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        os.rename(partial, extract_dir)
        return extract_dir

    def _extract(self, download_dir: Path, extract_dir: Path) -> None:
        """Extract the downloaded files into ``extract_dir`` (default: every archive as is, other files copied)."""
        extract_dir.mkdir(parents=True, exist_ok=True)
        for r in self._resources():
            if not r.required:
                continue
            if r.filename.lower().endswith((".zip", ".tar", ".gz", ".tgz", ".rar", ".xz", ".bz2")):
                extract_archive(download_dir / r.filename, extract_dir)
            else:
                shutil.copy2(download_dir / r.filename, extract_dir / r.filename)

    # ----- stage 2: events -----
    def _ensure_events(self) -> dict[str, Any]:
        events_dir = self.root / self._events_dir_name()
        if events_dir.is_dir():
            return read_manifest(events_dir)
        extract_dir = self._ensure_extract()
        sources = self._sources(extract_dir)
        if not sources:
            raise CorruptFileError(extract_dir, "no samples found in the extracted data")
        meta = {"dataset": type(self).__name__, "reader": self.events_version}
        if self.direct_events:
            prefix = extract_dir.relative_to(self.root).as_posix()
            entries = [{"split": s.split, "label": s.label, "raw": f"{prefix}/{s.path}"} for s in sources]
            manifest = {"format": CACHE_FORMAT_VERSION, "meta": meta, "entries": entries}
            partial = events_dir.with_name(events_dir.name + ".partial")
            atomic_write_bytes(partial / "manifest.json", _json(manifest))
            os.rename(partial, events_dir)
            return read_manifest(events_dir)
        tasks = [
            (f"{i}:{chunk[0].key}", (type(self), str(extract_dir), chunk))
            for i, chunk in enumerate(_chunks(sources, _CHUNK))
        ]
        return build_cache(
            events_dir,
            tasks,
            _events_task,
            num_workers=self.num_workers,
            meta=meta,
            desc=f"{type(self).__name__}: events",
        )

    def _sources(self, extract_dir: Path) -> list[Source]:
        """List the sources of samples in the extracted data (every data set implements it)."""
        raise NotImplementedError

    @classmethod
    def _read_source(
        cls, extract_dir: Path, source: Source
    ) -> list[tuple[str, int, str, dict[str, np.ndarray]]]:
        """Read a source into ``(split, label, sample_name, events)`` samples (default: one file, one sample)."""
        return [
            (source.split, source.label, Path(source.path).stem, cls._read_file(extract_dir / source.path))
        ]

    @classmethod
    def _read_file(cls, path: Path) -> dict[str, np.ndarray]:
        """Read the events of one raw sample file (data sets with one file per sample)."""
        raise NotImplementedError

    @classmethod
    def _load_entry_events(cls, events_dir: Path, entry: dict[str, Any]) -> dict[str, np.ndarray]:
        if "raw" in entry:
            return cls._read_file(events_dir.parent / entry["raw"])
        data = load_npz(events_dir / entry["file"])
        return {k: data[k] for k in "txyp"}

    # ----- stage 3: frames -----
    def _build_frames(self, events_manifest: dict[str, Any], frames_dir: Path) -> dict[str, Any]:
        events_dir = self.root / self._events_dir_name()
        params = dict(self._frames_params)
        meta = {"dataset": type(self).__name__, **{k: v for k, v in params.items() if k != "function"}}
        tasks = [
            (
                f"{i}:{chunk[0].get('file') or chunk[0].get('raw')}",
                (type(self), str(events_dir), chunk, params),
            )
            for i, chunk in enumerate(_chunks(events_manifest["entries"], _CHUNK))
        ]
        return build_cache(
            frames_dir,
            tasks,
            _frames_task,
            num_workers=self.num_workers,
            meta=meta,
            desc=f"{type(self).__name__}: frames",
        )

    @classmethod
    def _finish_frames(cls, frames: np.ndarray) -> np.ndarray:
        """Last touch on integrated frames before caching (e.g. SHD drops the polarity axis)."""
        return np.asarray(frames, dtype=np.float32) if np.asarray(frames).dtype.kind == "f" else frames

    # ----- samples -----
    def __len__(self) -> int:
        return len(self.entries)

    def load_sample(self, index: int) -> Any:
        """The untransformed sample ``index`` (events dict or frames array)."""
        entry = self.entries[index]
        if self.data_type == "frame":
            return load_npz(self.cache_dir / entry["file"])["frames"]
        return self._load_entry_events(self.cache_dir, entry)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        sample = self.load_sample(index)
        label: Any = self.targets[index]
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return sample, label

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(root={str(self.root)!r}, split={self.split!r}, "
            f"data_type={self.data_type!r}, samples={len(self)})"
        )

    # ----- helpers for subclasses -----
    @classmethod
    def _class_folder_sources(
        cls,
        base: Path,
        extract_dir: Path,
        split: str,
        suffix: str,
        folder_to_label: dict[str, int] | None = None,
    ) -> list[Source]:
        """Sources of a ``base/<class folder>/<sample><suffix>`` layout (one folder per class).

        Raises:
            CorruptFileError: If a class folder is missing or holds no sample.
        """
        mapping = (
            folder_to_label if folder_to_label is not None else {c: i for i, c in enumerate(cls.classes)}
        )
        if not base.is_dir():
            raise CorruptFileError(base, f"folder missing from the extracted data of {cls.__name__}")
        sources = []
        for folder, label in sorted(mapping.items(), key=lambda kv: kv[1]):
            class_dir = base / folder
            if not class_dir.is_dir():
                raise CorruptFileError(class_dir, f"class folder {folder!r} missing from the extracted data")
            files = sorted(
                (f for f in class_dir.iterdir() if f.name.endswith(suffix) and f.is_file()),
                key=lambda f: natural_key(f.name),
            )
            if not files:
                raise CorruptFileError(
                    class_dir,
                    f"class folder {folder!r} holds no {suffix} file "
                    "(incomplete extraction or damaged archive)",
                )
            for f in files:
                rel = f.relative_to(extract_dir).as_posix()
                sources.append(Source(key=rel, split=split, label=label, path=rel))
        return sources


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _json(obj: Any) -> bytes:
    return json.dumps(obj).encode()
