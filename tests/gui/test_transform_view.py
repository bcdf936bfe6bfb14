"""The transform results panel shows the ImagingStudy the spec's transformer made from CT_small,
per-destination delivery state, and Retry/Reprocess."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from tests.gui.conftest import free_port, needs_dcmtk, pipeline_available, wait_for

pytestmark = [
    needs_dcmtk,
    pytest.mark.skipif(
        not pipeline_available(), reason="the pipeline and deliveries are not built yet"
    ),
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
]


def spec_transformer() -> str:
    from tests.dicomtools import spec_transformer_source

    return spec_transformer_source()


@pytest.fixture
def project(tmp_path: Path, channel_port: int) -> Any:
    from tests.gui.conftest import load_project, write_channel

    folder = tmp_path / "project" / "imaging"
    dead_port = free_port()  # nothing listens here: that delivery ends as a dead letter
    extra = f"""\
transformer:
  runtime: node
  entrypoint: transformer.ts
destinations:
  - name: exports
    type: file
    file:
      directory: {json.dumps(str(tmp_path / "exports"))}
  - name: fhir-server
    type: http
    http:
      url: http://127.0.0.1:{dead_port}/fhir/ImagingStudy
    retry:
      max_attempts: 1
"""
    path = write_channel(folder, channel_port, calling=["STORESCU"], extra=extra)
    (folder / "transformer.ts").write_text(spec_transformer(), encoding="utf-8")
    return load_project([path])


def test_transform_view_shows_the_imaging_study_and_deliveries(qtbot, window, sender, channel_port):
    from PySide6.QtCore import Qt

    from intu_desktop.gui.models.instance_table import ROW_ROLE

    ct = get_testdata_file("CT_small.dcm")
    ds = dcmread(ct, stop_before_pixels=True)
    assert sender.store(channel_port, [ct]).returncode == 0
    model = window.instances.model
    wait_for(qtbot, lambda: model.rowCount() == 1 and model.index(0, 0).data(ROW_ROLE) is not None)
    window.instances.table.selectRow(0)
    window.detail_tabs.setCurrentWidget(window.transform)
    view = window.transform
    wait_for(qtbot, lambda: view.info is not None and view.info.has_run, timeout_ms=90_000)
    info = view.info
    assert info.status == "ok", (info.error, info.stack)
    study = json.loads(view.output_text.toPlainText())
    assert study["resourceType"] == "ImagingStudy"
    assert study["series"][0]["instance"][0]["uid"] == str(ds.SOPInstanceUID)
    assert "ImagingStudy" in view.output_label.text()
    assert json.loads(view.body_text.toPlainText())["sopInstanceUid"] == str(ds.SOPInstanceUID)
    assert "Validator: no validator" in view.problems.toPlainText()

    def states() -> dict[str, str]:
        tree = view.deliveries
        return {
            tree.topLevelItem(i).text(0): tree.topLevelItem(i).text(2)
            for i in range(tree.topLevelItemCount())
        }

    wait_for(
        qtbot,
        lambda: states() == {"exports": "delivered", "fhir-server": "dead letter"},
        timeout_ms=60_000,
    )
    # The row's pipeline status refreshes with the table's next re-query (at most every 500 ms).
    wait_for(qtbot, lambda: model.index(0, 11).data() == "ok")

    # Retry is offered for the dead letter only.
    tree = view.deliveries
    dead = next(
        tree.topLevelItem(i)
        for i in range(tree.topLevelItemCount())
        if tree.topLevelItem(i).text(0) == "fhir-server"
    )
    tree.setCurrentItem(dead)
    assert view.retry_button.isEnabled()

    def fhir_updated_at() -> float:
        return next(d.updated_at for d in view.info.deliveries if d.destination == "fhir-server")

    before = fhir_updated_at()
    qtbot.mouseClick(view.retry_button, Qt.MouseButton.LeftButton)
    # Retry puts the dead letter back in the queue; it is tried again (and fails again here).
    wait_for(
        qtbot,
        lambda: fhir_updated_at() > before and states()["fhir-server"] == "dead letter",
        timeout_ms=60_000,
    )

    # Reprocess makes a new run.
    first_run = info.run_id
    assert view.reprocess_button.isEnabled()
    qtbot.mouseClick(view.reprocess_button, Qt.MouseButton.LeftButton)
    wait_for(
        qtbot, lambda: view.info is not None and view.info.run_id > first_run, timeout_ms=60_000
    )
    assert view.info.status == "ok"
