"""The editor's form and YAML tab in step, undo/redo, desktop-only marks, staged fixes."""

from __future__ import annotations

import trustme
from editor_helpers import click, field, field_error, retype, wait_checked
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QListWidget, QPushButton

from intu_desktop.gui.editor import accept_called_ae, allow_calling_ae


def test_yaml_tab_and_form_stay_in_step_both_ways(qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)

    retype(qtbot, field(page, "description", QLineEdit), "CT and MR")
    assert "description: CT and MR\n" in page.yaml_view.toPlainText()

    page.tabs.setCurrentWidget(page.yaml_view)
    cursor = page.yaml_view.textCursor()
    text = page.yaml_view.toPlainText()
    cursor.setPosition(text.index("INTU_SCP") + len("INTU_SCP"))
    page.yaml_view.setTextCursor(cursor)
    qtbot.keyClicks(page.yaml_view, "2")
    assert field(page, "listener.dicom.ae_title", QLineEdit).text() == "INTU_SCP2"

    qtbot.keyClicks(page.yaml_view, ": [")  # a syntax error: listed with its line
    wait_checked(qtbot, page)
    assert not page.form.isEnabled()
    assert any(e.key_path == "(syntax)" for e in page.errors)
    assert not page.save_button.isEnabled()
    for _ in range(3):
        qtbot.keyClick(page.yaml_view, Qt.Key.Key_Backspace)
    wait_checked(qtbot, page)
    assert page.form.isEnabled() and page.errors == []


def test_undo_and_redo_restore_exact_text(qtbot, spec_project, make_editor) -> None:
    original = spec_project.channel.read_text(encoding="utf-8")
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)
    port = field(page, "listener.dicom.port", QLineEdit)

    retype(qtbot, port, "5000")
    retype(qtbot, field(page, "listener.dicom.ae_title", QLineEdit), "OTHER_SCP")
    assert page.undo_stack.count() == 2  # keystrokes in one field merge into one step
    editor.undo_action.trigger()
    editor.undo_action.trigger()
    assert page.session.text() == original
    assert port.text() == "4104" and not page.is_dirty()
    assert not editor.isWindowModified()
    editor.redo_action.trigger()
    assert port.text() == "5000" and page.is_dirty()
    assert "[*]" in editor.windowTitle() and editor.isWindowModified()


def test_desktop_only_extensions_are_marked(qtbot, spec_project, make_editor) -> None:
    text = spec_project.channel.read_text(encoding="utf-8")
    text = text.replace("    site_note:", "    max_associations: 4\n    site_note:")
    text = text.replace("transformer:\n  runtime: node", "transformer:\n  runtime: python")
    spec_project.channel.write_text(text, encoding="utf-8")
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)

    notice = page.extensions_label
    assert not notice.isHidden()
    assert "listener.dicom.max_associations" in notice.text()
    assert "transformer.runtime" in notice.text()
    labels = [label.text() for label in page.findChildren(QLabel)
              if label.property("desktopOnly")]
    assert any("Maximum associations" in t for t in labels)
    runtime = field(page, "transformer.runtime", QComboBox)
    assert runtime.currentText() == "python (desktop only)"


def test_calling_ae_list_refuses_invalid_titles(qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)
    new = field(page, "listener.dicom.calling_ae_titles:new", QLineEdit)

    qtbot.keyClicks(new, "THIS_TITLE_IS_TOO_LONG")
    qtbot.keyClick(new, Qt.Key.Key_Return)
    assert "longer than 16 characters" in field_error(page, "listener.dicom.calling_ae_titles")
    qtbot.keyClick(new, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(new, "CT_SCANNER_1")
    qtbot.keyClick(new, Qt.Key.Key_Return)
    assert "already in the list" in field_error(page, "listener.dicom.calling_ae_titles")
    assert not page.is_dirty()

    titles = field(page, "listener.dicom.calling_ae_titles", QListWidget)
    titles.setCurrentRow(0)
    click(qtbot, page.findChild(QPushButton, "down:listener.dicom.calling_ae_titles"))
    assert page.session.get(("listener", "dicom", "calling_ae_titles")) == [
        "MR_SCANNER_2", "CT_SCANNER_1", "PACS_PRIMARY"]


def _button(page, text: str) -> QPushButton:
    return next(b for b in page.findChildren(QPushButton) if b.text() == text)


def test_staged_fix_shows_diff_and_saves_only_when_asked(qtbot, spec_project, make_editor) -> None:
    original = spec_project.channel.read_text(encoding="utf-8")
    editor = make_editor(spec_project.root, [spec_project.channel])

    page = allow_calling_ae(editor, spec_project.channel, "CT_SCANER_1")
    assert page is not None
    assert page.tabs.currentWidget() is page.diff_view
    assert "+      - CT_SCANER_1" in page.diff_view.toPlainText()
    assert "allow the calling AE CT_SCANER_1" in page.staged_banner.label.text()
    assert spec_project.channel.read_text(encoding="utf-8") == original  # not saved

    accept_called_ae(editor, spec_project.channel, "PACS_ROUTER ")
    assert "+    ae_title: PACS_ROUTER" in page.diff_view.toPlainText()
    wait_checked(qtbot, page)
    click(qtbot, page.staged_banner.buttons["Save"])
    saved = spec_project.channel.read_text(encoding="utf-8")
    assert "      - CT_SCANER_1\n" in saved and "ae_title: PACS_ROUTER\n" in saved
    assert page.staged_banner.isHidden()


def test_tls_files_are_checked_as_pem(qtbot, spec_project, make_editor) -> None:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    other = ca.issue_cert("other.example")
    folder = spec_project.channel.parent  # relative paths, as users keep them beside the channel
    cert, key, wrong_key = folder / "server.pem", folder / "server.key", folder / "o.key"
    server.cert_chain_pems[0].write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    other.private_key_pem.write_to_path(str(wrong_key))
    not_pem = folder / "notes.txt"
    not_pem.write_text("hello\n")
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)

    retype(qtbot, field(page, "listener.dicom.tls.cert_file", QLineEdit), not_pem.name)
    retype(qtbot, field(page, "listener.dicom.tls.key_file", QLineEdit), wrong_key.name)
    wait_checked(qtbot, page)
    assert "not a PEM file" in field_error(page, "listener.dicom.tls.cert_file")
    assert not page.save_button.isEnabled()

    retype(qtbot, field(page, "listener.dicom.tls.cert_file", QLineEdit), cert.name)
    wait_checked(qtbot, page)
    assert field_error(page, "listener.dicom.tls.cert_file") == ""
    assert "is not the private key of" in field_error(page, "listener.dicom.tls.key_file")

    retype(qtbot, field(page, "listener.dicom.tls.key_file", QLineEdit), key.name)
    wait_checked(qtbot, page)
    assert page.errors == []
    assert page.save_button.isEnabled()


