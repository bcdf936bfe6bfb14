"""The `file` destination: the transformer's output written into a folder, atomically.

A file appears whole or not at all: it is written to a temporary name in the target
folder, flushed and fsynced, then renamed (the same rule as the store, RELIABILITY 11).
Its name comes from `filename_pattern` (placeholders.py) and, being made from the run's
own ids and time, is the same on every retry: a retried write replaces, never duplicates.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

from intu_desktop.destinations.base import DeliveryContext, DeliveryResult
from intu_desktop.destinations.placeholders import PatternError, expand, timestamp_text
from intu_desktop.destinations.secrets import SecretMasker
from intu_desktop.destinations.settings import Settings, SettingsError

DEFAULT_PATTERN = "{{channelId}}-{{timestamp}}-{{messageId}}"
# Waiting will not fix these; everything else (disk full, I/O error, a share that went
# away) may pass.
_PERMANENT_ERRNOS = frozenset({
    errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG, errno.EINVAL, errno.EISDIR,
    errno.ENOTDIR, errno.EEXIST,
})


class FileDestination:
    type = "file"

    def __init__(self, name: str, options: dict[str, Any], base_dir: Path) -> None:
        self.name = name
        self.masker = SecretMasker.from_options(options)
        settings = Settings(options, "file", base_dir)
        scheme = settings.text("scheme", "local")
        if scheme != "local":
            raise SettingsError(f"file.scheme {scheme!r} is not supported by intu Desktop (only local)")
        directory = settings.path("directory")
        if directory is None:
            raise SettingsError("file.directory is not set")
        self.directory = Path(os.path.abspath(directory))
        self.pattern = settings.text("filename_pattern", literal=True)

    def target_for(self, delivery: DeliveryContext) -> Path:
        """The file this delivery writes; raises PatternError for a pattern we cannot use."""
        pattern = self.pattern or DEFAULT_PATTERN + extension_for(delivery.content_type)
        relative = expand(pattern, {
            "channelId": delivery.channel_id,
            "messageId": delivery.message_id,
            "correlationId": delivery.sop_instance_uid,
            "timestamp": timestamp_text(delivery.created_at),
            "sopInstanceUid": delivery.sop_instance_uid,
            "studyInstanceUid": delivery.study_instance_uid,
            "seriesInstanceUid": delivery.series_instance_uid,
            "destination": delivery.destination,
        })
        target = Path(os.path.normpath(self.directory / relative))
        # The pattern's literal text may name sub-folders; it may not leave the directory.
        if Path(relative).is_absolute() or os.path.commonpath([self.directory, target]) != str(self.directory) \
                or target == self.directory:
            raise PatternError(f"filename_pattern {self.pattern!r} leads outside {self.directory}")
        return target

    def send(self, delivery: DeliveryContext) -> DeliveryResult:
        try:
            target = self.target_for(delivery)
        except PatternError as exc:
            return DeliveryResult.permanent(str(exc))
        data = (delivery.body or "").encode("utf-8")
        try:
            atomic_write(target, data)
        except OSError as exc:
            words = f"cannot write {target}: {(exc.strerror or str(exc)).lower()}"
            if exc.errno in _PERMANENT_ERRNOS:
                return DeliveryResult.permanent(words)
            return DeliveryResult.transient(words)
        return DeliveryResult.delivered(f"wrote {target} ({len(data)} bytes)")

    def close(self) -> None:
        pass


def extension_for(content_type: str) -> str:
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind.endswith("json"):
        return ".json"
    if kind.endswith("xml"):
        return ".xml"
    if "hl7" in kind:
        return ".hl7"
    if kind.startswith("text/"):
        return ".txt"
    return ".dat"


def atomic_write(target: Path, data: bytes) -> None:
    """Temporary file in the target's folder, fsync, rename, fsync the folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name[:60]}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, target)
    except BaseException:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        raise
    if os.name == "posix":
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
