"""The dicom destination's rules: what it proposes, and how statuses and rejects are sorted
(RELIABILITY 20). Real associations are in tests/integration/test_destinations_orthanc.py."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from dest_helpers import context
from pydicom.data import get_testdata_file
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from intu_desktop.destinations.dicom import DicomDestination, can_convert, proposals, status_result
from intu_desktop.destinations.settings import SettingsError
from intu_desktop.dicom.scu_files import DicomFile, inspect


@pytest.mark.parametrize(("code", "ok", "retryable"), [
    (0x0000, True, False),
    (0xB000, True, False),   # warning: stored with coercion
    (0xA700, False, True),   # refused: out of resources
    (0xA7FF, False, True),
    (0x0213, False, True),   # resource limitation
    (0xA900, False, False),  # data set does not match SOP class
    (0xC000, False, False),  # cannot understand
    (0xC211, False, False),
    (0x0122, False, False),  # SOP class not supported
    (0x0124, False, False),  # not authorized
])
def test_status_classification(code: int, ok: bool, retryable: bool) -> None:
    result = status_result(code, "")
    assert (result.ok, result.retryable) == (ok, retryable)
    assert f"0x{code:04X}" in (result.response or result.error)


def test_error_comment_is_recorded() -> None:
    result = status_result(0xC000, "Cannot parse dataset")
    assert result.error == "0xC000 Error: cannot understand; error comment: Cannot parse dataset"


def test_uncompressed_files_offer_native_alternatives() -> None:
    item = inspect(Path(get_testdata_file("CT_small.dcm")))
    assert isinstance(item, DicomFile)
    assert proposals(item) == [(item.sop_class_uid, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])]


def test_compressed_files_offer_their_syntax_and_a_separate_fallback() -> None:
    item = inspect(Path(get_testdata_file("JPEG2000.dcm")))
    assert isinstance(item, DicomFile)
    assert proposals(item) == [
        (item.sop_class_uid, ["1.2.840.10008.1.2.4.91"]),
        (item.sop_class_uid, [ExplicitVRLittleEndian]),
    ]


def test_only_decodable_syntaxes_get_a_fallback() -> None:
    assert can_convert("1.2.840.10008.1.2.4.90")  # JPEG 2000 lossless: openjpeg
    assert can_convert("1.2.840.10008.1.2.1.99")  # deflated: re-encoded, no pixel decoding
    assert not can_convert("1.2.840.10008.1.2.4.100")  # MPEG-2: no decoder


def test_missing_stored_file_is_a_dead_letter(tmp_path: Path) -> None:
    dest = DicomDestination("pacs", {"host": "127.0.0.1", "port": 9}, tmp_path)
    result = dest.send(context(storage_path=tmp_path / "gone.dcm"))
    assert not result.ok and not result.retryable and "no such file" in result.error


def test_refused_connection_is_retried(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = DicomDestination("pacs", {"host": "127.0.0.1", "port": port, "timeout_ms": 2000}, tmp_path)
    result = dest.send(context(storage_path=Path(get_testdata_file("CT_small.dcm"))))
    assert not result.ok and result.retryable and "connection refused" in result.error


def test_tls_file_problems_are_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="CA file not found"):
        DicomDestination("pacs", {"host": "h", "tls": {"enabled": True, "ca_file": "missing-ca.pem"}}, tmp_path)