def test_port_below_1024_notes_administrator_rights(qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), "104")
    notes = [label.text() for label in page.findChildren(QLabel, "fieldNote")
             if not label.isHidden()]
    assert any("Port 104 is below 1024" in n for n in notes)


def test_enabled_checkbox_and_script_entrypoint(qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)
    box = field(page, "enabled", QCheckBox)
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert "enabled: false  # set to false to pause" in page.session.text()  # comment column kept

    open_button = _button(page, "Open in editor")  # the validator's: its file exists
    assert open_button.isEnabled()
    retype(qtbot, field(page, "validator.entrypoint", QLineEdit), "missing.ts")
    wait_checked(qtbot, page)
    assert "file not found" in field_error(page, "validator.entrypoint")
    assert not _button(page, "Open in editor").isEnabled()


def test_destinations_named_and_inline(qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    wait_checked(qtbot, page)
    section = page.destinations

    section.type_combo.setCurrentIndex(section.type_combo.findData("fhir"))
    click(qtbot, section.add_inline_button)
    wait_checked(qtbot, page)
    assert "must not be empty" in field_error(page, "destinations[2].fhir.base_url")
    assert not page.save_button.isEnabled()
    retype(qtbot, field(page, "destinations[2].fhir.base_url", QLineEdit), "https://x.org/r4")
    wait_checked(qtbot, page)
    assert page.errors == []
    assert page.session.text().endswith(
        "  - pacs-archive\n  - name: fhir-destination\n    type: fhir\n    fhir:\n"
        "      base_url: https://x.org/r4\n")

    section.type_combo.setCurrentIndex(section.type_combo.findData("log"))
    click(qtbot, section.add_inline_button)
    wait_checked(qtbot, page)
    assert "destinations[3].type" in page.extensions_label.text()  # log is desktop only
    click(qtbot, section.up_button)
    assert [describe_name(e) for e in page.session.get(("destinations",))] == [
        "fhir-imaging-api", "pacs-archive", "log-destination", "fhir-destination"]
    click(qtbot, section.remove_button)
    section.list.setCurrentRow(0)
    click(qtbot, section.remove_button)
    section.named_combo.setCurrentIndex(section.named_combo.findText("fhir-imaging-api"))
    click(qtbot, section.add_named_button)
    assert [describe_name(e) for e in page.session.get(("destinations",))] == [
        "pacs-archive", "fhir-destination", "fhir-imaging-api"]
    wait_checked(qtbot, page)
    assert page.errors == []


def describe_name(entry) -> str:
    return entry if isinstance(entry, str) else entry["name"]


def test_activating_a_problem_shows_its_field_or_line(qtbot, spec_project, make_editor) -> None:
    editor = make_editor(spec_project.root, [spec_project.channel])
    page = editor.open_channel(spec_project.channel)
    retype(qtbot, field(page, "listener.dicom.port", QLineEdit), "0")
    page.tabs.setCurrentWidget(page.yaml_view)
    wait_checked(qtbot, page)

    _activate(qtbot, page.error_list, 0)
    assert page.tabs.currentWidget() is page.form_scroll
    assert field(page, "listener.dicom.port", QLineEdit).hasFocus()

    page.yaml_view.setPlainText(page.yaml_view.toPlainText() + "oops: [\n")
    wait_checked(qtbot, page)
    _activate(qtbot, page.error_list, 0)
    assert page.tabs.currentWidget() is page.yaml_view
    assert page.yaml_view.textCursor().blockNumber() + 1 == page.errors[0].line


def _activate(qtbot, view, row: int) -> None:
    item = view.item(row)
    center = view.visualItemRect(item).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=center)
