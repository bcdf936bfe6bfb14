"""Small parts of the window: formatting, filters, row plans, details text, status bar, tray."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest

from intu_desktop import events
from intu_desktop.events import Event
from intu_desktop.gui.formatting import dicom_date, duration, human_bytes, person_name, pretty_json
from intu_desktop.gui.models.instance_query import InstanceFilter, RowPlan, plan_change
from intu_desktop.gui.views.filter_bar import parse_study_dates, period_start


def test_formatting():
    assert person_name("Doe^Jane^Q^Dr^Jr") == "Doe, Dr Jane Q Jr"
    assert person_name("Doe^Jane=ドウ^ジェーン") == "Doe, Jane"
    assert person_name("Anonymous") == "Anonymous"
    assert person_name("") == ""
    assert dicom_date("20240102") == "2024-01-02" and dicom_date("2024") == "2024"
    assert human_bytes(512) == "512 B" and human_bytes(39070) == "38.2 KB"
    assert duration(10.0, 10.25) == "250 ms" and duration(10.0, None) == ""
    assert pretty_json('{"a": 1}') == '{\n  "a": 1\n}'


def test_study_date_filter_text():
    assert parse_study_dates("") == ("", "")
    assert parse_study_dates("20240101") == ("20240101", "20240101")
    assert parse_study_dates("20240101-20240131") == ("20240101", "20240131")
    assert parse_study_dates("-20240131") == ("", "20240131")
    assert parse_study_dates("2024-01") is None
    noon = time.mktime((2024, 5, 10, 12, 0, 0, 0, 0, -1))
    assert period_start(None, noon) is None
    assert period_start(0, noon) == time.mktime((2024, 5, 10, 0, 0, 0, 0, 0, -1))


def test_filter_escapes_like_wildcards():
    where, params = InstanceFilter(text="50%_off", modality="CT").where()
    assert "ESCAPE" in where and "modality = ?" in where
    assert params[0] == "%50\\%\\_off%" and params[-1] == "CT"


def test_row_plans():
    assert plan_change([], []) == RowPlan("same")
    assert plan_change([], [1, 2]) == RowPlan("reset")
    assert plan_change([1, 2], [3, 1, 2]) == RowPlan("prepend", 1)
    assert plan_change([1, 2], [1, 2, 3, 4]) == RowPlan("append", 2)
    assert plan_change([1, 2], [2, 1]) == RowPlan("reset")
    assert plan_change([1, 2, 3], [1, 3]) == RowPlan("reset")


def test_association_details_in_words():
    from intu_desktop.gui.association_details import association_html

    rec = {
        "id": "x",
        "calling_ae": "CT_SCANNER_1",
        "called_ae": "INTU_SCP",
        "state": "accepted",
        "peer_host": "10.0.0.5",
        "peer_port": 5000,
        "tls": True,
        "requested_at": time.time(),
        "contexts": [
            {
                "id": 1,
                "abstract_syntax": "1.2.840.10008.5.1.4.1.1.2",
                "transfer_syntaxes": ["1.2.840.10008.1.2.4.90"],
                "result": 4,
                "accepted_transfer_syntax": None,
            },
            {
                "id": 3,
                "abstract_syntax": "1.2.840.10008.5.1.4.1.1.4",
                "transfer_syntaxes": ["1.2.840.10008.1.2.1"],
                "result": 0,
                "accepted_transfer_syntax": "1.2.840.10008.1.2.1",
            },
        ],
        "exchanges": [
            {"service": "C-STORE", "status": 0, "sop_class_uid": "1.2.840.10008.5.1.4.1.1.4"},
            {
                "service": "C-STORE",
                "status": 0xA700,
                "sop_class_uid": "1.2.840.10008.5.1.4.1.1.4",
                "sop_instance_uid": "1.2.3",
                "comment": "Out of resources",
            },
        ],
    }
    html = association_html(rec)
    assert "CT Image Storage" in html and "MR Image Storage" in html
    assert "JPEG 2000 Image Compression (Lossless Only)" in html
    assert "transfer syntaxes not supported" in html
    assert html.index("MR Image Storage") < html.index("CT Image Storage")  # the used class first
    assert "0xA700" in html and "Refused: out of resources" in html


def test_status_bar_warns_under_5_gb(qtbot):
    from intu_desktop.gui.views.status_bar import StatusBar

    bar = StatusBar()
    qtbot.addWidget(bar)
    bar.set_disk(100 * 1024**3, 500 * 1024**3)
    assert not bar.disk_low
    bar.set_disk(4 * 1024**3, 500 * 1024**3)
    assert bar.disk_low and "under 5 GB" in bar.disk.text()
    bar.set_ports(["4104", "11112"])
    assert bar.listening.text() == "Listening on port 4104, 11112"
    bar.set_queues(3, None)
    assert bar.queues.text() == "Pipeline queue: 3 · Delivery queue: –"


def test_tray_notifies_rejections_and_dead_letters(qtbot):
    from PySide6.QtWidgets import QWidget

    from intu_desktop.gui.views.tray import Tray

    window = QWidget()
    qtbot.addWidget(window)
    tray = Tray(window, lambda: None, lambda: None)
    batch = [
        Event(
            events.ASSOCIATION_REJECTED,
            {
                "calling_ae": "BAD",
                "peer_host": "10.1.1.1",
                "reason": "calling AE title not recognized",
            },
        ),
        Event(
            events.DELIVERY_UPDATED, {"status": "failed", "destination": "pacs", "error": "refused"}
        ),
        Event(events.DELIVERY_UPDATED, {"status": "delivered", "destination": "pacs"}),
    ]
    notes = tray.apply_events(batch)
    assert notes == [
        ("Association rejected", "BAD from 10.1.1.1: calling AE title not recognized"),
        ("Delivery failed", "pacs: refused"),
    ]
    tray.hide()


def test_event_bridge_batches_on_the_gui_thread(qtbot):
    import threading

    from intu_desktop.events import EventBus
    from intu_desktop.gui.bridge import EventBridge

    bus = EventBus()
    bridge = EventBridge(bus, interval_ms=50)
    received: list[tuple[int, int]] = []
    bridge.events_ready.connect(lambda batch: received.append((len(batch), threading.get_ident())))
    workers = [
        threading.Thread(target=lambda: [bus.publish("x", n=i) for i in range(500)])
        for _ in range(4)
    ]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    qtbot.waitUntil(lambda: sum(n for n, _ in received) == 2000)
    assert all(
        ident == threading.get_ident() for _, ident in received
    )  # delivered on the GUI thread
    assert len(received) < 10  # coalesced, not one signal per event
    bridge.close()
    bus.publish("x", n=-1)
    qtbot.wait(120)
    assert sum(n for n, _ in received) == 2000


def test_transform_data_without_a_run(tmp_path: Path):
    from intu_desktop.gui.transform_data import read_transform
    from intu_desktop.index.db import Index

    index = Index(tmp_path / "i.sqlite3")
    try:
        index.write(
            lambda c: c.execute(
                "INSERT INTO instances (id, sop_uid, storage_path, received_at) VALUES (7, '1.2', '/x', 0)"
            )
        )
        info = read_transform(index, 7)
        assert not info.has_run and info.pipeline_status == "pending"
    finally:
        index.close()


@pytest.mark.parametrize("name", ["rtplan.dcm", "CT_small.dcm"])
def test_tag_tree_marks_private_tags_and_expands_sequences(name: str):
    from pydicom.data import get_testdata_file

    from intu_desktop.gui.tag_nodes import read_tag_tree

    root = read_tag_tree(Path(get_testdata_file(name)))

    def walk(node: Any) -> list[Any]:
        return [node] + [n for c in node.children for n in walk(c)]

    nodes = walk(root)
    assert any(n.vr == "SQ" and n.children for n in nodes) or name == "CT_small.dcm"
    if name == "CT_small.dcm":
        assert any(n.private for n in nodes)
        pixel = [n for n in nodes if n.tag == "(7FE0,0010)"]
        assert pixel and pixel[0].value.startswith("<")  # bulk data shown by length, never read


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_event_bridge_updates_less_often_while_the_gui_thread_is_strained(qtbot):
    from intu_desktop.events import EventBus
    from intu_desktop.gui.bridge import CALM_S, DEFAULT_INTERVAL_MS, MAX_INTERVAL_MS, EventBridge

    clock = _Clock()
    bridge = EventBridge(EventBus(), clock=clock)
    changes: list[int] = []
    bridge.interval_changed.connect(changes.append)
    try:
        assert bridge.interval_ms == DEFAULT_INTERVAL_MS
        bridge.note_strain()
        bridge.note_strain()  # the same interval: one hiccup is one step
        assert changes == [2 * DEFAULT_INTERVAL_MS]
        for _ in range(10):  # strained on and on: up to the cap, no further
            clock.now += 2.0
            bridge.note_strain()
        assert bridge.interval_ms == MAX_INTERVAL_MS == changes[-1]
        clock.now += CALM_S / 2
        bridge._relax()
        assert bridge.interval_ms == MAX_INTERVAL_MS  # not calm for long enough yet
        steps = 0
        while bridge.interval_ms > DEFAULT_INTERVAL_MS:
            clock.now += CALM_S
            bridge._relax()
            steps += 1
        assert bridge.interval_ms == DEFAULT_INTERVAL_MS and steps > 1  # back a step at a time
    finally:
        bridge.close()


def test_a_late_heartbeat_says_the_gui_thread_is_strained(qtbot):
    import time

    from intu_desktop.gui.watchdog import UiWatchdog

    watchdog = UiWatchdog()
    strained: list[bool] = []
    watchdog.strained.connect(lambda: strained.append(True))
    watchdog._beat()  # the first beat has nothing to compare with
    watchdog._beat()  # on time
    assert strained == []
    watchdog._last_beat = time.monotonic() - 0.3  # the loop was blocked 300 ms
    watchdog._beat()
    assert strained == [True]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's per-thread schedstat")
def test_a_stall_says_how_long_the_gui_thread_was_on_a_cpu(qtbot):
    from intu_desktop.gui.watchdog import UiWatchdog

    watchdog = UiWatchdog()
    watchdog.start()
    try:
        qtbot.wait(300)  # beats and scheduler samples before the stall
        end = time.monotonic() + 0.4
        while time.monotonic() < end:  # the GUI thread busy, not answering its loop
            pass
        qtbot.waitUntil(lambda: bool(watchdog.reports), timeout=5000)
    finally:
        watchdog.stop()
    report = watchdog.reports[0]
    assert report.on_cpu_ms is not None and report.on_cpu_ms > 0
    assert "on a CPU" in report.describe()


def test_the_window_backs_off_its_live_views_when_its_watchdog_is_strained(qtbot, window):
    from intu_desktop.gui.models.instance_table import live_refresh_ms
    from intu_desktop.gui.watchdog import UiWatchdog

    watchdog = UiWatchdog(window)
    window.watch(watchdog)
    model = window.instances.model
    # On a loaded machine the bridge may have slowed down already while the window opened:
    # the live view follows whatever interval the bridge has.
    assert model._live_timer.interval() == live_refresh_ms(window.bridge.interval_ms)
    for _ in range(4):
        watchdog.strained.emit()
        window.bridge._last_step -= 10  # let every strain count as a new step
    assert window.bridge.interval_ms > 150
    assert model._live_timer.interval() == 2 * window.bridge.interval_ms
    assert window.instances.tree_model._timer.interval() == 2 * window.bridge.interval_ms


def test_a_long_user_task_never_delays_listener_control(qtbot):
    """A Send of a study or an export runs for minutes on `task`; a Start/Stop click on
    `control` is answered meanwhile (both used to share one thread)."""
    import threading

    from intu_desktop.gui.workers import Workers
    from tests.gui.conftest import spin_until

    workers = Workers()
    release = threading.Event()
    done: list[str] = []
    try:
        workers.task(lambda: release.wait(30), lambda _r: done.append("task"))
        workers.task(lambda: "echo", done.append)  # a second task is not queued behind it
        workers.control(lambda: "stop", done.append)
        spin_until(lambda: {"stop", "echo"} <= set(done), timeout_ms=10000)
        assert "task" not in done
        release.set()
        spin_until(lambda: "task" in done, timeout_ms=10000)
    finally:
        release.set()
        workers.shutdown()
