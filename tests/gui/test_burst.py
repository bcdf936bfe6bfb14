"""2,000 objects arrive while the window is open: every row is there, the GUI never stalls."""

from __future__ import annotations

import logging
import os

import pytest
from pydicom.data import get_testdata_file

from tests.gui.conftest import copies_of, needs_dcmtk, wait_for

# As the app runs it: the receivers in processes of their own, not sharing the GUI's interpreter.
pytestmark = [needs_dcmtk, pytest.mark.slow, pytest.mark.receiver_process]

COUNT = 2000


def test_burst_of_2000_objects_all_rows_and_no_ui_stall(
    qtbot, window, sender, channel_port, tmp_path, caplog
):
    from intu_desktop.gui.models.instance_table import ROW_ROLE
    from intu_desktop.gui.watchdog import UiWatchdog

    files = copies_of(get_testdata_file("CT_small.dcm"), tmp_path / "burst", COUNT)
    sent = set()
    import pydicom

    for path in files:
        sent.add(
            str(
                pydicom.dcmread(
                    path, stop_before_pixels=True, specific_tags=["SOPInstanceUID"]
                ).SOPInstanceUID
            )
        )
    caplog.set_level(logging.INFO)
    watchdog = UiWatchdog(window)
    window.watch(watchdog)  # as the app does: a strained GUI thread gets fewer view updates
    watchdog.start()
    try:
        qtbot.wait(200)  # the heartbeat runs before the burst starts
        result = sender.store(
            channel_port, [tmp_path / "burst"], options=["+sd"], timeout_ms=300_000
        )
        assert result.returncode == 0, result.stderr[-2000:]
        model = window.instances.model
        wait_for(qtbot, lambda: model.total == COUNT, timeout_ms=60_000)
        # Scroll through everything, as a user would, paging in the rest.
        while model.canFetchMore():
            model.fetchMore()
        assert model.rowCount() == COUNT

        def loaded() -> list:
            return [model.index(r, 0).data(ROW_ROLE) for r in range(model.rowCount())]

        wait_for(qtbot, lambda: all(row is not None for row in loaded()), timeout_ms=60_000)
        assert {row.sop_uid for row in loaded()} == sent
        wait_for(qtbot, lambda: window.strip.model.rowCount() == 24)
        qtbot.wait(300)
    finally:
        watchdog.stop()
    stored_lines = [r for r in caplog.records if r.getMessage().startswith("stored ")]
    assert len(stored_lines) == COUNT
    stalls = [r.getMessage() for r in caplog.records if "ui-stall" in r.getMessage()]
    summary = "\n".join(s.splitlines()[0] + "\n" + "\n".join(s.splitlines()[-4:]) for s in stalls)
    if stalls and all(report.machine_busy for report in watchdog.reports):
        # The kernel says the GUI thread spent most of each stall runnable but without a
        # CPU: other processes on this machine, not this app, held it up.
        pytest.xfail(f"the machine was overloaded (load {os.getloadavg()[0]:.1f}):\n{summary}")
    assert not stalls, summary
    assert watchdog.stalls == 0
