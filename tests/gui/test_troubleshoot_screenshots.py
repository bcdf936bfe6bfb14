"""Screenshots of the inspector and the remote nodes table with real associations.

Written to docs/screenshots/ when INTU_SCREENSHOTS=1 (to refresh the docs), else to tmp_path
(the test then just checks that the views paint real data without errors)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydicom.data import get_testdata_file

from tests.gui.conftest import copies_of, needs_dcmtk, spin_until

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@needs_dcmtk
def test_screenshots(qtbot: Any, window: Any, runtime: Any, channel_port: int, sender: Any,
                     tmp_path: Path) -> None:
    from intu_desktop.gui.troubleshoot import AssociationInspector, RemoteNodesView

    out = DOCS if os.environ.get("INTU_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    inspector = AssociationInspector(runtime, None)
    inspector.attach(window.associations)
    nodes = RemoteNodesView(window.workers, runtime)
    window.tabs.addTab(nodes, "Remote nodes")
    window.bridge.events_ready.connect(nodes.apply_events)
    window.resize(1400, 900)
    files = copies_of(Path(get_testdata_file("CT_small.dcm")), tmp_path / "study", 6)
    assert sender.store(channel_port, files, aet="CT_SCANNER_1").returncode == 0
    assert sender.store(channel_port, files[:1], aet="CT_SCANER_1").returncode != 0
    assert sender.echo(channel_port, aet="STORESCU").returncode == 0
    model = window.associations.model

    def states() -> set[tuple[str, str]]:
        return {(str(r["calling_ae"]), str(r["state"])) for r in (model.record(i) for i in range(model.rowCount()))
                if r}
    spin_until(lambda: {("CT_SCANNER_1", "released"), ("CT_SCANER_1", "rejected"),
                        ("STORESCU", "released")} <= states())
    window.tabs.setCurrentWidget(window.associations)
    window.associations.setSizes([150, 650])  # room for the inspector in the picture
    rejected = next(i for i in range(model.rowCount()) if model.record(i)["state"] == "rejected")
    window.associations.select_row(rejected)
    qtbot.wait(50)
    assert window.grab().save(str(out / "inspector-refused.png"))
    released = next(i for i in range(model.rowCount()) if model.record(i)["calling_ae"] == "CT_SCANNER_1")
    window.associations.select_row(released)
    qtbot.wait(50)
    assert window.grab().save(str(out / "inspector-accepted.png"))

    def counted() -> bool:
        nodes.refresh()
        return nodes.model.rowCount() == 3 and all(
            nodes.model.node(r).associations for r in range(3))
    spin_until(counted)
    window.tabs.setCurrentWidget(nodes)
    qtbot.wait(50)
    assert window.grab().save(str(out / "remote-nodes.png"))
