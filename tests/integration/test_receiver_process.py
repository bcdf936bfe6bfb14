"""Issue 9: the window's receivers run in processes of their own (dicom/receiver_process.py).

Real storescu/echoscu against a Runtime built with `receiver_process=True`: objects are
stored and indexed by the child, and the parent sees the same events, the same pipeline
runs and the same log lines as with an in-process listener; refusals and failures keep
their words; a child that dies is said, and the channel starts again.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from dicomtools import (
    copies_with_new_uids,
    echoscu,
    free_port,
    sample,
    spec_transformer_source,
    storescu,
    wait_for,
    write_channel,
)

from intu_desktop import events
from intu_desktop.dicom.receiver_process import ProcessListener
from intu_desktop.dicom.scp import ListenerStartError

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records():
    handler = _Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler.records
    root.removeHandler(handler)
    root.setLevel(level)


def _collect(runtime) -> list[events.Event]:
    seen: list[events.Event] = []
    runtime.bus.subscribe(seen.append)
    return seen


def _receiving(start_runtime, tmp_path: Path, port: int, **channel):  # type: ignore[no-untyped-def]
    """A runtime (no pipeline) receiving in processes on `port`; `channel`: write_channel's options."""
    return start_runtime(write_channel(tmp_path / "ch", port=port, **channel), with_pipeline=False,
                         receiver_process=True)


def _only_listener(runtime) -> ProcessListener:
    (listener,) = runtime.listeners.values()
    assert isinstance(listener, ProcessListener)
    return listener


@needs_node
def test_a_study_is_stored_by_the_child_and_transformed_by_the_parent(start_runtime, tmp_path: Path,
                                                                       records) -> None:
    port = free_port()
    channel = write_channel(tmp_path / "ch", port=port, body="transformer:\n  runtime: node\n"
                                                            "  entrypoint: transformer.ts\n")
    (channel.parent / "transformer.ts").write_text(spec_transformer_source(), encoding="utf-8")
    runtime = start_runtime(channel, data_dir=tmp_path / "data", receiver_process=True)
    seen = _collect(runtime)
    listener = _only_listener(runtime)
    assert listener.state == "listening" and listener.port == port
    assert listener.pid is not None and listener.pid != os.getpid()
    # No SCP thread in this process: the listener's threads live in the child.
    assert not [t.name for t in threading.enumerate() if t.name.startswith("listener-")]

    files = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "study", 12)
    result = storescu(port, files)
    assert result.returncode == 0, result.stderr

    rows = runtime.index.query("SELECT id, storage_path FROM instances ORDER BY id")
    assert len(rows) == 12 and all(Path(r["storage_path"]).is_file() for r in rows)
    stored = wait_for(lambda: [e for e in seen if e.kind == events.INSTANCE_STORED][:12]
                      if len([e for e in seen if e.kind == events.INSTANCE_STORED]) == 12 else None)
    assert sorted(e.data["instance_id"] for e in stored) == [r["id"] for r in rows]
    assert {e.data["calling_ae"] for e in stored} == {"CT_SCANNER_1"}
    kinds = [e.kind for e in seen]
    assert events.ASSOCIATION_ACCEPTED in kinds
    wait_for(lambda: events.ASSOCIATION_RELEASED in [e.kind for e in seen])
    # The ids the child handed over reached the pipeline here: every object transformed.
    runs = wait_for(lambda: (r := runtime.index.query(
        "SELECT status FROM pipeline_runs WHERE is_current = 1")) and len(r) == 12 and r, timeout=90)
    assert {r["status"] for r in runs} == {"ok"}
    # The child's log lines are written by this process's handlers.
    child_lines = [r for r in records if r.process in listener.pids]
    assert any(r.getMessage().startswith("stored ") for r in child_lines)
    assert any("released: 12 stored" in r.getMessage() for r in child_lines)


