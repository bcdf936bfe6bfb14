"""Words for DICOM codes (names.py): UIDs, DIMSE statuses, rejections and aborts."""

from __future__ import annotations

import pytest

from intu_desktop.dicom import names


@pytest.mark.parametrize(
    ("uid", "expected"),
    [
        ("1.2.840.10008.5.1.4.1.1.2", "CT Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.4", "MR Image Storage"),
        ("1.2.840.10008.5.1.4.1.1.7", "Secondary Capture Image Storage"),
        ("1.2.840.10008.1.1", "Verification SOP Class"),
        # padded as on the wire (PS3.5 §9.1)
        ("1.2.840.10008.5.1.4.1.1.2\x00", "CT Image Storage"),
        # known to pynetdicom 3.0.4 but not to pydicom 3.0.2's table
        ("1.2.840.10008.5.1.4.1.1.66.7", "Label Map Segmentation Storage"),
        ("1.2.840.10008.5.1.4.1.1.9.100.1", "Waveform Presentation State Storage"),
    ],
)
def test_sop_class_name_known(uid: str, expected: str) -> None:
    assert names.sop_class_name(uid) == expected


@pytest.mark.parametrize("uid", ["1.2.3.4", "1.3.6.1.4.1.9590.100.1.2.999"])
def test_sop_class_name_private_or_unknown(uid: str) -> None:
    assert names.sop_class_name(uid) == f"Private or unknown SOP class ({uid})"


def test_sop_class_name_empty() -> None:
    assert names.sop_class_name("") == "Missing SOP class UID"


@pytest.mark.parametrize(
    ("uid", "expected"),
    [
        ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
        ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
        ("1.2.840.10008.1.2.2", "Explicit VR Big Endian"),
        ("1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"),
        ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
        ("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"),
        ("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"),
        ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ],
)
def test_transfer_syntax_name_known(uid: str, expected: str) -> None:
    assert names.transfer_syntax_name(uid) == expected


@pytest.mark.parametrize(
    "uid",
    [
        "1.2.3.4.5",
        "1.2.840.10008.5.1.4.1.1.2",  # a registered UID, but a SOP class, not a syntax
    ],
)
def test_transfer_syntax_name_unknown(uid: str) -> None:
    assert names.transfer_syntax_name(uid) == f"{uid} (unknown transfer syntax)"


@pytest.mark.parametrize(
    ("code", "category", "words"),
    [
        (0x0000, "success", "Success"),
        # PS3.4 Annex B.2.3, C-STORE
        (0xA700, "failure", "Refused: out of resources"),
        (0xA701, "failure", "Refused: out of resources"),
        (0xA7FF, "failure", "Refused: out of resources"),
        (0xA900, "failure", "Error: data set does not match SOP class"),
        (0xA9FF, "failure", "Error: data set does not match SOP class"),
        (0xC000, "failure", "Error: cannot understand"),
        (0xCFFF, "failure", "Error: cannot understand"),
        (0xB000, "warning", "Warning: coercion of data elements"),
        (0xB006, "warning", "Warning: elements discarded"),
        (0xB007, "warning", "Warning: data set does not match SOP class"),
        # PS3.7 Annex C, general
        (0x0110, "failure", "Error: processing failure"),
        (0x0111, "failure", "Error: duplicate SOP instance"),
        (0x0117, "failure", "Error: invalid object instance"),
        (0x0122, "failure", "Refused: SOP class not supported"),
        (0x0124, "failure", "Refused: not authorized"),
        (0x0211, "failure", "Error: unrecognized operation"),
        (0x0212, "failure", "Error: mistyped argument"),
        (0xFE00, "cancel", "Cancel"),
        (0xFF00, "pending", "Pending"),
    ],
)
def test_status_meaning_store(code: int, category: str, words: str) -> None:
    assert names.status_meaning(code) == (category, words)
    assert names.status_meaning(code, "C-STORE") == (category, words)


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        (0xC210, "could not decode the data set"),
        (0xC211, "unexpected error in the receiver's store handler"),
    ],
)
def test_status_meaning_pynetdicom_codes(code: int, detail: str) -> None:
    category, words = names.status_meaning(code)
    assert category == "failure"
    assert words.startswith("Error: cannot understand")
    assert detail in words


def test_store_ranges_do_not_apply_to_other_services() -> None:
    # 0xA700 is a C-STORE code; for C-ECHO it is just an unknown failure.
    assert names.status_meaning(0xA700, "C-ECHO") == ("failure", "Failure: unknown status")
    assert names.status_meaning(0x0122, "C-ECHO") == ("failure", "Refused: SOP class not supported")


@pytest.mark.parametrize(
    ("code", "category"),
    [(0xB123, "warning"), (0x1234, "failure"), (0xD000, "failure")],
)
def test_unknown_status_classed_by_range(code: int, category: str) -> None:
    assert names.status_meaning(code)[0] == category


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0x0000, "0x0000 Success"),
        (0xA700, "0xA700 Refused: out of resources"),
        (0xA9A0, "0xA9A0 Error: data set does not match SOP class"),
        (0xB000, "0xB000 Warning: coercion of data elements"),
    ],
)
def test_format_status(code: int, text: str) -> None:
    assert names.format_status(code) == text


def test_reject_text_called_ae() -> None:
    text = names.reject_text(1, 1, 7)
    assert text.startswith("called AE title not recognized")
    assert "rejected (permanent)" in text
    assert "DICOM UL service-user" in text


def test_reject_text_local_limit() -> None:
    text = names.reject_text(2, 3, 2)
    assert text.startswith("local limit exceeded")
    assert "rejected (transient)" in text


@pytest.mark.parametrize(
    ("source", "reason", "text"),
    [
        (0, 0, "aborted by the peer (service-user)"),
        (0, 5, "aborted by the peer (service-user)"),  # reason not significant for source 0
        (2, 0, "aborted by the network layer (service-provider): reason not specified"),
        (2, 1, "aborted by the network layer (service-provider): unrecognized PDU"),
        (2, 6, "aborted by the network layer (service-provider): invalid PDU parameter value"),
        (2, 42, "aborted by the network layer (service-provider): reason 42"),
        (None, None, "aborted (source unknown)"),
    ],
)
def test_abort_text(source: int | None, reason: int | None, text: str) -> None:
    assert names.abort_text(source, reason) == text
