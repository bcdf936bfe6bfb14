"""On-disk thumbnail cache under <data-dir>/thumbnails, bounded in size.

The cache shares its disk with the store: left to grow, a workstation's thumbnails (a few
KB per instance, millions of instances) would fill the disk the receiver needs, and a full
disk refuses images (0xA700). Past MAX_BYTES the least recently used thumbnails go.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from intu_desktop.thumbnails.model import KINDS, Rendered
from intu_desktop.thumbnails.render import render_thumbnail

log = logging.getLogger(__name__)

# Bump when rendering changes so old thumbnails are not shown again.
FORMAT_VERSION = 1
# Failed renders are remembered in memory only: a decoder installed later, or a
# fixed bug, gets a fresh try on the next start.
_FAILURE_MEMORY = 4096
# Past this size the least recently used thumbnails are deleted, down to PRUNE_TO of it.
MAX_BYTES = 512 * 1024 * 1024
PRUNE_TO = 0.8

Renderer = Callable[[Path, int], Rendered]


class ThumbnailCache:
    """Renders once per (instance, file version, size) and keeps the result as .npz.

    The file name is a hash of the SOP Instance UID, the file's size and mtime and
    the thumbnail size: it never carries a patient value, and a replaced file (new
    revision) gets a new thumbnail. Safe to use from several worker threads.
    """

    def __init__(self, directory: Path, renderer: Renderer = render_thumbnail, *,
                 max_bytes: int = MAX_BYTES) -> None:
        self.directory = Path(directory)
        self._render = renderer
        self._failures: OrderedDict[str, Rendered] = OrderedDict()
        self._lock = threading.Lock()
        self.max_bytes = max_bytes
        self._bytes: int | None = None  # the cache's size on disk, counted at the first store
        self._pruning = False  # one pruner at a time; other render threads go on rendering

    def get_or_render(self, path: Path, sop_instance_uid: str, size: int = 128) -> Rendered:
        try:
            stat = Path(path).stat()
        except OSError as exc:
            return Rendered(None, "other", "", f"cannot read file: {exc.strerror or exc}")
        key = cache_key(sop_instance_uid, stat.st_size, stat.st_mtime_ns, size)
        with self._lock:
            failed = self._failures.get(key)
        if failed is not None:
            return failed
        cached = self._load(self._file(key))
        if cached is not None:
            with contextlib.suppress(OSError):
                os.utime(self._file(key))  # recently used: pruned last
            return cached
        rendered = self._render(Path(path), size)
        if rendered.error is None:
            self._added(self._store(self._file(key), rendered))
        else:
            with self._lock:
                self._failures[key] = rendered
                while len(self._failures) > _FAILURE_MEMORY:
                    self._failures.popitem(last=False)
        return rendered

    def clear(self) -> None:
        """Delete every cached thumbnail (e.g. from a 'clear cache' menu item)."""
        with self._lock:
            self._failures.clear()
            self._bytes = 0
        for file in self._files():
            _discard(file)

    def _files(self) -> list[Path]:
        """The cached thumbnails (not the temporary files being written beside them)."""
        return [file for file in self.directory.glob("*/*.npz") if not file.name.startswith(".tmp-")]

    def prune(self) -> int:
        """Delete the least recently used thumbnails until the cache is PRUNE_TO of its
        maximum; return how many went. Runs on the render thread whose store passed the cap
        (one at a time: the others go on rendering); the sizes are counted afresh each time."""
        entries = []
        for file in self._files():
            with contextlib.suppress(OSError):
                stat = file.stat()
                entries.append((stat.st_mtime_ns, stat.st_size, file))
        total = sum(size for _mtime, size, _file in entries)
        target = int(self.max_bytes * PRUNE_TO)
        removed = 0
        for _mtime, size, file in sorted(entries, key=lambda entry: entry[0]):
            if total <= target:
                break
            _discard(file)
            total -= size
            removed += 1
        with self._lock:
            self._bytes = total
        if removed:
            log.info("thumbnail cache: removed %d least recently used thumbnails", removed)
        return removed

    def _added(self, size: int) -> None:
        with self._lock:
            known = self._bytes
            if known is not None:
                self._bytes = known + size
            # The first store counts the cache on disk; later, only past the cap.
            due = (known is None or known + size > self.max_bytes) and not self._pruning
            if due:
                self._pruning = True
        if due:
            try:
                self.prune()
            finally:
                with self._lock:
                    self._pruning = False

    def _file(self, key: str) -> Path:
        # Two-character fan-out keeps directories small with 100,000s of instances.
        return self.directory / key[:2] / f"{key}.npz"

    def _load(self, file: Path) -> Rendered | None:
        try:
            # Open the file ourselves: np.load leaks its handle on a corrupt archive.
            with open(file, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                kind = str(data["kind"])
                summary = str(data["summary"])
                pixels = data["pixels"] if "pixels" in data.files else None
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            log.info("discarding unreadable cached thumbnail %s", file.name)
            _discard(file)
            return None
        if kind not in KINDS or (pixels is not None and not _valid_pixels(pixels)):
            _discard(file)
            return None
        return Rendered(np.ascontiguousarray(pixels) if pixels is not None else None, kind, summary)

    def _store(self, file: Path, rendered: Rendered) -> int:
        """Write the thumbnail; return its size on disk (0 when it could not be written)."""
        arrays: dict[str, Any] = {
            "kind": np.array(rendered.kind),
            "summary": np.array(rendered.summary),
        }
        if rendered.pixels is not None:
            arrays["pixels"] = rendered.pixels
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file.
            fd, temp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as out:
                    np.savez_compressed(out, **arrays)
                os.replace(temp, file)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
            return file.stat().st_size
        except OSError as exc:
            # A full or read-only disk costs only the cache, never the thumbnail.
            log.warning("cannot write thumbnail cache: %s", exc.strerror or type(exc).__name__)
            return 0


def cache_key(sop_instance_uid: str, file_size: int, mtime_ns: int, size: int) -> str:
    text = f"v{FORMAT_VERSION}\0{sop_instance_uid}\0{file_size}\0{mtime_ns}\0{size}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _discard(file: Path) -> None:
    with contextlib.suppress(OSError):
        file.unlink(missing_ok=True)


def _valid_pixels(pixels: np.ndarray) -> bool:
    return pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
