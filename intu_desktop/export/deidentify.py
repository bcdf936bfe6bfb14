"""De-identification of exported rows after PS3.15 Annex E.

Basic Application Level Confidentiality Profile (PS3.15 E.1.1, Table E.1-1), applied to the
fields an export carries, with the Retain Longitudinal Temporal Information with Modified
Dates Option (E.3.6) unless dates are removed. The row is rebuilt from an allow-list: a key
this module does not know is dropped, so a new index column cannot leak PHI by default.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from intu_desktop.export.columns import as_text
from intu_desktop.export.uids import check_uid_root, hashed_uid

# Table E.1-1 "U": replaced consistently so that study/series/instance links survive.
_UID_KEYS = ("studyInstanceUid", "seriesInstanceUid", "sopInstanceUid")
# Table E.1-1 Z / X / D that carry no structure worth keeping: emptied.
_EMPTIED_KEYS = (
    "accessionNumber",  # (0008,0050) Z
    "referringPhysician",  # (0008,0090) Z
    "studyDescription",  # (0008,1030) X (Clean Descriptors Option not supported)
    "seriesDescription",  # (0008,103E) X
    "storagePath",  # holds the original UIDs in its folder names
)
# Not identifying: SOP Class and Transfer Syntax name the kind of object, not the patient.
_KEPT_KEYS = (
    "sopClassUid",
    "transferSyntax",
    "modality",
    "bodyPartExamined",
    "numberOfFrames",
    "seriesNumber",
    "instanceNumber",
    "callingAe",
    "channel",
    "size",
    "pipelineStatus",
)
_DA_RE = re.compile(r"(\d{4})\.?(\d{2})\.?(\d{2})")  # DA, and the ACR-NEMA YYYY.MM.DD form
_ISO_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_RANDOM_SHIFT_MAX_DAYS = 365
_CACHE_LIMIT = 4096  # rows of an export share few dates and study/series UIDs


class Deidentifier:
    """De-identifies rows of one export; create one per export.

    Within one Deidentifier the same patient gets the same pseudonym and the same UID the same
    replacement. UIDs come from a keyed hash; with the default random salt they cannot be
    traced back by hashing candidate UIDs. `salt` makes the mapping repeatable across exports.
    """

    def __init__(
        self,
        date_shift_days: int | None,
        remove_dates: bool,
        uid_root: str = "2.25",
        salt: bytes | None = None,
    ) -> None:
        self.remove_dates = remove_dates
        if remove_dates:
            self.date_shift_days = 0
        elif date_shift_days is None:
            # Backwards 1..365 days: shifted dates never land in the future.
            self.date_shift_days = -(secrets.randbelow(_RANDOM_SHIFT_MAX_DAYS) + 1)
        else:
            self.date_shift_days = date_shift_days
        self.uid_root = check_uid_root(uid_root)
        self._key = salt if salt is not None else secrets.token_bytes(32)
        self._pseudonyms: dict[tuple[str, str], int] = {}
        self._uid_cache: dict[str, str] = {}
        self._da_cache: dict[str, str] = {}
        self._iso_date_cache: dict[str, str] = {}

    @property
    def method_text(self) -> str:
        """For De-identification Method (0012,0063) or a notice beside the export."""
        base = "Basic Application Level Confidentiality Profile (PS3.15 E.1.1)"
        if self.remove_dates:
            return f"{base}, dates removed"
        return f"{base}, date shift {self.date_shift_days} days"

    def row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {key: row[key] for key in _KEPT_KEYS if key in row}
        for key in _UID_KEYS:
            out[key] = self.uid(as_text(row.get(key)))
        for key in _EMPTIED_KEYS:
            out[key] = ""
        number = self._pseudonym_number(
            as_text(row.get("patientId")), as_text(row.get("patientName"))
        )
        out["patientId"] = f"ANON{number:04d}"
        out["patientName"] = f"ANON^{number:04d}"
        # patientBirthDate (0010,0030) Z, transformerOutput (free PHI): left out of the row.
        out["studyDate"] = self.dicom_date(as_text(row.get("studyDate")))
        out["receivedAt"] = self.iso_datetime(as_text(row.get("receivedAt")))
        # Study Time is Z in the basic profile; kept only while the date shift keeps the
        # longitudinal option meaningful (E.3.6), removed with the dates.
        out["studyTime"] = "" if self.remove_dates else as_text(row.get("studyTime"))
        return out

    def uid(self, uid: str) -> str:
        """Same input, same output; empty stays empty."""
        uid = uid.strip()
        if not uid:
            return ""
        new = self._uid_cache.get(uid)
        if new is None:
            new = hashed_uid(self._key, uid, self.uid_root)
            _bounded_put(self._uid_cache, uid, new)
        return new

    def dicom_date(self, value: str) -> str:
        """DA `YYYYMMDD` shifted, or '' when removing dates or unreadable."""
        new = self._da_cache.get(value)
        if new is None:
            match = _DA_RE.fullmatch(value.strip())
            shifted = None if self.remove_dates or match is None else self._shift(match)
            new = f"{shifted.year:04d}{shifted.month:02d}{shifted.day:02d}" if shifted else ""
            _bounded_put(self._da_cache, value, new)
        return new

    def iso_datetime(self, value: str) -> str:
        """ISO 8601 date or date-time: the date part shifted, the rest kept as written."""
        value = value.strip()
        match = _ISO_DATE_RE.match(value)
        if self.remove_dates or match is None:
            return ""
        day = self._iso_date_cache.get(match[0])
        if day is None:
            shifted = self._shift(match)
            day = shifted.isoformat() if shifted else ""
            _bounded_put(self._iso_date_cache, match[0], day)
        return day + value[match.end() :] if day else ""

    def _shift(self, match: re.Match[str]) -> date | None:
        try:
            original = date(int(match[1]), int(match[2]), int(match[3]))
            return original + timedelta(days=self.date_shift_days)
        except (ValueError, OverflowError):
            return None

    def _pseudonym_number(self, patient_id: str, patient_name: str) -> int:
        # Keyed by the ID; by the name only when the ID is empty, so that objects without an
        # ID from different patients are not merged into one pseudonym.
        key = ("id", patient_id) if patient_id else ("name", patient_name)
        if key not in self._pseudonyms:
            self._pseudonyms[key] = len(self._pseudonyms) + 1
        return self._pseudonyms[key]


def _bounded_put(cache: dict[str, str], key: str, value: str) -> None:
    # Keeps memory flat over exports of millions of distinct instance UIDs.
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
