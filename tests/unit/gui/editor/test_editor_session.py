"""EditSession: the text is the truth, only edited lines change, the disk is never
overwritten behind the user's back."""

from __future__ import annotations

from pathlib import Path

import pytest

from intu_desktop.gui.editor.session import EditSession, ExternalChangeError

CHANNEL = "id: a   # the id\nlisteners: x\nlistener:\n  type: dicom\n  dicom:\n    port: 4104\n"


def test_bom_and_crlf_survive_an_edit(tmp_path: Path) -> None:
    path = tmp_path / "channel.yaml"
    original = b"\xef\xbb\xbf" + CHANNEL.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    session = EditSession.open(path)
    session.set_value(("listener", "dicom", "port"), 4105)
    assert session.text() == CHANNEL.replace("4104", "4105")  # shown with line feeds
    session.save()
    assert path.read_bytes() == original.replace(b"4104", b"4105")
    assert not session.is_dirty()


def test_syntax_error_keeps_text_and_blocks_form_edits(tmp_path: Path) -> None:
    session = EditSession(tmp_path / "channel.yaml", None, "id: a\nlistener: [\n")
    assert not session.parsed
    assert session.syntax_error is not None and session.syntax_error.line == 3
    assert session.text() == "id: a\nlistener: [\n"
    with pytest.raises(RuntimeError):
        session.set_value(("id",), "b")
    session.set_text("id: b\n")
    assert session.parsed and session.get(("id",)) == "b"


def test_a_list_as_root_is_not_a_channel(tmp_path: Path) -> None:
    session = EditSession(tmp_path / "channel.yaml", None, "- a\n- b\n")
    assert not session.parsed and session.syntax_error is not None


def test_deleting_the_last_key_removes_the_empty_mapping(tmp_path: Path) -> None:
    text = "listener:\n  dicom:\n    port: 1\n    tls:\n      cert_file: a.pem\n"
    session = EditSession(tmp_path / "c.yaml", text.encode())
    session.delete_value(("listener", "dicom", "tls", "cert_file"))
    assert session.text() == "listener:\n  dicom:\n    port: 1\n"


def test_save_refuses_a_file_changed_by_another_program(tmp_path: Path) -> None:
    path = tmp_path / "channel.yaml"
    path.write_text(CHANNEL)
    session = EditSession.open(path)
    session.set_value(("id",), "b")
    path.write_text(CHANNEL + "# theirs\n")
    assert session.changed_on_disk()
    with pytest.raises(ExternalChangeError):
        session.save()
    assert path.read_text().endswith("# theirs\n")

    session.accept_disk_state()  # the user chose to keep their version
    assert session.is_dirty()
    session.save()
    assert "id: b" in path.read_text() and "# theirs" not in path.read_text()


def test_reload_takes_the_disk_content(tmp_path: Path) -> None:
    path = tmp_path / "channel.yaml"
    path.write_text(CHANNEL)
    session = EditSession.open(path)
    session.set_value(("id",), "mine")
    path.write_text(CHANNEL.replace("id: a", "id: theirs"))
    session.reload()
    assert session.get(("id",)) == "theirs" and not session.is_dirty()
    assert not session.changed_on_disk()


def test_new_session_is_dirty_until_saved_into_a_new_folder(tmp_path: Path) -> None:
    session = EditSession(tmp_path / "x" / "channel.yaml", None, CHANNEL)
    assert session.is_new and session.is_dirty()
    target = tmp_path / "y" / "channel.yaml"
    session.save(target)
    assert target.read_text() == CHANNEL
    assert session.path == target and not session.is_new and not session.is_dirty()


def test_save_as_never_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "channel.yaml"
    target.write_text("id: other\n")
    session = EditSession(tmp_path / "new" / "channel.yaml", None, CHANNEL)
    with pytest.raises(ExternalChangeError):
        session.save(target)
    assert target.read_text() == "id: other\n"
