"""New channels from the template: unique id, unused port, a destination that exists."""

from __future__ import annotations

from pathlib import Path

from intu_desktop.config import check_channel_text, ensure_default_project
from intu_desktop.gui.editor.session import EditSession
from intu_desktop.gui.editor.template import (
    ChannelSummary,
    clone_session,
    folder_name,
    named_destinations,
    new_channel_session,
    read_summary,
    unique_id,
    unused_port,
)


def test_ids_ports_and_folder_names() -> None:
    assert unique_id("a", ["a", "a-2"]) == "a-3"
    assert unique_id("b", ["a"]) == "b"
    assert unused_port([4104, None, 4105]) == 4106
    assert folder_name("CT ingest/../x") == "CT-ingest-..-x"
    assert folder_name("...") == "channel"


def test_new_channel_in_the_default_project_validates(tmp_path: Path) -> None:
    project = ensure_default_project(tmp_path / "config", tmp_path / "data")
    channels = project / "src" / "channels"
    existing = read_summary(channels / "dicom-radiology-ingest" / "channel.yaml")
    assert existing.port == 4104 and existing.listener_type == "dicom"

    session = new_channel_session(channels, [existing], named_destinations(project))
    assert session.is_new
    assert session.path == channels / "new-dicom-channel" / "channel.yaml"
    assert session.get(("listener", "dicom", "port")) == 4105
    assert session.get(("destinations",)) == ["received-files"]
    assert "# Unique id of the channel." in session.text()  # the template's comments stay
    channel = check_channel_text(session.path, session.text())
    assert channel.errors == [], [str(e) for e in channel.errors]


def test_new_channel_without_named_destinations_writes_files_inline(tmp_path: Path) -> None:
    session = new_channel_session(tmp_path, [], [])
    destinations = session.get(("destinations",))
    assert destinations[0]["type"] == "file"
    channel = check_channel_text(session.path, session.text())
    assert channel.errors == [], [str(e) for e in channel.errors]


def test_clone_gets_a_new_id_and_port_and_keeps_the_rest(tmp_path: Path) -> None:
    text = "# mine\nid: ct\nenabled: true\nlistener:\n  type: dicom\n  dicom:\n    port: 4104\n"
    source = EditSession(tmp_path / "ct" / "channel.yaml", text.encode())
    (tmp_path / "ct-copy").mkdir()  # a folder of that name exists already
    summary = ChannelSummary(source.path, "ct", True, "dicom", 4104)
    clone = clone_session(source, tmp_path, [summary])
    assert clone.get(("id",)) == "ct-copy-2"
    assert clone.get(("listener", "dicom", "port")) == 4105
    assert clone.text().startswith("# mine\n")