def test_a_refusal_keeps_its_words(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port, calling=["MR_1"])
    seen = _collect(runtime)
    result = echoscu(port, aet="CT_SCANNER_1")
    assert result.returncode != 0
    rejected = wait_for(lambda: [e for e in seen if e.kind == events.ASSOCIATION_REJECTED])
    assert "CT_SCANNER_1" in rejected[0].data["reason"]
    assert "calling_ae_titles" in rejected[0].data["reason"]
    row = wait_for(lambda: runtime.index.query("SELECT state, reason FROM associations"))
    assert row[0]["state"] == "rejected" and row[0]["reason"] == rejected[0].data["reason"]


def test_a_busy_port_fails_the_start_with_words(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        runtime = start_runtime(write_channel(tmp_path / "ch", port=port), with_pipeline=False,
                                receiver_process=True, expect_failures=True)
        (failure,) = runtime.failures
        assert isinstance(failure, ListenerStartError)
        assert f"port {port} is already in use" in str(failure)
        listener = _only_listener(runtime)
        assert listener.state == "error" and "already in use" in listener.reason
        assert listener.pid is None  # the child that could not bind is gone


def test_stop_ends_the_child_and_frees_the_port_and_start_again_receives(start_runtime, tmp_path: Path,
                                                                        records) -> None:
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port)
    listener = _only_listener(runtime)
    assert echoscu(port).returncode == 0
    pid = listener.pid
    pids = listener.pids
    listener.stop()
    assert listener.state == "stopped" and listener.pid is None
    for ended in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(ended, 0)  # reaped, not a zombie
    # Every process stopped when asked (none had to be killed after STOP_TIMEOUT_S).
    assert not [r for r in records if r.levelno >= logging.ERROR], [r.getMessage() for r in records]
    with socket.socket() as probe:
        # SO_REUSEADDR as a listener sets it: TIME_WAIT connections do not count, a listening socket does.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))  # free: the child closed its socket
    listener.start()
    assert listener.state == "listening" and listener.pid != pid
    assert storescu(port, [sample("CT_small.dcm")]).returncode == 0


def test_a_child_that_dies_is_said_and_the_channel_starts_again(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port)
    seen = _collect(runtime)
    listener = _only_listener(runtime)
    os.kill(listener.pid, signal.SIGKILL)
    wait_for(lambda: listener.state == "error")
    assert "ended unexpectedly" in listener.reason and "exit code -9" in listener.reason
    states = [e.data for e in seen if e.kind == events.LISTENER_STATE]
    assert states[-1]["state"] == "error" and states[-1]["reason"] == listener.reason
    listener.start()
    assert listener.state == "listening"
    assert storescu(port, [sample("CT_small.dcm")]).returncode == 0
    assert len(runtime.index.query("SELECT id FROM instances")) == 1


# -- several receiver processes on one port ----------------------------------------------
@pytest.fixture
def two_workers(monkeypatch):
    from intu_desktop.dicom import receiver_process

    monkeypatch.setattr(receiver_process, "default_workers", lambda: 2)


def _settled(runtime, associations: int) -> None:
    """Wait until `associations` associations have ended and their rows are written."""
    wait_for(lambda: [r["state"] for r in runtime.index.query("SELECT state FROM associations")]
             == ["released"] * associations)


def _accepted_by(records, before: int) -> set[int]:
    """The processes that logged an association request after the first `before` records."""
    return {r.process for r in records[before:] if r.getMessage().startswith("association requested by")}


def test_both_receiver_processes_accept_from_the_one_port(start_runtime, tmp_path: Path, two_workers,
                                                         records) -> None:
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port)
    listener = _only_listener(runtime)
    assert len(listener.pids) == 2 and os.getpid() not in listener.pids
    files = copies_with_new_uids(sample("CT_small.dcm"), tmp_path / "study", 6)
    for n, (paused, serving) in enumerate([listener.pids, listener.pids[::-1]]):
        # Nothing in flight first: a process paused inside its index transaction would hold
        # SQLite's write lock, and the other one's stores would wait for it.
        _settled(runtime, n)
        # The paused process cannot race for the connection: the other one must take it.
        os.kill(paused, signal.SIGSTOP)
        try:
            before = len(records)
            assert storescu(port, files[3 * n:3 * n + 3]).returncode == 0
            wait_for(lambda: _accepted_by(records, before))
            assert _accepted_by(records, before) == {serving}
        finally:
            os.kill(paused, signal.SIGCONT)
    rows = runtime.index.query("SELECT COUNT(*), COUNT(DISTINCT sop_uid) FROM instances")[0]
    assert tuple(rows) == (6, 6)


