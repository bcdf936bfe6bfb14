"""Issue 6 acceptance: the channel editor, driven through its widgets."""

from __future__ import annotations

import difflib
import json
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from dicomtools import REPO, SPEC, echoscu, free_port, sample, storescu, wait_for, write_channel
from editor_helpers import click, field, field_error, retype, wait_checked
from PySide6.QtWidgets import QLineEdit, QPushButton

from intu_desktop.gui.editor import restart_listener
from intu_desktop.index.instances import find_instance_ids

SCHEMA = SPEC.parent / "intu-channel.schema.json"


def _changed_lines(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_round_trip_changes_only_the_edited_lines(qtbot, spec_project, make_editor) -> None:
    original = spec_project.channel.read_text(encoding="utf-8")
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)
    assert page.errors == []

    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), "4105")
    qtbot.keyClicks(field(page, "listener.dicom.calling_ae_titles:new", QLineEdit), "US_ROOM_3")
    click(qtbot, page.findChild(QPushButton, "add:listener.dicom.calling_ae_titles"))
    wait_checked(qtbot, page)
    assert editor.isWindowModified()
    click(qtbot, page.save_button)

    saved = spec_project.channel.read_text(encoding="utf-8")
    assert _changed_lines(original, saved) == [
        "-    port: 4104",
        "+    port: 4105",
        "+      - US_ROOM_3",
    ]
    assert not editor.isWindowModified()
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(yaml.safe_load(saved), schema)


@pytest.mark.parametrize(("key", "typed", "words"), [
    ("listener.dicom.ae_title", "ABCDEFGHIJKLMNOPQ", "longer than 16 characters"),
    ("listener.dicom.port", "70000", "must be between 1 and 65535"),
])
def test_invalid_value_shows_error_on_field_and_disables_save(
        qtbot, spec_project, make_editor, key: str, typed: str, words: str) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)

    retype(qtbot, field(page, key, QLineEdit), typed)
    wait_checked(qtbot, page)

    assert words in field_error(page, key)
    assert not page.save_button.isEnabled()
    assert not editor.save_action.isEnabled()
    assert any(words in str(e) and e.line > 1 for e in page.errors)  # listed with its line


def test_file_changed_on_disk_is_offered_for_reload_never_overwritten(
        qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)
    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), "4106")
    wait_checked(qtbot, page)

    outside = spec_project.channel.read_text(encoding="utf-8").replace("port: 4104", "port: 4200")
    spec_project.channel.write_text(outside, encoding="utf-8")
    qtbot.waitUntil(lambda: page.external_change_shown, timeout=10000)  # the file watcher

    click(qtbot, page.save_button)  # the user tries anyway: refused, not overwritten
    assert spec_project.channel.read_text(encoding="utf-8") == outside
    assert page.external_change_shown

    click(qtbot, page.external_banner.buttons["Reload"])
    assert field(page, "listener.dicom.port", QLineEdit).text() == "4200"
    assert not page.is_dirty()
    assert spec_project.channel.read_text(encoding="utf-8") == outside


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "in use"
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def test_apply_with_new_port_frees_the_old_one(
        qtbot, tmp_path: Path, start_runtime, make_editor) -> None:
    old_port, other_port = free_port(), free_port()
    channel = write_channel(tmp_path / "edited", port=old_port, channel_id="edited")
    other = write_channel(tmp_path / "other", port=other_port, channel_id="other")
    runtime = start_runtime(channel, other, with_pipeline=False)
    other_listener = runtime.listeners["other"]
    editor = make_editor(None, [channel, other], lambda ch: restart_listener(runtime, ch))
    page = editor.open_channel(channel)
    wait_checked(qtbot, page)

    new_port = free_port()
    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), str(new_port))
    wait_checked(qtbot, page)
    click(qtbot, page.apply_button)
    qtbot.waitUntil(lambda: page.last_apply is not None, timeout=20000)

    assert page.last_apply == (True, f"listening on port {new_port}")
    assert f"listening on port {new_port}" in page.result_banner.label.text()
    assert not page.is_dirty()  # Apply saved first
    assert _port_is_free(old_port)
    result = echoscu(new_port)
    assert result.returncode == 0, result.stderr
    assert runtime.listeners["other"] is other_listener  # the other channel is untouched
    assert echoscu(other_port).returncode == 0


def test_new_channel_from_template_validates_and_receives_after_apply(
        qtbot, tmp_path: Path, start_runtime, make_editor) -> None:
    root = tmp_path / "project"
    (root / "src" / "channels").mkdir(parents=True)
    exports = tmp_path / "exports"
    (root / "intu.yaml").write_text(
        "channels_dir: src/channels\n"
        "destinations:\n"
        "  received-files:\n"
        "    type: file\n"
        "    file:\n"
        f"      directory: {json.dumps(str(exports))}\n", encoding="utf-8")
    runtime = start_runtime(project_dir=root, with_pipeline=False)
    editor = make_editor(root, [], lambda ch: restart_listener(runtime, ch))

    click(qtbot, editor.panel.new_button)
    page = editor.current_page()
    port = free_port()
    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), str(port))
    wait_checked(qtbot, page)
    click(qtbot, page.save_button)

    saved = root / "src" / "channels" / "new-dicom-channel" / "channel.yaml"
    assert page.session.path == saved and saved.is_file()
    validated = subprocess.run(
        [sys.executable, "-m", "intu_desktop", "validate", "--channel", str(saved)],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert validated.returncode == 0, validated.stdout + validated.stderr

    wait_checked(qtbot, page)  # re-checked as the file it now is
    click(qtbot, page.apply_button)
    qtbot.waitUntil(lambda: page.last_apply is not None, timeout=20000)
    assert page.last_apply == (True, f"listening on port {port}")
    sent = storescu(port, [sample("CT_small.dcm")], aet="ANY_MODALITY")
    assert sent.returncode == 0, sent.stderr
    uid = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
    assert wait_for(lambda: find_instance_ids(runtime.index, sop=uid), timeout=30)
