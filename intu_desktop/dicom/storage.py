"""The on-disk store: DESIGN §2 layout, atomic placement, duplicate policy.

Received bytes land in a private temporary folder on the store's filesystem
(RELIABILITY 12); once complete they are fsynced and renamed into
``store/<study>/<series>/<sop>.dcm``. Nothing is ever visible half-written, and no
received value can steer a path outside the store (RELIABILITY 21).
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import logging
import os
import re
import shutil
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

log = logging.getLogger(__name__)

_UID_RE = re.compile(r"^[0-9]+(\.[0-9]+)*$")
DUPLICATE_POLICIES = ("keep_history", "keep_first", "replace")


def is_valid_uid(value: str) -> bool:
    """PS3.5 §9.1: digits and dots, components without leading zeros, at most 64 characters."""
    if not value or len(value) > 64 or not _UID_RE.match(value):
        return False
    return all(part == "0" or not part.startswith("0") for part in value.split("."))


def path_component(uid: str, missing: str = "unknown") -> str:
    """A UID safe to use as a folder or file name, or a stable hash of it when it is not a UID."""
    if not uid:
        return missing
    if is_valid_uid(uid):
        return uid
    digest = hashlib.sha256(uid.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return f"x-{digest}"


class StoreFull(OSError):
    """The store cannot take the object (disk full, read-only, quota)."""


@dataclass(frozen=True)
class StoreResult:
    path: Path
    outcome: str  # stored|duplicate|revision|replaced|kept_first
    size: int
    sha256: str = ""

    @property
    def moved(self) -> bool:
        """A file was renamed (or linked) into the folder: its entry must reach the disk."""
        return self.outcome in ("stored", "revision", "replaced")


def _raise_store_error(exc: OSError) -> NoReturn:
    """StoreFull for what a full or read-only store raises; anything else as it is."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        raise StoreFull(exc.errno, f"cannot write to the store: {exc.strerror}") from exc
    raise exc


def _load_sync_file_range() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    fn.restype = ctypes.c_int
    return fn


