"""With the window open, real DCMTK senders: rows, thumbnails and associations appear live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.gui.conftest import needs_dcmtk, wait_for

pytestmark = needs_dcmtk

# (file, storescu option proposing the file's own transfer syntax, expected values)
SAMPLES = [
    ("CT_small.dcm", [], "CT", "CT Image Storage", "Explicit VR Little Endian"),
    ("MR_small.dcm", [], "MR", "MR Image Storage", "Explicit VR Little Endian"),
    (
        "JPEG2000.dcm",
        ["-xw"],
        "NM",
        "Secondary Capture Image Storage",
        "JPEG 2000 Image Compression",
    ),
    ("MR_small_RLE.dcm", ["-xr"], "MR", "MR Image Storage", "RLE Lossless"),
    (
        "SC_rgb_jpeg_dcmtk.dcm",
        ["-xy"],
        "OT",
        "Secondary Capture Image Storage",
        "JPEG Baseline (Process 1)",
    ),
]


def image_pixels(image: Any) -> np.ndarray:
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = rgb.width(), rgb.height(), rgb.bytesPerLine()
    raw = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=stride * height)
    return raw.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def sample_file(name: str, folder: Path) -> Path:
    """The pydicom sample; MR_small_RLE shares MR_small's SOP Instance UID, so it gets its own."""
    path = Path(get_testdata_file(name))
    if name != "MR_small_RLE.dcm":
        return path
    ds = dcmread(path)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    out = folder / name
    ds.save_as(out)  # the RLE fragments are written back as they are
    return out


def test_sent_objects_appear_with_their_values_and_thumbnails(
    qtbot, window, sender, channel_port, tmp_path
):
    from intu_desktop.gui.models.instance_query import COLUMN_INDEX
    from intu_desktop.gui.models.instance_table import ROW_ROLE

    expected = {}
    for name, options, modality, sop_class, syntax in SAMPLES:
        path = sample_file(name, tmp_path)
        ds = dcmread(path, stop_before_pixels=True)
        expected[str(ds.SOPInstanceUID)] = (ds, modality, sop_class, syntax)
        result = sender.store(channel_port, [path], options=options)
        assert result.returncode == 0, result.stderr

    model = window.instances.model
    wait_for(qtbot, lambda: model.total == len(SAMPLES) and model.rowCount() == len(SAMPLES))

    def all_rows() -> list[Any]:
        return [model.index(r, 0).data(ROW_ROLE) for r in range(model.rowCount())]

    wait_for(qtbot, lambda: all(row is not None for row in all_rows()))
    rows = {row.sop_uid: row for row in all_rows()}
    assert set(rows) == set(expected)
    for sop_uid, (ds, modality, sop_class, syntax) in expected.items():
        values = rows[sop_uid].values
        family, _, given = str(ds.PatientName).partition("^")
        assert values[COLUMN_INDEX["patient"]] == (f"{family}, {given}" if given else family)
        assert values[COLUMN_INDEX["patient_id"]] == str(ds.PatientID)
        study_date = str(ds.StudyDate)
        assert (
            values[COLUMN_INDEX["study_date"]]
            == f"{study_date[:4]}-{study_date[4:6]}-{study_date[6:]}"
        )
        assert values[COLUMN_INDEX["modality"]] == modality
        assert values[COLUMN_INDEX["sop_class"]] == sop_class
        assert values[COLUMN_INDEX["transfer_syntax"]] == syntax
        assert values[COLUMN_INDEX["calling_ae"]] == "STORESCU"
        assert values[COLUMN_INDEX["size"]].endswith(("KB", "MB", "B"))
        assert values[COLUMN_INDEX["received"]]

    # The live strip shows the five arrivals; each thumbnail is rendered from real pixels.
    strip = window.strip.model
    wait_for(qtbot, lambda: strip.rowCount() == len(SAMPLES))
    ids = [item.instance_id for item in strip.items()]
    for row in range(strip.rowCount()):  # ask for the images as a view would
        strip.index(row, 0).data(1)
    provider = window.thumbnails
    wait_for(qtbot, lambda: all(provider.peek(i) is not None for i in ids))
    for instance_id in ids:
        thumb = provider.peek(instance_id)
        assert thumb.error is None, thumb.error
        assert thumb.has_pixels, thumb.summary
        pixels = image_pixels(thumb.image)
        assert pixels.shape[0] > 8 and pixels.shape[1] > 8
        assert pixels.std() > 1.0, "thumbnail is uniform"


def test_unknown_calling_ae_is_shown_rejected_with_the_reason_in_words(
    qtbot, window, sender, channel_port
):
    result = sender.echo(channel_port, aet="UNKNOWN_AE")
    assert result.returncode != 0
    model = window.associations.model

    def rejected_row() -> int | None:
        for row in range(model.rowCount()):
            rec = model.record(row)
            if rec and rec.get("calling_ae") == "UNKNOWN_AE" and rec.get("state") == "rejected":
                return row
        return None

    wait_for(qtbot, lambda: rejected_row() is not None)
    row = rejected_row()
    assert model.index(row, 5).data() == "rejected"
    reason = model.index(row, 6).data()
    assert "calling AE title not recognized" in reason
    window.tabs.setCurrentWidget(window.associations)
    window.associations.select_row(row)
    html = window.associations.details.toPlainText()
    assert "calling AE title not recognized" in html
    assert "Verification" in html  # the proposed context, by name


def test_accepted_association_lists_contexts_by_name(qtbot, window, sender, channel_port):
    result = sender.store(channel_port, [get_testdata_file("CT_small.dcm")])
    assert result.returncode == 0, result.stderr
    model = window.associations.model
    wait_for(qtbot, lambda: model.rowCount() >= 1 and model.record(0).get("state") == "released")
    rec = model.record(0)
    assert rec["calling_ae"] == "STORESCU" and rec["called_ae"] == "INTU_SCP"
    assert model.index(0, 7).data() == "1"
    window.associations.select_row(0)
    text = window.associations.details.toPlainText()
    assert "CT Image Storage" in text
    assert "Explicit VR Little Endian" in text
    assert "acceptance" in text


@pytest.mark.parametrize("name", ["CT_small.dcm"])
def test_selecting_an_instance_opens_image_and_tags(qtbot, window, sender, channel_port, name):
    from intu_desktop.gui.models.instance_table import ROW_ROLE

    assert sender.store(channel_port, [get_testdata_file(name)]).returncode == 0
    model = window.instances.model
    wait_for(qtbot, lambda: model.rowCount() == 1 and model.index(0, 0).data(ROW_ROLE) is not None)
    window.instances.table.selectRow(0)
    detail = window.detail
    wait_for(qtbot, lambda: detail.canvas.image is not None and detail.tags.rowCount() > 10)
    names = [detail.tags.index(r, 1).data() for r in range(detail.tags.rowCount())]
    assert "SOP Instance UID" in names
    assert any("(private)" in n for n in names)  # CT_small carries GE private tags
    before = image_pixels(detail.canvas.image)
    detail.set_window(0.0, 50.0)
    wait_for(qtbot, lambda: not np.array_equal(image_pixels(detail.canvas.image), before))
    grid = window.grid.model
    wait_for(qtbot, lambda: grid.rowCount() == 1)
