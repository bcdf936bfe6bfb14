"""Issue 8: export from the window honours the current filter, off the GUI thread."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.gui.conftest import wait_for
from pydicom.data import get_testdata_file

from intu_desktop.export import EXPORT_COLUMNS
from intu_desktop.gui.models.instance_query import InstanceFilter


def test_export_honours_the_current_filter(qtbot, window, sender, channel_port, tmp_path: Path) -> None:
    files = [Path(get_testdata_file(n)) for n in ("CT_small.dcm", "MR_small.dcm")]
    assert sender.store(channel_port, files).returncode == 0
    wait_for(qtbot, lambda: window.instances.model.rowCount() == 2)
    mr_only = InstanceFilter(modality="MR")
    window.instances.set_filter(mr_only)
    wait_for(qtbot, lambda: window.instances.model.rowCount() == 1)

    dialog = window.open_export()  # File > Export received metadata…
    out = tmp_path / "mr.csv"
    dialog.path.setText(str(out))
    assert dialog.notice.isVisibleTo(dialog)  # identifiable data: said before exporting
    with qtbot.waitSignal(dialog.finished_export, timeout=30000) as done:
        dialog.export_button.click()
    assert done.args[0] == 1
    with open(out, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [r[EXPORT_COLUMNS.index("modality")] for r in rows[1:]] == ["MR"]

    dialog.deidentify.setChecked(True)
    assert not dialog.notice.isVisibleTo(dialog)
    dialog.scope_all.setChecked(True)
    with qtbot.waitSignal(dialog.finished_export, timeout=30000) as done:
        dialog.export_button.click()
    assert done.args[0] == 2
    text = out.read_text(encoding="utf-8")
    assert "CompressedSamples" not in text  # CT_small/MR_small patient names are gone


def test_quitting_stops_a_running_export(qtbot, runtime, settings, gui_process, tmp_path: Path, monkeypatch) -> None:
    """An export the user started stops when the app quits: the process must not stay on it,
    holding the port, after its window has gone."""
    import threading

    from intu_desktop.export import ExportCancelled
    from intu_desktop.gui import export_dialog
    from intu_desktop.gui.main_window import MainWindow

    running, seen_cancel = threading.Event(), []

    def endless_export(index, instance_filter, out, opts, progress=None, cancel=None):
        running.set()
        seen_cancel.append(cancel.wait(20))  # a long export, until it is told to stop
        raise ExportCancelled()

    monkeypatch.setattr(export_dialog, "run_export", endless_export)
    window = MainWindow(runtime, settings)
    window.show()
    qtbot.waitExposed(window)
    dialog = window.open_export()
    dialog.path.setText(str(tmp_path / "all.csv"))
    dialog.export_button.click()
    assert running.wait(20)
    window._quitting = True
    window.shutdown()  # waits for the running export, which must have been told to stop
    assert seen_cancel == [True]
    assert not (tmp_path / "all.csv").exists()
    window.close()
    window.deleteLater()