def test_the_association_limit_counts_every_receiver_process(start_runtime, tmp_path: Path, two_workers,
                                                             records) -> None:
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port, extra_dicom="max_associations: 1")
    listener = _only_listener(runtime)
    seen = _collect(runtime)
    client = AE(ae_title="CT_SCANNER_1")
    client.add_requested_context(Verification)
    before = len(records)
    held = client.associate("127.0.0.1", port, ae_title="INTU_SCP")
    try:
        assert held.is_established
        wait_for(lambda: _accepted_by(records, before))
        (holder,) = _accepted_by(records, before)
        (other,) = set(listener.pids) - {holder}
        # Its row written first (a process paused inside a transaction holds the write lock).
        wait_for(lambda: [r["state"] for r in runtime.index.query("SELECT state FROM associations")]
                 == ["accepted"])
        os.kill(holder, signal.SIGSTOP)  # the next connection goes to the other process
        try:
            before = len(records)
            result = echoscu(port)
            assert result.returncode != 0
            wait_for(lambda: _accepted_by(records, before))  # its log line comes over the pipe
            assert _accepted_by(records, before) == {other}
        finally:
            os.kill(holder, signal.SIGCONT)
        rejected = wait_for(lambda: [e for e in seen if e.kind == events.ASSOCIATION_REJECTED])
        assert "max_associations" in rejected[0].data["reason"]
    finally:
        held.release()
    # Released: the other process's count went back down, so it accepts again.
    wait_for(lambda: [e for e in seen if e.kind == events.ASSOCIATION_RELEASED])
    wait_for(lambda: echoscu(port).returncode == 0, timeout=10, interval=0.2)


def test_when_one_receiver_process_dies_the_channel_stops_and_says_so(start_runtime, tmp_path: Path,
                                                                    two_workers) -> None:
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port)
    listener = _only_listener(runtime)
    first, second = listener.pids
    os.kill(second, signal.SIGKILL)
    wait_for(lambda: listener.state == "error")
    assert "ended unexpectedly" in listener.reason
    wait_for(lambda: _gone(first))  # the survivor stopped too: no half-served port
    listener.start()
    assert listener.state == "listening" and not set(listener.pids) & {first, second}
    assert echoscu(port).returncode == 0


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_child_that_cannot_open_the_index_says_why(tmp_path: Path, records) -> None:
    """Whatever stops a receiver process from starting reaches the channel's state in words."""
    from intu_desktop.config import load_channel_files
    from intu_desktop.events import EventBus

    port = free_port()
    (channel,) = load_channel_files([write_channel(tmp_path / "ch", port=port)]).dicom_channels
    data = tmp_path / "data"
    (data / "index.sqlite3").mkdir(parents=True)  # a folder where the database file belongs
    listener = ProcessListener(channel, data_dir=data, bus=EventBus(), host="127.0.0.1", workers=1)
    with pytest.raises(ListenerStartError) as raised:
        listener.start()
    assert "the receiver process could not start" in str(raised.value)
    assert "unable to open database file" in str(raised.value)
    assert listener.state == "error" and listener.reason == str(raised.value)
    assert any("Traceback" in (r.exc_text or "") for r in records)  # the stack reached this log
    with socket.socket() as probe:  # nothing left listening
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_a_channel_that_had_been_listening_starts_again_by_itself(start_runtime, tmp_path: Path, two_workers,
                                                                 monkeypatch) -> None:
    from intu_desktop.dicom import receiver_process

    monkeypatch.setattr(receiver_process, "RESTART_AFTER_S", 0.0)  # "had been listening long enough"
    monkeypatch.setattr(receiver_process, "RESTART_DELAYS_S", (0.1,))
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port)
    seen = _collect(runtime)
    listener = _only_listener(runtime)
    before = set(listener.pids)
    os.kill(listener.pids[0], signal.SIGKILL)
    wait_for(lambda: _error_reasons(seen))
    wait_for(lambda: listener.state == "listening" and not set(listener.pids) & before)
    states = [e.data["state"] for e in seen if e.kind == events.LISTENER_STATE]
    assert states == ["error", "starting", "listening"]
    error = _error_reasons(seen)[0]
    assert "ended unexpectedly" in error and "starting it again" in error
    assert storescu(port, [sample("CT_small.dcm")]).returncode == 0


