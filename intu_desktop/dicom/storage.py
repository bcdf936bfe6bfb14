"""The on-disk store: DESIGN §2 layout, atomic placement, duplicate policy.

Received bytes land in a private temporary folder on the store's filesystem
(RELIABILITY 12); once complete they are fsynced and renamed into
``store/<study>/<series>/<sop>.dcm``. Nothing is ever visible half-written, and no
received value can steer a path outside the store (RELIABILITY 21).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

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


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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

    def place(self, tmp_file: Path, study_uid: str, series_uid: str, sop_uid: str, policy: str) -> StoreResult:
        """Move a complete temporary file into the store following the duplicate policy.

        The temporary file must already be flushed; this fsyncs it, renames it and fsyncs
        the folder, so on return the object survives a power cut (RELIABILITY 10).
        """
        target = self.target_path(study_uid, series_uid, sop_uid)
        size = tmp_file.stat().st_size
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if self.fsync:
                with open(tmp_file, "rb+") as fh:
                    os.fsync(fh.fileno())
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
            os.replace(tmp_file, target)
            if self.fsync:
                _fsync_dir(target.parent)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
                raise StoreFull(exc.errno, f"cannot write to the store: {exc.strerror}") from exc
            raise
        return StoreResult(target, outcome, size)

    def sha256(self, path: Path) -> str:
        return _sha256(path)
