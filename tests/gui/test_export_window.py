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
