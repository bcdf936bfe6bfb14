"""On-disk thumbnail cache under <data-dir>/thumbnails."""

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

Renderer = Callable[[Path, int], Rendered]


class ThumbnailCache:
    """Renders once per (instance, file version, size) and keeps the result as .npz.

    The file name is a hash of the SOP Instance UID, the file's size and mtime and
    the thumbnail size: it never carries a patient value, and a replaced file (new
    revision) gets a new thumbnail. Safe to use from several worker threads.
    """

    def __init__(self, directory: Path, renderer: Renderer = render_thumbnail) -> None:
        self.directory = Path(directory)
        self._render = renderer
        self._failures: OrderedDict[str, Rendered] = OrderedDict()
        self._lock = threading.Lock()

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
            return cached
        rendered = self._render(Path(path), size)
        if rendered.error is None:
            self._store(self._file(key), rendered)
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
        for file in self.directory.glob("*/*.npz"):
            _discard(file)

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

    def _store(self, file: Path, rendered: Rendered) -> None:
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
        except OSError as exc:
            # A full or read-only disk costs only the cache, never the thumbnail.
            log.warning("cannot write thumbnail cache: %s", exc.strerror or type(exc).__name__)


def cache_key(sop_instance_uid: str, file_size: int, mtime_ns: int, size: int) -> str:
    text = f"v{FORMAT_VERSION}\0{sop_instance_uid}\0{file_size}\0{mtime_ns}\0{size}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _discard(file: Path) -> None:
    with contextlib.suppress(OSError):
        file.unlink(missing_ok=True)


def _valid_pixels(pixels: np.ndarray) -> bool:
    return pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
