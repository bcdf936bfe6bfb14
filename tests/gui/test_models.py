"""Every item model passes Qt's model tester, with real data flowing through it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from tests.gui.conftest import needs_dcmtk, wait_for

# The C++ tester reports problems as Qt warnings: make them fail the test.
pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("does not support propagateSizeHints"),  # the offscreen platform
]


@pytest.fixture
def workers(qapp: Any) -> Any:
    from intu_desktop.gui.workers import Workers

    w = Workers()
    yield w
    w.shutdown()


@pytest.fixture
def index(tmp_path: Path) -> Any:
    from intu_desktop.index.db import Index

    idx = Index(tmp_path / "index.sqlite3")
    yield idx
    idx.close()


def insert_rows(index: Any, rows: list[dict[str, Any]]) -> None:
    cols = sorted({k for r in rows for k in r})

    def work(conn: Any) -> None:
        conn.executemany(
            f"INSERT INTO instances ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
            [tuple(r.get(c, "") for c in cols) for r in rows],
        )

    index.write(work)


def synthetic(i: int, study: int = 0) -> dict[str, Any]:
    return {
        "sop_uid": f"1.2.826.0.1.3680043.8.498.{i}",
        "study_uid": f"1.2.3.{study}",
        "series_uid": f"1.2.3.{study}.1",
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
        "modality": "CT",
        "patient_name": f"Doe^Jane{i % 7}",
        "patient_id": f"P{i % 13}",
        "study_date": "20240102",
        "study_description": "Chest",
        "transfer_syntax": "1.2.840.10008.1.2.1",
        "size": 1000 + i,
        "calling_ae": "CT_SCANNER_1",
        "received_at": time.time() - i,
        "storage_path": f"/nowhere/{i}.dcm",
        "series_number": "1",
        "instance_number": str(i + 1),
        "pipeline_status": "ok" if i % 3 else "error",
    }


def test_instance_table_model(qtmodeltester, qtbot, index, workers):
    from PySide6.QtCore import Qt

    from intu_desktop.gui.models.instance_query import InstanceFilter
    from intu_desktop.gui.models.instance_table import InstanceTableModel

    insert_rows(index, [synthetic(i) for i in range(40)])
    model = InstanceTableModel(index, workers, page_size=16)
    qtmodeltester.check(model)
    with qtbot.waitSignal(model.refreshed):
        model.refresh()
    assert model.rowCount() >= 16  # the tester itself pages in (it calls fetchMore)
    qtmodeltester.check(model, force_py=True)
    with qtbot.waitSignal(model.refreshed):
        model.sort(0, Qt.SortOrder.AscendingOrder)
    with qtbot.waitSignal(model.refreshed):
        model.set_filter(InstanceFilter(text="Jane3"))
    assert 0 < model.total < 40
    insert_rows(index, [synthetic(100 + i) for i in range(5)])
    with qtbot.waitSignal(model.refreshed):
        model.refresh()
    qtmodeltester.check(model, force_py=True)
    model.stop()


def _shown_ids(model: Any) -> list[int]:
    while model.canFetchMore():
        model.fetchMore()
    return [model.instance_id(r) for r in range(model.rowCount())]


def _full_query_ids(index: Any) -> list[int]:
    from intu_desktop.gui.models.instance_query import InstanceQuery, fetch_ids

    return fetch_ids(index, InstanceQuery())


def test_live_refresh_reads_only_the_new_rows_and_keeps_the_exact_order(
    qtmodeltester, qtbot, index, workers, monkeypatch
):
    """With the default sort (newest first) a live refresh asks the index for what is newer
    than its top, not for every id again; whatever the refresh reads, the rows and their
    order are those of a full query, and row_of() agrees with them."""
    from intu_desktop.gui.models import instance_table
    from intu_desktop.gui.models.instance_table import InstanceTableModel

    base = time.time() - 1000
    insert_rows(index, [{**synthetic(i), "received_at": base + i} for i in range(30)])
    model = InstanceTableModel(index, workers, page_size=16)
    full_reads: list[int] = []
    real_fetch_ids = instance_table.fetch_ids
    monkeypatch.setattr(instance_table, "fetch_ids", lambda *a: full_reads.append(1) or real_fetch_ids(*a))

    def refresh() -> None:
        with qtbot.waitSignal(model.refreshed):
            model.refresh()
        ids = _shown_ids(model)
        assert ids == _full_query_ids(index)
        assert all(model.row_of(row_id) == row for row, row_id in enumerate(ids))

    refresh()
    assert len(full_reads) == 1  # the first load reads everything
    insert_rows(index, [{**synthetic(100 + i), "received_at": base + 100 + i} for i in range(3)])
    refresh()
    insert_rows(index, [{**synthetic(200), "received_at": base + 200}])
    refresh()
    refresh()  # nothing new
    assert len(full_reads) == 1  # arrivals only, three times
    qtmodeltester.check(model, force_py=True)

    # An arrival that sorts below the top (its clock was behind): everything is read again.
    insert_rows(index, [{**synthetic(300), "received_at": base + 50}])
    refresh()
    assert len(full_reads) == 2
    # A re-sent instance updated in place moves to the top: read again, and in order.
    oldest = _full_query_ids(index)[-1]
    index.write(lambda c: c.execute("UPDATE instances SET received_at = ? WHERE id = ?", (base + 500, oldest)))
    refresh()
    assert len(full_reads) == 3 and model.instance_id(0) == oldest
    # More arrivals than a page at once: read again (the view starts from the first page).
    insert_rows(index, [{**synthetic(400 + i), "received_at": base + 600 + i} for i in range(20)])
    refresh()
    assert len(full_reads) == 4
    qtmodeltester.check(model, force_py=True)
    model.stop()


def test_study_tree_model(qtmodeltester, qtbot, index, workers):
    from intu_desktop.gui.models.study_tree import StudyTreeModel

    insert_rows(index, [synthetic(i, study=i % 3) for i in range(30)])
    model = StudyTreeModel(index, workers)
    qtmodeltester.check(model)
    with qtbot.waitSignal(model.refreshed):
        model.refresh()
    assert model.rowCount() == 3
    study = model.index(0, 0)
    assert model.hasChildren(study)
    if model.canFetchMore(study):  # the tester may have expanded it already
        model.fetchMore(study)
    wait_for(qtbot, lambda: model.rowCount(study) == 10)
    assert model.index(0, 0, study).data().startswith("Doe, Jane")
    assert model.index(0, 0, study).parent() == study
    qtmodeltester.check(model, force_py=True)
    insert_rows(index, [synthetic(200 + i, study=9) for i in range(4)])
    with qtbot.waitSignal(model.refreshed):
        model.refresh()
    assert model.rowCount() == 4
    model.stop()


def _tree_rows(model: Any) -> list[tuple[str, tuple[str, ...]]]:
    from intu_desktop.gui.models.study_tree import STUDY_UID_ROLE

    while model.canFetchMore():
        model.fetchMore()
    out = []
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        values = tuple(model.index(row, c).data() for c in range(model.columnCount()))
        out.append((index.data(STUDY_UID_ROLE), values))
    return out


def _full_tree_rows(index: Any, instance_filter: Any) -> list[tuple[str, tuple[str, ...]]]:
    from intu_desktop.gui.models.instance_query import DEFAULT_SORT
    from intu_desktop.gui.models.study_query import fetch_studies

    return [(r.study_uid, r.values) for r in fetch_studies(index, instance_filter, DEFAULT_SORT, True)]


def test_study_tree_live_refresh_reads_only_touched_studies_and_keeps_the_selection(
    qtmodeltester, qtbot, index, workers, monkeypatch
):
    """While instances arrive, the grouped view re-aggregates only the studies they belong
    to; its rows equal a full read after every refresh; a study that moves up or grows
    keeps the user's selection and expansion (rows move and are inserted, never reset)."""
    from PySide6.QtCore import QItemSelectionModel, QPersistentModelIndex

    from intu_desktop.gui.models import study_tree
    from intu_desktop.gui.models.instance_query import InstanceFilter
    from intu_desktop.gui.models.instance_table import ID_ROLE
    from intu_desktop.gui.models.study_tree import StudyTreeModel

    base = time.time() - 1000
    insert_rows(index, [{**synthetic(i, study=i % 3), "received_at": base + i} for i in range(9)])
    model = StudyTreeModel(index, workers, page_size=2)  # one study below the paged-in rows
    qtmodeltester.check(model)  # the tester stays attached and checks every signal below
    full_reads: list[int] = []
    real_fetch = study_tree.fetch_studies
    monkeypatch.setattr(study_tree, "fetch_studies", lambda *a: full_reads.append(1) or real_fetch(*a))
    with qtbot.waitSignal(model.refreshed):
        model.refresh()
    assert [uid for uid, _ in _tree_rows(model)] == ["1.2.3.2", "1.2.3.1", "1.2.3.0"]
    resets: list[int] = []
    model.modelReset.connect(lambda: resets.append(1))

    def arrive(rows: list[dict[str, Any]], flt: Any = InstanceFilter()) -> None:
        before = {r[0] for r in index.query("SELECT id FROM instances")}
        insert_rows(index, rows)
        new = [r[0] for r in index.query("SELECT id FROM instances") if r[0] not in before]
        touch(new, flt)

    def touch(ids: list[int], flt: Any = InstanceFilter()) -> None:
        with qtbot.waitSignal(model.refreshed):
            model.refresh_soon(ids)
        assert _tree_rows(model) == _full_tree_rows(index, flt)

    # Expand study 0 (the oldest, last) and select its second instance.
    oldest = model.index(2, 0)
    assert oldest.data(study_tree.STUDY_UID_ROLE) == "1.2.3.0"
    model.fetchMore(oldest)
    wait_for(qtbot, lambda: model.rowCount(model.index(2, 0)) == 3)
    selection = QItemSelectionModel(model)
    chosen = model.index(1, 0, model.index(2, 0))
    chosen_id = chosen.data(ID_ROLE)
    selection.setCurrentIndex(chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    kept = QPersistentModelIndex(chosen)

    # A new instance of study 0: it moves to the top and gains a row; the selection follows.
    arrive([{**synthetic(50, study=0), "received_at": base + 50, "instance_number": "0"}])
    wait_for(qtbot, lambda: model.rowCount(model.index(0, 0)) == 4)
    assert kept.isValid() and kept.data(ID_ROLE) == chosen_id and kept.parent().row() == 0
    assert selection.currentIndex() == kept and selection.isSelected(kept)
    assert model.index(0, 0, model.index(0, 0)).data(ID_ROLE) != chosen_id  # inserted above it
    # A new study goes on top; a pipeline result changes a row in place.
    arrive([{**synthetic(60, study=7), "received_at": base + 60}])
    failing = index.query("SELECT id FROM instances WHERE study_uid = '1.2.3.1' LIMIT 1")[0][0]
    index.write(lambda c: c.execute("UPDATE instances SET pipeline_status = 'pending' WHERE id = ?", (failing,)))
    touch([failing])
    rows = dict(_tree_rows(model))
    assert rows["1.2.3.1"][-1] == "1 pending" and list(rows)[2:] == ["1.2.3.2", "1.2.3.1"]
    assert full_reads == [1] and not resets  # the first load only; no reset since
    assert selection.isSelected(kept) and kept.data(ID_ROLE) == chosen_id

    # Under a filter, a touched study that stops matching leaves the tree.
    flt = InstanceFilter(modality="CT")
    with qtbot.waitSignal(model.refreshed):
        model.set_filter(flt)
    index.write(lambda c: c.execute("UPDATE instances SET modality = 'MR' WHERE study_uid = '1.2.3.7'"))
    gone = index.query("SELECT id FROM instances WHERE study_uid = '1.2.3.7'")[0][0]
    touch([gone], flt)
    assert "1.2.3.7" not in [uid for uid, _ in _tree_rows(model)]
    # Another sort than newest-first reads everything.
    reads = len(full_reads)
    with qtbot.waitSignal(model.refreshed):
        model.sort(0)
    assert len(full_reads) == reads + 1
    qtmodeltester.check(model, force_py=True)
    model.stop()


def test_an_instance_resent_under_another_study_leaves_its_old_study(qtbot, index, workers):
    """A new version of an instance may carry a corrected Study Instance UID: the index says
    which study it left, and the grouped view then reads every study (the incremental
    refresh would only re-aggregate the study it joined, leaving the old one behind)."""
    from intu_desktop import events
    from intu_desktop.events import Event
    from intu_desktop.gui.models.instance_query import InstanceFilter
    from intu_desktop.gui.views.instances_view import InstancesView
    from intu_desktop.index.instances import InstanceRecord, record_instance

    def record(sop: str, study: str, outcome: str = "stored") -> Any:
        body = {"sopInstanceUid": sop, "studyInstanceUid": study, "seriesInstanceUid": study + ".1",
                "sopClassUid": "1.2.840.10008.5.1.4.1.1.2", "storagePath": f"/nowhere/{sop}.dcm"}
        rec = InstanceRecord(body=body, size=1, calling_ae="CT", called_ae="INTU_SCP", peer_address="",
                             channel_id="c", association_id="a", received_at=time.time(), outcome=outcome)
        return index.write(lambda conn: record_instance(conn, rec))

    moving = record("1.2.9.1", "1.2.3.100")
    record("1.2.9.2", "1.2.3.200")
    view = InstancesView(index, workers)
    view.set_grouped(True)
    wait_for(qtbot, lambda: view.tree_model.rowCount() == 2)
    corrected = record("1.2.9.1", "1.2.3.200", outcome="replaced")
    assert corrected.id == moving.id and corrected.moved_from_study == "1.2.3.100"
    assert record("1.2.9.2", "1.2.3.200", outcome="replaced").moved_from_study == ""  # same study
    with qtbot.waitSignal(view.tree_model.refreshed, timeout=10000):
        view.apply_events([Event(events.INSTANCE_STORED, {
            "instance_id": corrected.id, "new_version": True, "moved_from_study": "1.2.3.100"})])
    assert _tree_rows(view.tree_model) == _full_tree_rows(index, InstanceFilter())
    assert [uid for uid, _ in _tree_rows(view.tree_model)] == ["1.2.3.200"]
    view.stop()


def test_association_table_model(qtmodeltester):
    from intu_desktop.gui.models.association_table import AssociationTableModel

    model = AssociationTableModel(limit=5)
    qtmodeltester.check(model)
    now = time.time()
    model.load(
        [
            {"id": f"a{i}", "requested_at": now - i, "state": "released", "calling_ae": "X"}
            for i in range(3)
        ]
    )
    model.upsert(
        [
            {"id": "new", "requested_at": now + 1, "state": "requested"},
            {"id": "a1", "requested_at": now - 1, "state": "aborted", "reason": "lost"},
        ]
    )
    model.upsert(
        [{"id": f"b{i}", "requested_at": now + 10 + i, "state": "rejected"} for i in range(4)]
    )
    assert model.rowCount() == 5
    assert model.record(0)["id"] == "b3"
    qtmodeltester.check(model, force_py=True)


def test_channel_list_model(qtmodeltester):
    from types import SimpleNamespace

    from intu_desktop.gui.models.channel_list import ChannelListModel

    dicom = SimpleNamespace(port=4104, ae_title="INTU_SCP", tls=None)
    channels = [
        SimpleNamespace(
            id="a", dicom=dicom, listener_type="dicom", enabled=True, in_profile=True, errors=[]
        ),
        SimpleNamespace(
            id="b", dicom=None, listener_type="http", enabled=True, in_profile=True, errors=[]
        ),
    ]
    listener = SimpleNamespace(state="listening", reason="", port=4104)
    model = ChannelListModel(channels, {"a": listener})
    qtmodeltester.check(model)
    model.set_state("a", "stopped", "")
    model.set_counts({"a": 3})
    assert model.index(0, 5).data() == "3"
    assert model.index(1, 1).data().startswith("unsupported")
    qtmodeltester.check(model, force_py=True)


def test_thumbnail_list_model(qtmodeltester, qtbot, workers):
    from intu_desktop.gui.models.thumbnail_list import ThumbItem, ThumbnailListModel
    from intu_desktop.gui.thumbnail_provider import ThumbnailProvider
    from intu_desktop.thumbnails import render_thumbnail

    provider = ThumbnailProvider(lambda path, _sop, size: render_thumbnail(path, size), workers)
    model = ThumbnailListModel(provider, limit=3)
    qtmodeltester.check(model)
    ct = get_testdata_file("CT_small.dcm")
    items = [ThumbItem(i, ct, f"1.2.{i}", f"#{i}") for i in range(5)]
    model.set_items(items[:2])
    model.set_items([items[2], *items[:2]])  # an arrival at the front
    model.set_items(items[2:5])
    for row in range(model.rowCount()):
        model.index(row, 0).data(1)  # DecorationRole: asks for a render
    wait_for(qtbot, lambda: all(provider.peek(i.instance_id) is not None for i in items[2:5]))
    qtmodeltester.check(model, force_py=True)


def test_thumbnails_give_way_to_receiving_on_the_render_thread(qtbot, workers):
    import threading

    from intu_desktop.gui.thumbnail_provider import ThumbnailProvider, ThumbRequest
    from intu_desktop.receive_priority import ReceivePriority
    from intu_desktop.thumbnails import render_thumbnail

    gui_thread = threading.current_thread()
    calls: list[tuple[float, bool]] = []

    class Recording(ReceivePriority):
        def give_way(self, busy_s, stopping=lambda: False):  # type: ignore[no-untyped-def]
            calls.append((busy_s, threading.current_thread() is gui_thread))
            return 0.0

    provider = ThumbnailProvider(lambda path, _sop, size: render_thumbnail(path, size), workers,
                                 priority=Recording())
    ct = get_testdata_file("CT_small.dcm")
    for i in range(3):
        provider.get(ThumbRequest(i, ct, f"1.2.{i}"))
    wait_for(qtbot, lambda: all(provider.peek(i) is not None for i in range(3)))
    assert len(calls) == 3
    assert all(busy > 0 and not on_gui for busy, on_gui in calls)


def test_tag_tree_model(qtmodeltester):
    from intu_desktop.gui.models.tag_tree import TagTreeModel
    from intu_desktop.gui.tag_nodes import read_tag_tree

    model = TagTreeModel()
    qtmodeltester.check(model)
    model.set_root(read_tag_tree(Path(get_testdata_file("rtplan.dcm"))))
    sequences = [r for r in range(model.rowCount()) if model.index(r, 2).data() == "SQ"]
    assert sequences
    parent = model.index(sequences[0], 0)
    assert model.rowCount(parent) >= 1
    qtmodeltester.check(model, force_py=True)


@needs_dcmtk
def test_models_of_a_live_window_pass_the_tester(
    qtmodeltester, window, sender, channel_port, tmp_path
):
    from tests.gui.conftest import copies_of

    for model in (
        window.instances.model,
        window.associations.model,
        window.channels.model,
        window.strip.model,
        window.grid.model,
        window.detail.tags,
    ):
        qtmodeltester.check(model)
    files = copies_of(Path(get_testdata_file("MR_small.dcm")), tmp_path / "mr", 30)
    assert sender.store(channel_port, [tmp_path / "mr"], options=["+sd"]).returncode == 0
    assert sender.echo(channel_port, aet="STRANGER").returncode != 0
    model = window.instances.model
    wait_for(window, lambda: model.total == len(files) and window.strip.model.rowCount() == 24)
    window.instances.set_grouped(True)
    wait_for(window, lambda: window.instances.tree_model.rowCount() == 1)
