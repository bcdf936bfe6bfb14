"""Words for DICOM codes: association rejections and aborts (PS3.8), statuses (PS3.4), UIDs.

Users read these; they are the reason a refusal is "explained in plain words".
"""

from __future__ import annotations

import functools
import re

from pydicom.uid import UID
from pynetdicom import sop_class

# PS3.8 §9.3.4, Table 9-21: A-ASSOCIATE-RJ (result, source, reason/diag).
REJECT_RESULT = {1: "rejected (permanent)", 2: "rejected (transient)"}
REJECT_SOURCE = {
    1: "DICOM UL service-user",
    2: "DICOM UL service-provider (ACSE related function)",
    3: "DICOM UL service-provider (presentation related function)",
}
REJECT_REASON = {
    (1, 1): "no reason given",
    (1, 2): "application context name not supported",
    (1, 3): "calling AE title not recognized",
    (1, 7): "called AE title not recognized",
    (2, 1): "no reason given",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "local limit exceeded",
}

# PS3.8 §9.3.8, Table 9-26: A-ABORT source and reason.
ABORT_SOURCE = {
    0: "the peer (service-user)",
    1: "reserved",
    2: "the network layer (service-provider)",
}
ABORT_REASON = {
    0: "reason not specified",
    1: "unrecognized PDU",
    2: "unexpected PDU",
    4: "unrecognized PDU parameter",
    5: "unexpected PDU parameter",
    6: "invalid PDU parameter value",
}

# PS3.8 §9.3.3.2, Table 9-18: presentation context results in an A-ASSOCIATE-AC.
CONTEXT_RESULT = {
    0: "acceptance",
    1: "user rejection",
    2: "no reason (provider rejection)",
    3: "abstract syntax not supported (provider rejection)",
    4: "transfer syntaxes not supported (provider rejection)",
}


def reject_reason_text(result: int, source: int, reason: int) -> str:
    """E.g. (1, 1, 3) -> 'calling AE title not recognized'."""
    return REJECT_REASON.get((source, reason), f"reason {reason}")


def reject_text(result: int, source: int, reason: int) -> str:
    """The whole rejection in words, for logs and the association record."""
    return (
        f"{reject_reason_text(result, source, reason)} "
        f"({REJECT_RESULT.get(result, f'result {result}')}, source: {REJECT_SOURCE.get(source, source)})"
    )


def abort_text(source: int | None, reason: int | None) -> str:
    """An A-ABORT in words, e.g. (2, 1) -> 'aborted by the network layer ...: unrecognized PDU'.

    PS3.8 §9.3.8: the reason is only significant when the service-provider (source 2)
    aborted; a service-user abort (source 0) carries no reason.
    """
    if source is None:
        return "aborted (source unknown)"
    who = ABORT_SOURCE.get(source, f"source {source}")
    if source == 2:
        words = ABORT_REASON.get(reason, f"reason {reason}") if reason is not None else ""
        return f"aborted by {who}: {words or 'reason not given'}"
    return f"aborted by {who}"


# --- UIDs (PS3.6 Annex A) -----------------------------------------------------------------

_CAMEL_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b)|[A-Z]?[a-z]+|\d+|[A-Z]+")


def _clean_uid(uid: str) -> str:
    # UIDs arrive padded to even length with NUL (PS3.5 §9.1) and sometimes with spaces.
    return str(uid).strip().rstrip("\x00").strip()


def _pynetdicom_uid_keywords() -> dict[str, str]:
    """UID -> keyword for the SOP classes pynetdicom knows (a few newer than pydicom's table)."""
    keywords: dict[str, str] = {}
    for attribute in dir(sop_class):
        table = getattr(sop_class, attribute)
        if attribute.startswith("_") and attribute.endswith("_CLASSES") and isinstance(table, dict):
            for keyword, value in table.items():
                if isinstance(keyword, str) and isinstance(value, str):
                    keywords.setdefault(value, keyword)
    return keywords


@functools.cache
def _extra_sop_class_names() -> dict[str, str]:
    # Computed once, read-only afterwards: a cache of constants, not shared mutable state.
    return {
        uid: " ".join(_CAMEL_WORDS.findall(keyword))
        for uid, keyword in _pynetdicom_uid_keywords().items()
    }


def sop_class_name(uid: str) -> str:
    """'1.2.840.10008.5.1.4.1.1.2' -> 'CT Image Storage'.

    Unknown or private UIDs -> 'Private or unknown SOP class (<uid>)'.
    """
    clean = _clean_uid(uid)
    if not clean:
        return "Missing SOP class UID"
    name = UID(clean).name
    if name and name != clean:
        return name
    extra = _extra_sop_class_names().get(clean)
    if extra:
        return extra
    return f"Private or unknown SOP class ({clean})"


def transfer_syntax_name(uid: str) -> str:
    """'1.2.840.10008.1.2.1' -> 'Explicit VR Little Endian'.

    Unknown or private UIDs -> '<uid> (unknown transfer syntax)'.
    """
    clean = _clean_uid(uid)
    if not clean:
        return "Missing transfer syntax UID"
    parsed = UID(clean)
    if parsed.name != clean and parsed.type == "Transfer Syntax":
        return parsed.name
    return f"{clean} (unknown transfer syntax)"


