"""The channel list (New, Clone, Delete, Enable/Disable), intu.yaml's named destinations,
and the prompt on close."""

from __future__ import annotations

from pathlib import Path

import pytest
from editor_helpers import click, field, field_error, retype, wait_checked
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QMessageBox

from intu_desktop.config import load_project
from intu_desktop.gui.editor.channel_list import ChannelListModel, ChannelListRow


def test_channel_list_model_passes_qtmodeltester(qtmodeltester) -> None:
    model = ChannelListModel()
    rows = [ChannelListRow(Path(f"/p/{n}/channel.yaml"), n, n != "b", "dicom", 4104 + i)
            for i, n in enumerate("abc")]
    model.set_rows(rows)
    qtmodeltester.check(model, force_py=True)
    model.insert_row(1, ChannelListRow(Path("/p/d/channel.yaml"), "d", True, "http", None,
                                       dirty=True, new=True))
    model.update_row(0, ChannelListRow(rows[0].path, "a", True, "dicom", 4104, dirty=True))
    model.remove_row(2)
    qtmodeltester.check(model, force_py=True)
    assert [model.index(i, 0).data() for i in range(model.rowCount())] == [
        "a *", "d (new) *", "c"]


def test_new_and_clone_are_saved_into_their_own_folders(qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [])  # the project's channels are found
    assert editor.model.rowCount() == 1

    click(qtbot, editor.panel.new_button)
    new_page = editor.current_page()
    wait_checked(qtbot, new_page)
    # The template names a destination this project lacks: the first named one is used.
    assert new_page.session.get(("destinations",)) == ["fhir-imaging-api"]
    assert new_page.session.get(("listener", "dicom", "port")) == 4105  # 4104 is taken
    retype(qtbot, field(new_page, "id", QLineEdit), "ct-ingest")
    wait_checked(qtbot, new_page)
    click(qtbot, new_page.save_button)
    channels = spec_project.root / "src" / "channels"
    assert (channels / "ct-ingest" / "channel.yaml").is_file()

    editor.panel.select(0)
    click(qtbot, editor.panel.clone_button)
    clone = editor.current_page()
    wait_checked(qtbot, clone)
    assert clone.errors == []  # the source's scripts resolve before the first save
    click(qtbot, clone.save_button)
    copy = channels / "dicom-radiology-ingest-copy"
    assert (copy / "transformer.ts").is_file() and (copy / "validator.ts").is_file()
    project = load_project(spec_project.root)
    assert project.errors == [], [str(e) for e in project.errors]
    assert sorted(c.id for c in project.channels) == [
        "ct-ingest", "dicom-radiology-ingest", "dicom-radiology-ingest-copy"]
    assert len({c.dicom.port for c in project.channels}) == 3


def test_same_port_as_another_channel_is_an_error(qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [])
    click(qtbot, editor.panel.new_button)
    page = editor.current_page()
    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), "4104")
    wait_checked(qtbot, page)
    assert "already used by channel 'dicom-radiology-ingest'" in field_error(
        page, "listener.dicom.port")


def test_disable_is_staged_and_delete_moves_to_trash(
        qtbot, spec_project, make_editor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real send2trash, with its home trash (read once, at import) in this test's folder.
    from send2trash import plat_other

    trash = tmp_path / "xdg" / "Trash"
    monkeypatch.setattr(plat_other, "XDG_DATA_HOME", str(tmp_path / "xdg").encode())
    monkeypatch.setattr(plat_other, "HOMETRASH_B", str(trash).encode())
    monkeypatch.setattr(plat_other, "HOMETRASH", str(trash))
    editor = make_editor(spec_project.root, [])
    page = editor.current_page()
    wait_checked(qtbot, page)
    click(qtbot, editor.panel.toggle_button)
    assert page.session.get(("enabled",)) is False
    assert editor.panel.toggle_button.text() == "Enable"
    assert editor.model.index(0, 0).data() == "dicom-radiology-ingest *"

    answer_next_dialog(QMessageBox.StandardButton.Yes)
    click(qtbot, editor.panel.delete_button)
    folder = spec_project.channel.parent
    assert not folder.exists()
    trashed = list(trash.rglob("channel.yaml"))
    assert len(trashed) == 1
    assert editor.model.rowCount() == 0


def test_named_destinations_are_edited_in_intu_yaml(qtbot, spec_project, make_editor) -> None:
    intu = spec_project.root / "intu.yaml"
    original = intu.read_text(encoding="utf-8")
    editor = make_editor(spec_project.root, [])
    channel_page = editor.current_page()
    click(qtbot, editor.panel.project_button)
    page = editor.current_page()
    assert page is editor.project_page
    wait_checked(qtbot, page)

    form = page.named_form
    qtbot.keyClicks(form.new_name, "audit-log")
    form.type_combo.setCurrentIndex(form.type_combo.findData("log"))
    click(qtbot, form.add_button)
    level = field(page, "destinations.audit-log.log.level", QComboBox)
    level.setCurrentIndex(level.findText("warn"))
    level.activated.emit(level.currentIndex())
    wait_checked(qtbot, page)
    assert page.errors == []
    assert "destinations.audit-log.type" in page.extensions_label.text()
    assert not page.extensions_label.isHidden()
    click(qtbot, page.save_button)
    saved = intu.read_text(encoding="utf-8")
    assert saved.startswith(original)  # every earlier line is untouched
    assert saved[len(original):] == "  audit-log:\n    type: log\n    log:\n      level: warn\n"

    editor.panel.select(0)
    assert editor.current_page() is channel_page
    names = channel_page.destinations.named_combo
    assert "audit-log" in [names.itemText(i) for i in range(names.count())]


def test_close_asks_about_unsaved_changes(qtbot, spec_project, make_editor) -> None:
    original = spec_project.channel.read_text(encoding="utf-8")
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.current_page()
    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), "4200")

    answer_next_dialog(QMessageBox.StandardButton.Cancel)
    assert not editor.close()
    assert editor.isVisible() and page.is_dirty()

    answer_next_dialog(QMessageBox.StandardButton.Discard)
    assert editor.close()
    assert spec_project.channel.read_text(encoding="utf-8") == original


def answer_next_dialog(button: QMessageBox.StandardButton) -> None:
    """Click `button` in the next modal message box, as the user would."""
    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, answer)
            return
        box.button(button).click()

    QTimer.singleShot(0, answer)


def test_keep_my_version_then_save_replaces_the_outside_change(
        qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.current_page()
    wait_checked(qtbot, page)
    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), "4300")
    spec_project.channel.write_text("id: theirs\n", encoding="utf-8")
    page.check_disk()  # as on returning to the window
    assert page.external_change_shown

    click(qtbot, page.external_banner.buttons["Keep my version"])
    wait_checked(qtbot, page)
    click(qtbot, page.save_button)
    assert "port: 4300" in spec_project.channel.read_text(encoding="utf-8")


def test_other_listener_types_are_left_to_the_yaml_tab(qtbot, tmp_path: Path, make_editor) -> None:
    path = tmp_path / "hl7" / "channel.yaml"
    path.parent.mkdir()
    path.write_text("id: hl7\nenabled: true\nlistener:\n  type: tcp\n  tcp:\n    port: 2575\n")
    editor = make_editor(None, [path])
    page = editor.current_page()
    wait_checked(qtbot, page)
    assert not page._not_dicom.isHidden() and "“tcp”" in page._not_dicom.text()
    assert page._sections["dicom"].isHidden() and page._sections["advanced"].isHidden()
    assert not page._sections["destinations"].isHidden()
