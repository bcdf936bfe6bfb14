"""The instance model over an index of 200,000 rows: first page at once, more on scroll.

Functional only; how long it takes belongs in benchmarks/.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gui.conftest import wait_for

ROWS = 200_000


@pytest.fixture(scope="module")
def big_index_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from intu_desktop.index.db import Index

    path = tmp_path_factory.mktemp("big") / "index.sqlite3"
    Index(path).close()  # creates the schema
    now = time.time()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")  # test data: durability does not matter here
    conn.executemany(
        "INSERT INTO instances (sop_uid, study_uid, series_uid, sop_class_uid, modality, patient_name, patient_id, "
        "study_date, transfer_syntax, size, calling_ae, received_at, storage_path) "
        "VALUES (?, ?, ?, '1.2.840.10008.5.1.4.1.1.4', 'MR', ?, ?, '20240301', '1.2.840.10008.1.2.1', ?, "
        "'MR_SCANNER_2', ?, '/nowhere')",
        (
            (
                f"2.25.{i}",
                f"2.25.9.{i // 100}",
                f"2.25.8.{i // 20}",
                f"Patient^{i:06d}",
                f"ID{i:06d}",
                500 + i,
                now - i,
            )
            for i in range(ROWS)
        ),
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def big_model(qapp: Any, big_index_file: Path) -> Any:
    from intu_desktop.gui.models.instance_table import InstanceTableModel
    from intu_desktop.gui.workers import Workers
    from intu_desktop.index.db import Index

    index = Index(big_index_file)
    workers = Workers()
    model = InstanceTableModel(index, workers)
    yield model
    model.stop()
    workers.shutdown()
    index.close()


def test_first_page_then_more_on_fetch(qtbot, big_model):
    from intu_desktop.gui.models.instance_table import PAGE_SIZE, ROW_ROLE

    model = big_model
    with qtbot.waitSignal(model.refreshed, timeout=30_000):
        model.refresh()
    assert model.total == ROWS
    assert model.rowCount() == PAGE_SIZE
    assert model.canFetchMore()
    first = model.index(0, 0).data(ROW_ROLE)
    assert first is not None and first.sop_uid == "2.25.0"  # newest first, values there at once
    assert model.index(0, 0).data() == "Patient, 000000"

    model.fetchMore()
    assert model.rowCount() == 2 * PAGE_SIZE
    # Rows of the new page are read lazily: a placeholder, then the values.
    row = PAGE_SIZE + 10
    model.index(row, 0).data()
    wait_for(qtbot, lambda: model.index(row, 0).data(ROW_ROLE) is not None)
    assert model.index(row, 1).data() == f"ID{row:06d}"


def test_scrolling_a_view_pages_in_more(qtbot, big_model):
    from PySide6.QtWidgets import QTableView

    from intu_desktop.gui.models.instance_table import PAGE_SIZE

    model = big_model
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(900, 500)
    view.show()
    with qtbot.waitSignal(model.refreshed, timeout=30_000):
        model.refresh()
    assert model.rowCount() == PAGE_SIZE
    for _ in range(3):
        bar = view.verticalScrollBar()
        bar.setValue(bar.maximum())  # the user drags to the end
        qtbot.wait(20)
    assert model.rowCount() >= 2 * PAGE_SIZE
    assert model.rowCount() < ROWS


def test_filter_and_sort_requery_on_the_worker(qtbot, big_model):
    from PySide6.QtCore import Qt

    from intu_desktop.gui.models.instance_query import COLUMN_INDEX, InstanceFilter
    from intu_desktop.gui.models.instance_table import ROW_ROLE

    model = big_model
    with qtbot.waitSignal(model.refreshed, timeout=30_000):
        model.refresh()
    with qtbot.waitSignal(model.refreshed, timeout=30_000):
        model.set_filter(InstanceFilter(text="ID19999"))
    assert model.total == 10  # ID199990 .. ID199999
    with qtbot.waitSignal(model.refreshed, timeout=30_000):
        model.sort(COLUMN_INDEX["patient_id"], Qt.SortOrder.AscendingOrder)
    assert all(model.index(r, 0).data(ROW_ROLE) is not None for r in range(model.rowCount()))
    ids = [model.index(r, COLUMN_INDEX["patient_id"]).data() for r in range(model.rowCount())]
    assert ids == sorted(ids) == [f"ID{n}" for n in range(199990, 200000)]
