"""Screenshots of each view with real received data, for docs/screenshots and the README.

    python scripts/screenshots.py --data-dir /tmp/intu-shots --out docs/screenshots

Starts the app offscreen (or on the display given by DISPLAY when --on-display is
passed) with a temporary channel on a free port, sends the pydicom sample objects
with DCMTK's storescu (each proposed in its own transfer syntax), waits for the
pipeline, selects items the way a user would and saves one PNG per view.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

# storescu flag that proposes a file's own transfer syntax: one table, the tests' own.
from dicomtools import PROPOSE_FLAG

STORESCU = "/usr/bin/storescu"
ECHOSCU = "/usr/bin/echoscu"

# Sample objects from pydicom's test data: images in several transfer syntaxes,
# a multi-frame, and objects without pixels (they get an icon and a summary).
SAMPLES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "JPEG2000.dcm",
    "MR_small_RLE.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "US1_J2KR.dcm",
    "emri_small.dcm",
    "SC_rgb.dcm",
    "rtplan.dcm",
    "test-SR.dcm",
    "waveform_ecg.dcm",
)

# The spec's TypeScript transformer, verbatim (one copy, shared with the receive benchmark),
# so the transform view shows the ImagingStudy it makes.
SPEC_TRANSFORMER_FILE = REPO / "benchmarks" / "receive_channel" / "transformer.ts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_project(folder: Path, port: int, exports: Path) -> Path:
    """A project like the default one, plus the spec transformer and a destination nobody
    answers (so the delivery panel shows a dead letter with its Retry button)."""
    channel = folder / "src" / "channels" / "dicom-radiology-ingest"
    channel.mkdir(parents=True, exist_ok=True)
    (folder / "intu.yaml").write_text(
        "runtime:\n  name: screenshots\nchannels_dir: src/channels\n"
        "destinations:\n"
        f"  received-files:\n    type: file\n    file:\n      directory: {json.dumps(str(exports))}\n"
        f"  fhir-imaging-api:\n    type: fhir\n    fhir:\n      base_url: http://127.0.0.1:{free_port()}/fhir\n"
        "    retry:\n      max_attempts: 1\n",
        encoding="utf-8",
    )
    transformer = (
        "transformer:\n  runtime: node\n  entrypoint: transformer.ts\n"
        if shutil.which("node")
        else ""
    )
    (channel / "channel.yaml").write_text(
        "id: dicom-radiology-ingest\nenabled: true\n"
        "description: Receives images and sends an ImagingStudy per instance.\n"
        f"listener:\n  type: dicom\n  dicom:\n    port: {port}\n    ae_title: INTU_SCP\n"
        f"{transformer}"
        "destinations:\n  - received-files\n  - fhir-imaging-api\n",
        encoding="utf-8",
    )
    shutil.copyfile(SPEC_TRANSFORMER_FILE, channel / "transformer.ts")
    return folder


def prepare_samples(folder: Path) -> list[Path]:
    """The samples, each with a SOP Instance UID of its own (some share one)."""
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    out: list[Path] = []
    for name in SAMPLES:
        path = Path(get_testdata_file(name))
        ds = pydicom.dcmread(path)
        if str(ds.SOPInstanceUID) in seen:
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            path = folder / name
            ds.save_as(path)
        seen.add(str(ds.SOPInstanceUID))
        out.append(path)
    return out


def spin(app: Any, condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def run(argv: list[str], app: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    spin(app, lambda: proc.poll() is not None, 60, " ".join(argv[:1]))
    out, err = proc.communicate()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="scratch folder (emptied first)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--size", default="1500x950", help="window size WxH")
    parser.add_argument(
        "--on-display", action="store_true", help="use the real display instead of offscreen"
    )
    args = parser.parse_args()
    if not args.on_display:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if not Path(STORESCU).exists():
        raise SystemExit("DCMTK's storescu is needed: apt-get install dcmtk")

    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QFont
    from PySide6.QtWidgets import QApplication

    from intu_desktop.app import Runtime, setup_logging
    from intu_desktop.config import load_project
    from intu_desktop.gui.launch import configure_process
    from intu_desktop.gui.main_window import MainWindow

    scratch = args.data_dir.resolve()
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    project = load_project(write_project(scratch / "project", port, scratch / "exports"))
    if project.errors:
        raise SystemExit("\n".join(str(e) for e in project.errors))
    configure_process()
    setup_logging(scratch / "data", stdout=False)  # as the app does: the Events view shows INFO
    app = QApplication.instance() or QApplication([sys.argv[0]])
    font = QFont("DejaVu Sans", 9)
    app.setFont(font)
    runtime = Runtime(project, scratch / "data", host="127.0.0.1", receiver_process=True)  # as the app runs
    failures = runtime.start()
    if failures:
        raise SystemExit("\n".join(str(f) for f in failures))
    window = MainWindow(
        runtime, QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    )
    width, height = (int(v) for v in args.size.lower().split("x"))
    window.resize(width, height)
    window.show()
    try:
        shots = take_screenshots(
            app, window, runtime, port, prepare_samples(scratch / "samples"), args.out
        )
    finally:
        window.shutdown()
        window.close()
        runtime.stop()
    for shot in shots:
        print(shot)
    return 0


def take_screenshots(
    app: Any, window: Any, runtime: Any, port: int, files: list[Path], out: Path
) -> list[Path]:
    import pydicom
    from PySide6.QtWidgets import QSplitter

    from intu_desktop.gui.models.instance_table import ROW_ROLE

    # An association refused for the wrong called AE (shown rejected, with the reason in words).
    run([ECHOSCU, "-aet", "WORKSTATION_7", "-aec", "PACS_MAIN", "127.0.0.1", str(port)], app)
    for path in files:
        ts = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        option = [PROPOSE_FLAG[ts]] if ts in PROPOSE_FLAG else []
        calling = "MR_SCANNER_2" if "MR" in path.name else "CT_SCANNER_1"
        result = run(
            [
                STORESCU,
                *option,
                "-aet",
                calling,
                "-aec",
                "INTU_SCP",
                "127.0.0.1",
                str(port),
                str(path),
            ],
            app,
        )
        if result.returncode != 0:
            print(f"warning: storescu {path.name}: {result.stderr.strip()[-300:]}", file=sys.stderr)

    model = window.instances.model
    spin(app, lambda: model.total == len(files), 60, "all instances in the table")

    def pipeline_done() -> bool:
        pending = runtime.index.query(
            "SELECT COUNT(*) FROM instances WHERE pipeline_status = 'pending'"
        )[0][0]
        return pending == 0

    spin(app, pipeline_done, 120, "the pipeline")

    def deliveries_done() -> bool:
        return (
            runtime.index.query("SELECT COUNT(*) FROM deliveries WHERE status = 'pending'")[0][0]
            == 0
        )

    try:
        spin(app, deliveries_done, 30, "the deliveries")
    except SystemExit as exc:
        print(f"warning: {exc}; taking the screenshots anyway", file=sys.stderr)
    spin(
        app,
        lambda: all(model.index(r, 0).data(ROW_ROLE) is not None for r in range(model.rowCount())),
        30,
        "row values",
    )
    strip = window.strip.model
    for row in range(strip.rowCount()):
        strip.index(row, 0).data(1)
    spin(
        app,
        lambda: all(window.thumbnails.peek(i.instance_id) is not None for i in strip.items()),
        60,
        "thumbnails",
    )

    def row_of(sop_class: str, transfer_syntax: str = "") -> int:
        for row in range(model.rowCount()):
            values = model.index(row, 0).data(ROW_ROLE)
            if (
                values is not None
                and values.values[6] == sop_class
                and transfer_syntax in values.values[7]
            ):
                return row
        return 0

    def detail_room(instances_height: int) -> None:
        splitter = window.findChild(QSplitter, "instancesSplitter")
        total = sum(splitter.sizes())
        splitter.setSizes([instances_height, total - instances_height])

    def settle(seconds: float = 0.6) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    shots: list[Path] = []

    def save(name: str) -> None:
        settle()
        path = out / name
        window.grab().save(str(path))
        shots.append(path)

    # main.png: the instances table, the series' thumbnails, the live strip.
    window.tabs.setCurrentIndex(0)
    window.instances.table.selectRow(row_of("MR Image Storage", "RLE"))
    window.detail_tabs.setCurrentWidget(window.grid)
    window.grid.scope.setCurrentIndex(1)  # the whole study
    spin(app, lambda: window.grid.model.rowCount() > 0, 30, "the thumbnail grid")
    grid = window.grid.model
    for row in range(grid.rowCount()):
        grid.index(row, 0).data(1)
    spin(
        app,
        lambda: all(window.thumbnails.peek(i.instance_id) is not None for i in grid.items()),
        60,
        "grid thumbnails",
    )
    save("main.png")

    # instance-detail.png: the CT with a window/level and its tag tree, a sequence open.
    detail_room(250)
    window.instances.table.selectRow(row_of("CT Image Storage"))
    window.detail_tabs.setCurrentWidget(window.detail)
    detail = window.detail
    spin(
        app,
        lambda: detail.canvas.image is not None and detail.tags.rowCount() > 0,
        30,
        "the CT image",
    )
    detail.set_window(40.0, 400.0)
    settle(1.0)
    tags = detail.tags
    for row in range(tags.rowCount()):
        if tags.index(row, 2).data() == "SQ":
            detail.tree.expand(tags.index(row, 0))
            detail.tree.scrollTo(tags.index(row, 0))
            break
    save("instance-detail.png")

    # multiframe.png: the enhanced MR, on its middle frame with the frame slider.
    window.instances.table.selectRow(row_of("Enhanced MR Image Storage"))
    spin(app, lambda: detail.slider.maximum() > 0, 30, "the multi-frame")
    save("multiframe.png")

    # transform.png: the ImagingStudy made by the spec's transformer, and the deliveries.
    window.instances.table.selectRow(row_of("CT Image Storage"))
    window.detail_tabs.setCurrentWidget(window.transform)
    view = window.transform
    spin(
        app,
        lambda: (
            view.info is not None and view.info.has_run and view.deliveries.topLevelItemCount() > 0
        ),
        60,
        "the transform results",
    )
    spin(
        app,
        lambda: all(
            view.deliveries.topLevelItem(i).text(2) != "pending"
            for i in range(view.deliveries.topLevelItemCount())
        ),
        60,
        "deliveries",
    )
    dead = [
        view.deliveries.topLevelItem(i)
        for i in range(view.deliveries.topLevelItemCount())
        if view.deliveries.topLevelItem(i).text(2) == "dead letter"
    ]
    if dead:
        view.deliveries.setCurrentItem(dead[0])
    save("transform.png")

    # grouped.png: the same instances grouped by study, the MR study open.
    detail_room(330)
    window.instances.set_grouped(True)
    tree = window.instances.tree_model
    spin(app, lambda: tree.rowCount() > 0, 30, "studies")
    study = next(
        (
            tree.index(r, 0)
            for r in range(tree.rowCount())
            if tree.index(r, 6).data() == "2 instances" and tree.index(r, 3).data() == "MR"
        ),
        tree.index(0, 0),
    )
    window.instances.tree.expand(study)
    spin(app, lambda: tree.rowCount(study) > 0, 30, "a study's instances")
    window.instances.tree.setCurrentIndex(tree.index(0, 0, study))
    window.detail_tabs.setCurrentWidget(window.grid)
    window.grid.scope.setCurrentIndex(1)
    spin(app, lambda: window.grid.model.rowCount() == 2, 30, "the study's thumbnails")
    save("grouped.png")
    window.instances.set_grouped(False)

    # associations.png: live associations, newest first, with the details of an accepted one.
    window.tabs.setCurrentWidget(window.associations)
    assoc = window.associations.model
    target = next(
        (
            r
            for r in range(assoc.rowCount())
            if assoc.record(r).get("calling_ae") == "CT_SCANNER_1"
            and "1.2.840.10008.1.2.4.50" in json.dumps(assoc.record(r).get("contexts"))
        ),
        0,
    )
    window.associations.select_row(target)
    window.associations.setSizes([300, 520])
    save("associations.png")

    # events.png: the log of what happened.
    window.tabs.setCurrentWidget(window.log_view)
    window.log_view.drain()
    save("events.png")
    return shots


if __name__ == "__main__":
    raise SystemExit(main())
