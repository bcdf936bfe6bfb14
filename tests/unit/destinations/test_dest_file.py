"""The file destination: placeholders in both intu spellings, safe names, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dest_helpers import context

from intu_desktop.destinations.file import FileDestination, atomic_write
from intu_desktop.destinations.placeholders import (
    PatternError,
    expand,
    safe_component,
    timestamp_text,
)
from intu_desktop.destinations.settings import SettingsError

CREATED = 1717243200.5  # 2024-06-01T12:00:00.500Z, the context's created_at
_ctx = context


def test_both_placeholder_spellings(tmp_path: Path) -> None:
    dest = FileDestination("out", {
        "directory": str(tmp_path),
        "filename_pattern": "{{channelId}}/{{studyInstanceUid}}/${sopInstanceUid}-{{ messageId }}-{{timestamp}}.json",
    }, tmp_path)
    result = dest.send(_ctx())
    assert result.ok, result.error
    written = tmp_path / "dicom-radiology-ingest" / "1.2.3" / "1.2.3.4.5-6f1c0e0a-msg-20240601T120000500Z.json"
    assert written.read_text() == '{"resourceType":"ImagingStudy"}'
    assert str(written) in result.response


def test_default_name_and_extension(tmp_path: Path) -> None:
    dest = FileDestination("out", {"directory": "exports"}, tmp_path)  # relative: to the project
    assert dest.send(_ctx(content_type="application/xml")).ok
    (written,) = (tmp_path / "exports").iterdir()
    assert written.name == "dicom-radiology-ingest-20240601T120000500Z-6f1c0e0a-msg.xml"


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "..", ".", "/abs/path", "a/../../b", "C:\\x\\..\\y", ""])
def test_placeholder_values_never_leave_the_directory(tmp_path: Path, hostile: str) -> None:
    target_dir = tmp_path / "out"
    dest = FileDestination("out", {"directory": str(target_dir), "filename_pattern": "{{sopInstanceUid}}.txt"},
                           tmp_path)
    result = dest.send(_ctx(sop_instance_uid=hostile))
    assert result.ok, result.error
    (written,) = target_dir.iterdir()
    assert written.parent == target_dir
    assert written.name not in (".txt", "..txt") and "/" not in written.name and "\\" not in written.name


def test_safe_component() -> None:
    assert safe_component("../x") == ".._x"
    assert safe_component("..") == "__"
    assert safe_component("") == "unknown"
    assert safe_component("a b/c\\d:e") == "a_b_c_d_e"
    assert len(safe_component("9" * 1000)) == 128


def test_pattern_that_leaves_the_directory_is_a_dead_letter(tmp_path: Path) -> None:
    dest = FileDestination("out", {"directory": str(tmp_path / "out"), "filename_pattern": "../{{messageId}}"},
                           tmp_path)
    result = dest.send(_ctx())
    assert not result.ok and not result.retryable
    assert "outside" in result.error
    assert not (tmp_path / "6f1c0e0a-msg").exists()


def test_unknown_placeholder_is_a_dead_letter(tmp_path: Path) -> None:
    with pytest.raises(PatternError, match="patientName"):
        expand("{{patientName}}", {"messageId": "m"})
    dest = FileDestination("out", {"directory": str(tmp_path), "filename_pattern": "{{patientName}}.json"}, tmp_path)
    result = dest.send(_ctx())
    assert not result.ok and not result.retryable and "{{patientName}}" in result.error


def test_retry_replaces_the_same_file(tmp_path: Path) -> None:
    dest = FileDestination("out", {"directory": str(tmp_path)}, tmp_path)
    assert dest.send(_ctx(body="first")).ok
    assert dest.send(_ctx(body="second", attempt=2)).ok
    (written,) = tmp_path.iterdir()
    assert written.read_text() == "second"


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.json"
    atomic_write(target, b"x" * 100_000)
    assert target.read_bytes() == b"x" * 100_000
    assert os.listdir(target.parent) == ["b.json"]


def test_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    dest = FileDestination("out", {"directory": str(tmp_path / "blocker" / "sub")}, tmp_path)
    result = dest.send(_ctx())
    assert not result.ok and not result.retryable  # ENOTDIR: waiting will not help
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_timestamp_has_no_colons() -> None:
    assert timestamp_text(CREATED) == "20240601T120000500Z"


def test_only_local_scheme(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="s3"):
        FileDestination("out", {"directory": "x", "scheme": "s3"}, tmp_path)
