"""DICOM UID checks and UIDs derived from a keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import re

MAX_UID_LENGTH = 64  # PS3.5 §9.1
# PS3.5 §9.1: dot-separated numeric components, no leading zero except the single digit 0.
_UID_RE = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")


def is_valid_uid(text: str) -> bool:
    return len(text) <= MAX_UID_LENGTH and _UID_RE.fullmatch(text) is not None


def check_uid_root(root: str) -> str:
    """A root must be a valid UID that leaves room for at least 16 digits after it."""
    if not is_valid_uid(root) or len(root) > MAX_UID_LENGTH - 17:
        raise ValueError(f"invalid UID root {root!r}: digits and dots, at most 47 characters")
    return root


def hashed_uid(key: bytes, text: str, root: str = "2.25") -> str:
    """`root.<integer>` from HMAC-SHA256(key, text): the same text and key give the same UID.

    Under 2.25 the integer is a UUID (PS3.5 §B.2), marked as RFC 9562 version 8 ("custom")
    since its bits come from a hash, not from a random or time source.
    """
    digest = hmac.digest(key, text.encode("utf-8"), hashlib.sha256)
    value = int.from_bytes(digest[:16], "big")
    value = (value & ~(0xF000 << 64)) | (0x8000 << 64)  # version 8 (bits 48-51)
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # variant 10xx (bits 64-65)
    digits = str(value)[: MAX_UID_LENGTH - len(root) - 1]  # truncating keeps a non-zero lead
    return f"{root}.{digits}"