def test_a_crash_loop_keeps_restarting_with_longer_delays(start_runtime, tmp_path: Path, monkeypatch) -> None:
    """A receiver process that dies soon after it started is started again too, each time later."""
    from intu_desktop.dicom import receiver_process

    monkeypatch.setattr(receiver_process, "RESTART_DELAYS_S", (0.1, 0.2, 0.4))
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port)
    seen = _collect(runtime)
    listener = _only_listener(runtime)
    expected = ((1, "0.2"), (2, "0.4"), (3, "0.4"))  # deaths in a row, next delay: the last repeats
    for _death in expected:
        before = set(listener.pids)
        os.kill(listener.pids[0], signal.SIGKILL)
        wait_for(lambda: listener.state == "listening" and listener.pids and not set(listener.pids) & before)
    errors = _error_reasons(seen)
    assert len(errors) == 3
    for reason, (in_a_row, delay) in zip(errors, expected):
        assert f"starting it again in {delay} s" in reason
        assert f"less than 60 s, {in_a_row} time(s) in a row" in reason
    assert storescu(port, [sample("CT_small.dcm")]).returncode == 0


def test_a_restart_that_cannot_bind_tries_again(start_runtime, tmp_path: Path, monkeypatch) -> None:
    from intu_desktop.dicom import receiver_process

    monkeypatch.setattr(receiver_process, "RESTART_DELAYS_S", (0.1, 1.0, 0.3))
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port)
    listener = _only_listener(runtime)
    os.kill(listener.pids[0], signal.SIGKILL)
    wait_for(lambda: listener.state == "error")
    with socket.socket() as blocker:  # another program takes the port before the restart (1 s)
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        wait_for(lambda: _try_bind(blocker, port))
        blocker.listen()
        wait_for(lambda: "trying again in 0.3 s" in listener.reason)
        assert "already in use" in listener.reason and listener.state == "error"
    wait_for(lambda: listener.state == "listening")  # the port is free again: the next attempt binds
    assert storescu(port, [sample("CT_small.dcm")]).returncode == 0


def _error_reasons(seen: list[events.Event]) -> list[str]:
    """The reasons of the channel's error states, in order."""
    return [e.data["reason"] for e in seen if e.kind == events.LISTENER_STATE and e.data["state"] == "error"]


def _try_bind(sock: socket.socket, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def test_a_stop_cancels_the_restart(start_runtime, tmp_path: Path, monkeypatch) -> None:
    from intu_desktop.dicom import receiver_process

    monkeypatch.setattr(receiver_process, "RESTART_AFTER_S", 0.0)
    monkeypatch.setattr(receiver_process, "RESTART_DELAYS_S", (1.0,))
    port = free_port()
    runtime = _receiving(start_runtime, tmp_path, port)
    listener = _only_listener(runtime)
    os.kill(listener.pids[0], signal.SIGKILL)
    wait_for(lambda: listener.state == "error")
    listener.stop()  # the user stops it before the restart is due
    time.sleep(1.5)
    assert listener.state == "stopped" and listener.pids == []
