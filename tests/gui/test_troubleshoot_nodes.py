"""The remote nodes table: counts from the associations table, qtmodeltester, live refresh."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from tests.gui.conftest import needs_dcmtk, spin_until


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Any]:
    from intu_desktop.index.db import Index

    idx = Index(tmp_path / "index.sqlite3")
    yield idx
    idx.close()


def _add(index: Any, n: int, **fields: Any) -> None:
    from intu_desktop.index.associations import AssociationRecord, save_association

    rec = AssociationRecord(id=f"a{n}", channel_id="ch", peer_host=fields.pop("peer_host", "10.0.0.5"),
                            peer_port=1000 + n, tls=False, **fields)
    index.write(lambda conn: save_association(conn, rec))


def test_counts_per_calling_ae(index: Any) -> None:
    from intu_desktop.gui.troubleshoot.node_stats import remote_nodes

    now = time.time()
    _add(index, 1, requested_at=now - 30 * 3600, calling_ae="CT1", state="released", instances=50,
         ended_at=now - 30 * 3600 + 5)  # yesterday and before: not "today", not in the sparkline
    _add(index, 2, requested_at=now - 60, calling_ae="CT1", state="released", instances=3, ended_at=now - 50)
    _add(index, 3, requested_at=now - 30, calling_ae="CT1", state="rejected", reason="calling AE title not recognized",
         reject_result=1, reject_source=1, reject_reason=3, ended_at=now - 30, peer_host="10.0.0.9")
    _add(index, 4, requested_at=now - 10, calling_ae="MR2", state="accepted", instances=1)
    nodes = {n.calling_ae: n for n in remote_nodes(index, now)}
    ct = nodes["CT1"]
    assert (ct.associations, ct.succeeded, ct.failed) == (3, 2, 1)
    assert ct.success_rate == pytest.approx(2 / 3)
    assert ct.address == "10.0.0.9"  # the most recent
    assert ct.last_error == "calling AE title not recognized"
    if time.localtime(now - 60).tm_yday == time.localtime(now).tm_yday:  # not just after midnight
        assert ct.objects_today == 3
    assert sum(ct.hourly) == 2 and ct.hourly[-1] == 2
    mr = nodes["MR2"]
    assert mr.success_rate is None and mr.last_error == "" and mr.objects_today == 1
    assert [n.calling_ae for n in remote_nodes(index, now)] == ["MR2", "CT1"]  # last seen first


def test_model_passes_qtmodeltester(qtmodeltester: Any, index: Any) -> None:
    from intu_desktop.gui.troubleshoot.node_stats import remote_nodes
    from intu_desktop.gui.troubleshoot.remote_nodes import RemoteNodesModel

    now = time.time()
    for n in range(5):
        _add(index, n, requested_at=now - n * 3000, calling_ae=f"AE{n % 3}", state="released", ended_at=now)
    model = RemoteNodesModel()
    model.set_nodes(remote_nodes(index, now))
    assert model.rowCount() == 3
    qtmodeltester.check(model)


@needs_dcmtk
def test_view_follows_real_associations(qtbot: Any, runtime: Any, channel_port: int, sender: Any) -> None:
    from intu_desktop.gui.troubleshoot.remote_nodes import RemoteNodesView
    from intu_desktop.gui.workers import Workers

    workers = Workers()
    view = RemoteNodesView(workers, runtime)
    qtbot.addWidget(view)
    try:
        ct = get_testdata_file("CT_small.dcm")
        assert sender.store(channel_port, [ct], aet="CT_SCANNER_1").returncode == 0
        assert sender.store(channel_port, [ct], aet="CT_SCANER_1").returncode != 0

        def rows() -> dict[str, Any]:
            return {view.model.node(r).calling_ae: view.model.node(r) for r in range(view.model.rowCount())}

        def settled() -> bool:  # the index writer commits the released record a moment later
            view.refresh()
            found = rows()
            return "CT_SCANER_1" in found and found.get("CT_SCANNER_1") is not None \
                and found["CT_SCANNER_1"].succeeded == 1
        spin_until(settled)
        nodes = rows()
        assert nodes["CT_SCANNER_1"].objects_today == 1 and nodes["CT_SCANNER_1"].address == "127.0.0.1"
        assert nodes["CT_SCANER_1"].failed == 1
        assert "calling AE title not recognized" in nodes["CT_SCANER_1"].last_error
    finally:
        workers.shutdown()