_SYNC_FILE_RANGE = _load_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2  # start writing dirty pages out; do not wait


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a range of a file to disk, without waiting (Linux).

    A large object's pages then travel to the disk while its later fragments arrive, and
    the fsync before the rename waits for the tail only (issue 9). Elsewhere a no-op.
    """
    if _SYNC_FILE_RANGE is not None:
        _SYNC_FILE_RANGE(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # a failure shows at fsync


# How long begin_sync waits for its fsync to reach the kernel before going on.
FSYNC_START_WAIT_S = 0.002


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path, under_way: threading.Event | None = None) -> None:
    try:
        fh = open(path, "rb+")
    finally:
        if under_way is not None:
            under_way.set()  # the fsync begins now (or the open failed: the future says why)
    with fh:
        os.fsync(fh.fileno())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _same_bytes(a: Path, b: Path) -> bool:
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            ca, cb = fa.read(1 << 20), fb.read(1 << 20)
            if ca != cb:
                return False
            if not ca:
                return True


class InstanceStore:
    def __init__(self, data_dir: Path, *, fsync: bool = True) -> None:
        self.root = (Path(data_dir) / "store").resolve()
        self.tmp_dir = (Path(data_dir) / "tmp").resolve()
        self.fsync = fsync
        self.root.mkdir(parents=True, exist_ok=True)
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.tmp_dir, 0o700)  # received data is PHI: private to this user
        # A received file's fsync runs here while the association's thread reads its header
        # (issue 9: the two took ~0.8 ms and ~0.6 ms per small object, one after the other).
        self._syncer = ThreadPoolExecutor(max_workers=4, thread_name_prefix="store-fsync")
        self._folders: set[Path] = set()  # series folders known to exist, durably

    def _ensure_folder(self, folder: Path) -> None:
        """Create a study/series folder once. A new folder's entry is fsynced in its parent:
        a file in a folder the disk does not know yet would not survive a power cut."""
        if folder in self._folders:
            return  # one mkdir() per object was ~0.1 ms (issue 9)
        for new in (folder.parent, folder):
            try:
                new.mkdir()
            except FileExistsError:
                continue
            if self.fsync:
                _fsync_dir(new.parent)
        if len(self._folders) > 10_000:
            self._folders.clear()
        self._folders.add(folder)

    def begin_sync(self, tmp_file: Path) -> Future[None] | None:
        """Start flushing a complete temporary file to disk; `place` waits for it.

        Returns once the fsync is under way: the pool's thread needs the interpreter lock to
        reach the system call, and the caller's header parsing holds it, so without the wait
        the fsync began only when `place` waited for it (issue 9: ~0.5 ms per large object).
        A busy pool (other associations' fsyncs) is waited for 2 ms at most.
        """
        if not self.fsync:
            return None
        under_way = threading.Event()
        future = self._syncer.submit(_fsync_file, tmp_file, under_way)
        under_way.wait(FSYNC_START_WAIT_S)
        return future

    def clean_tmp(self) -> int:
        """Remove temporary files left by a crash or an aborted transfer (run at start)."""
        removed = 0
        for entry in self.tmp_dir.iterdir():
            try:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed += 1
            except OSError as exc:
                log.warning("cannot remove leftover temporary file %s: %s", entry.name, exc)
        for partial in self.root.rglob(".*.part"):
            partial.unlink(missing_ok=True)
            removed += 1
        return removed

    def target_path(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        parts = (path_component(study_uid), path_component(series_uid), f"{path_component(sop_uid)}.dcm")
        # Each part is digits and dots or "x-<hex>" (RELIABILITY 21): none can be "..", absolute
        # or contain a separator. Checked here without a realpath per object (hot path).
        if any(p in (".", "..") or "/" in p or "\\" in p or not p for p in parts):
            raise ValueError(f"refusing a path outside the store: {parts}")
        return self.root.joinpath(*parts)

    def place(self, tmp_file: Path, study_uid: str, series_uid: str, sop_uid: str, policy: str,
              synced: Future[None] | None = None, size: int | None = None, *,
              sync_folder: bool = True) -> StoreResult:
        """Move a complete temporary file into the store following the duplicate policy.

        The temporary file must already be flushed; this fsyncs it (or waits for the fsync
        `begin_sync` started), renames it and fsyncs the folder, so on return the object
        survives a power cut (RELIABILITY 10). With `sync_folder=False` the caller syncs the
        folder itself (`sync_folder()`, when the result `moved`) before it relies on the file.
        """
        target = self.target_path(study_uid, series_uid, sop_uid)
        size = tmp_file.stat().st_size if size is None else size
        try:
            self._ensure_folder(target.parent)
            if synced is not None:
                synced.result()  # its OSError (disk full, I/O error) is handled below
            elif self.fsync:
                _fsync_file(tmp_file)
            outcome = "stored"
            if target.exists():
                if _same_bytes(tmp_file, target):
                    tmp_file.unlink()
                    return StoreResult(target, "duplicate", size)
                if policy == "keep_first":
                    tmp_file.unlink()
                    return StoreResult(target, "kept_first", size)
                if policy == "keep_history":
                    # The older version stays beside the new one: nothing is ever lost.
                    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(target.stat().st_mtime))
                    revision = target.with_name(f"{target.stem}.rev-{stamp}-{os.getpid()}-{time.monotonic_ns()}.dcm")
                    os.link(target, revision) if hasattr(os, "link") else shutil.copy2(target, revision)
                    outcome = "revision"
                else:
                    outcome = "replaced"
            try:
                os.replace(tmp_file, target)
            except FileNotFoundError:
                if not tmp_file.exists():
                    raise
                # The folder went away since it was made (removed by hand): make it again.
                self._folders.discard(target.parent)
                self._ensure_folder(target.parent)
                os.replace(tmp_file, target)
            if self.fsync and sync_folder:
                _fsync_dir(target.parent)
        except OSError as exc:
            _raise_store_error(exc)
        return StoreResult(target, outcome, size)

    def sync_folder(self, folder: Path) -> None:
        """Make the entries of a folder `place(..., sync_folder=False)` renamed into durable."""
        if not self.fsync:
            return
        try:
            _fsync_dir(folder)
        except OSError as exc:
            _raise_store_error(exc)

    def sha256(self, path: Path) -> str:
        return _sha256(path)