# --- DIMSE statuses (PS3.7 Annex C, PS3.4 Annex B.2.3) ------------------------------------

SUCCESS = "success"
WARNING = "warning"
FAILURE = "failure"
CANCEL = "cancel"
PENDING = "pending"

# PS3.7 Annex C: statuses any DIMSE service may return.
GENERAL_STATUS: dict[int, tuple[str, str]] = {
    0x0000: (SUCCESS, "Success"),
    0x0001: (WARNING, "Warning: requested optional attributes are not supported"),
    0x0105: (FAILURE, "Error: no such attribute"),
    0x0106: (FAILURE, "Error: invalid attribute value"),
    0x0107: (WARNING, "Warning: attribute list error"),
    0x0110: (FAILURE, "Error: processing failure"),
    0x0111: (FAILURE, "Error: duplicate SOP instance"),
    0x0112: (FAILURE, "Error: no such SOP instance"),
    0x0113: (FAILURE, "Error: no such event type"),
    0x0114: (FAILURE, "Error: no such argument"),
    0x0115: (FAILURE, "Error: invalid argument value"),
    0x0116: (WARNING, "Warning: attribute value out of range"),
    0x0117: (FAILURE, "Error: invalid object instance"),
    0x0118: (FAILURE, "Error: no such SOP class"),
    0x0119: (FAILURE, "Error: class-instance conflict"),
    0x0120: (FAILURE, "Error: missing attribute"),
    0x0121: (FAILURE, "Error: missing attribute value"),
    0x0122: (FAILURE, "Refused: SOP class not supported"),
    0x0123: (FAILURE, "Error: no such action"),
    0x0124: (FAILURE, "Refused: not authorized"),
    0x0210: (FAILURE, "Error: duplicate invocation"),
    0x0211: (FAILURE, "Error: unrecognized operation"),
    0x0212: (FAILURE, "Error: mistyped argument"),
    0x0213: (FAILURE, "Error: resource limitation"),
    0xFE00: (CANCEL, "Cancel"),
    0xFF00: (PENDING, "Pending"),
    0xFF01: (PENDING, "Pending (with warning)"),
}

# PS3.4 Annex B.2.3, Table B.2-1: C-STORE specific statuses (exact codes).
STORE_STATUS: dict[int, tuple[str, str]] = {
    0xB000: (WARNING, "Warning: coercion of data elements"),
    0xB006: (WARNING, "Warning: elements discarded"),
    0xB007: (WARNING, "Warning: data set does not match SOP class"),
    # pynetdicom's own codes inside the "cannot understand" range (service_class.py, apps/).
    0xC001: (
        FAILURE,
        "Error: cannot understand (the receiver's handler returned a status without a value)",
    ),
    0xC002: (
        FAILURE,
        "Error: cannot understand (the receiver's handler returned an invalid status)",
    ),
    0xC210: (FAILURE, "Error: cannot understand (the receiver could not decode the data set)"),
    0xC211: (
        FAILURE,
        "Error: cannot understand (unexpected error in the receiver's store handler)",
    ),
}

# PS3.4 Annex B.2.3: C-STORE ranges, checked after the exact codes.
STORE_STATUS_RANGES: tuple[tuple[int, int, str, str], ...] = (
    (0xA700, 0xA7FF, FAILURE, "Refused: out of resources"),
    (0xA900, 0xA9FF, FAILURE, "Error: data set does not match SOP class"),
    (0xC000, 0xCFFF, FAILURE, "Error: cannot understand"),
)


def _status_class(code: int) -> str:
    # PS3.7 §C.1-C.6: the class of a status nobody has a word for, by its range.
    if 0xB000 <= code <= 0xBFFF:
        return WARNING
    if code in (0xFF00, 0xFF01):
        return PENDING
    if code == 0xFE00:
        return CANCEL
    return FAILURE


def status_meaning(code: int, service: str = "C-STORE") -> tuple[str, str]:
    """(category, words) for a DIMSE status.

    E.g. 0xA702 -> ('failure', 'Refused: out of resources'). `service` picks the
    service-specific table (only C-STORE has one here); general statuses (PS3.7 Annex C)
    apply to every service; an unknown code is classed by its range.
    """
    if service.upper() == "C-STORE":
        if code in STORE_STATUS:
            return STORE_STATUS[code]
        for low, high, category, words in STORE_STATUS_RANGES:
            if low <= code <= high:
                return category, words
    if code in GENERAL_STATUS:
        return GENERAL_STATUS[code]
    category = _status_class(code)
    return category, f"{category.capitalize()}: unknown status"


def format_status(code: int, service: str = "C-STORE") -> str:
    """E.g. 0xA700 -> '0xA700 Refused: out of resources'."""
    return f"0x{code:04X} {status_meaning(code, service)[1]}"
