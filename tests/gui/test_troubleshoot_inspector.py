"""Issue 7's window acceptance: a refused association explained, fixed in one click, and let
through after Save + Apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydicom.data import get_testdata_file

from tests.gui.conftest import needs_dcmtk, spin_until

CT = get_testdata_file("CT_small.dcm")


def _rows(window: Any, calling: str, state: str) -> list[dict[str, Any]]:
    model = window.associations.model
    records = [model.record(r) for r in range(model.rowCount())]
    return [r for r in records if r and r.get("calling_ae") == calling and r.get("state") == state]


@needs_dcmtk
def test_refusal_is_explained_fixed_in_one_click_and_next_attempt_gets_through(
        qtbot: Any, window: Any, runtime: Any, channel_port: int, sender: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    from intu_desktop.gui.editor import ChannelEditor

    editors: list[ChannelEditor] = []
    channel_file = runtime.listeners["gui-test"].channel.path

    def open_editor() -> ChannelEditor:  # the window's own editor, remembered for the checks
        if not editors:
            editors.append(window.open_editor())
        return editors[0]

    inspector = window.inspector  # wired into the associations view by the main window
    inspector.open_editor = open_editor
    window.tabs.setCurrentWidget(window.associations)
    try:
        refused = sender.store(channel_port, [CT], aet="CT_SCANER_1")
        assert refused.returncode != 0
        spin_until(lambda: bool(_rows(window, "CT_SCANER_1", "rejected")))
        row = window.associations.model.row_of(_rows(window, "CT_SCANER_1", "rejected")[0]["id"])
        window.associations.select_row(row)

        assert inspector.hints.isVisibleTo(window)
        titles = inspector.hints.titles()
        assert any("did you mean CT_SCANNER_1?" in t for t in titles), titles
        html = inspector.text.toPlainText()
        assert "calling AE title not recognized" in html
        assert "'CT_SCANER_1'" in html and "Implementation class UID" in html
        assert inspector.timing.segments and inspector.timing.segments[-1].kind == "rejected"

        [button] = inspector.hints.fix_buttons
        assert button.text() == "Allow this calling AE (CT_SCANER_1)"
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        editor = editors[0]
        page = editor.current_page()
        assert page is not None and page.is_dirty()
        assert page.tabs.currentWidget() is page.diff_view
        assert "+      - CT_SCANER_1" in page.diff_view.toPlainText()
        assert "CT_SCANER_1" not in channel_file.read_text(encoding="utf-8")  # staged, not saved

        qtbot.waitUntil(page.can_apply, timeout=10000)
        qtbot.mouseClick(page.apply_button, Qt.MouseButton.LeftButton)
        spin_until(lambda: page.last_apply is not None, 20000)
        assert page.last_apply is not None and page.last_apply[0], page.last_apply
        assert "CT_SCANER_1" in channel_file.read_text(encoding="utf-8")

        accepted = sender.store(channel_port, [CT], aet="CT_SCANER_1")
        assert accepted.returncode == 0, accepted.stderr
        spin_until(lambda: bool(_rows(window, "CT_SCANER_1", "released")))
        done = _rows(window, "CT_SCANER_1", "released")[0]
        window.associations.select_row(window.associations.model.row_of(done["id"]))
        assert not inspector.hints.isVisibleTo(window)
        assert "0x0000 Success" in inspector.text.toPlainText()
    finally:
        for editor in editors:
            editor.discard_changes()  # the window closes its own editor on shutdown
