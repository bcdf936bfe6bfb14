"""How fast the instance table opens over a large index (issue 5; the functional test is
tests/gui/test_instance_paging.py). Prints one table: build, first page, next pages, re-sort,
and for the grouped view a read of every study against the live refresh of the arriving one.

    QT_QPA_PLATFORM=offscreen python benchmarks/instance_model.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_index(path: Path, rows: int) -> None:
    from intu_desktop.index.db import Index

    Index(path).close()
    now = time.time()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.executemany(
        "INSERT INTO instances (sop_uid, study_uid, series_uid, sop_class_uid, modality, patient_name, patient_id, "
        "study_date, transfer_syntax, size, calling_ae, received_at, storage_path) VALUES "
        "(?, ?, ?, '1.2.840.10008.5.1.4.1.1.4', 'MR', ?, ?, '20240301', '1.2.840.10008.1.2.1', ?, 'MR2', ?, '/x')",
        ((f"2.25.{i}", f"2.25.9.{i // 100}", f"2.25.8.{i // 20}", f"Patient^{i:06d}", f"ID{i:06d}", 500 + i, now - i)
         for i in range(rows)))
    conn.commit()
    conn.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from intu_desktop.gui.models.instance_table import InstanceTableModel
    from intu_desktop.gui.workers import Workers
    from intu_desktop.index.db import Index

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.sqlite3"
        t0 = time.perf_counter()
        build_index(path, args.rows)
        built = time.perf_counter() - t0
        index = Index(path)
        workers = Workers()
        model = InstanceTableModel(index, workers)

        def wait(signal_owner: object, action) -> float:  # type: ignore[no-untyped-def]
            done = []
            model.refreshed.connect(lambda *a: done.append(1))
            start = time.perf_counter()
            action()
            while not done:
                app.processEvents()
                time.sleep(0.001)
            return time.perf_counter() - start

        first = wait(model, model.refresh)
        start = time.perf_counter()
        pages = 0
        while model.canFetchMore() and pages < 20:
            before = model.rowCount()
            model.fetchMore()
            while model.rowCount() == before:
                app.processEvents()
                time.sleep(0.001)
            pages += 1
        per_page = (time.perf_counter() - start) / max(pages, 1)
        resort = wait(model, lambda: model.sort(0, model.query.descending is False and 1 or 0))
        model.stop()
        # The grouped view: a full read of every study, and the live refresh of the study
        # that is arriving (its 100 newest instances touched).
        from intu_desktop.gui.models.instance_query import DEFAULT_SORT, InstanceFilter
        from intu_desktop.gui.models.study_query import fetch_studies, fetch_touched_studies

        start = time.perf_counter()
        studies = fetch_studies(index, InstanceFilter(), DEFAULT_SORT, True)
        studies_full = time.perf_counter() - start
        newest = [int(r[0]) for r in index.query("SELECT id FROM instances ORDER BY received_at DESC LIMIT 100")]
        start = time.perf_counter()
        fetch_touched_studies(index, InstanceFilter(), newest)
        studies_live = time.perf_counter() - start
        workers.shutdown()
        index.close()
    print(f"{'rows':>10} {'build s':>8} {'first page ms':>14} {'next page ms':>13} {'re-sort ms':>11} "
          f"{'studies':>8} {'all studies ms':>15} {'live study ms':>14}")
    print(f"{args.rows:>10} {built:>8.1f} {first * 1000:>14.0f} {per_page * 1000:>13.1f} {resort * 1000:>11.0f} "
          f"{len(studies):>8} {studies_full * 1000:>15.0f} {studies_live * 1000:>14.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
