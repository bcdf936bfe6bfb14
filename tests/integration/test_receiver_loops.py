"""Issue 9: the listener's association loops wake on work, not on a clock.

Counted, not timed: an idle association must not spin its DUL and reactor a thousand
times a second (ten of them starve the window of the GIL), an outgoing primitive must
wake the DUL through its pipe, a release from the peer must wake the reactor, and the
receive socket re-arms TCP_QUICKACK after it answers.
"""

from __future__ import annotations

import select
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from dicomtools import echoscu, free_port, sample, storescu, wait_for, write_channel
from pynetdicom import AE

from intu_desktop.dicom import reactor, transport
from intu_desktop.index.associations import recent_associations

VERIFICATION = "1.2.840.10008.1.1"


def _counting(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> list[int]:
    calls = [0]
    original = getattr(cls, name)

    def counted(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counted)
    return calls


def test_idle_association_does_not_spin(start_runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dul_waits = _counting(monkeypatch, reactor.ListenerDUL, "_wait_for_data")
    serves = _counting(monkeypatch, reactor.ListenerAssociation, "_serve_request")
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), with_pipeline=False)
    ae = AE(ae_title="IDLER")
    ae.add_requested_context(VERIFICATION)
    assoc = ae.associate("127.0.0.1", port, ae_title="INTU_SCP")
    try:
        assert assoc.is_established
        before = dul_waits[0]
        time.sleep(1.0)
        idle_waits = dul_waits[0] - before
        # 1 ms polling gave ~1,000 wake-ups per second; timers only need a few dozen.
        assert idle_waits < 100, f"the DUL woke {idle_waits} times in one idle second"
        status = assoc.send_c_echo()
        assert status.Status == 0x0000
    finally:
        assoc.release()
    assert serves[0] == 1
    assert wait_for(lambda: [a for a in recent_associations(rt.index) if a.state == "released"])


def test_many_short_associations_are_released_and_recorded(start_runtime, tmp_path: Path) -> None:
    """Releases reach the reactor through the DUL's nudge and answers reach the peer through
    the wake pipe (without them, only at the next 50 ms tick): 20 echo associations and a
    store must all complete and be recorded released. Counted, not timed."""
    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), with_pipeline=False)
    for _ in range(20):
        assert echoscu(port).returncode == 0
    assert storescu(port, [sample("CT_small.dcm")]).returncode == 0

    def all_released() -> list:  # type: ignore[type-arg]
        done = [a for a in recent_associations(rt.index) if a.state == "released"]
        return done if len(done) == 21 else []

    assert len(wait_for(all_released)) == 21


def test_outgoing_primitive_wakes_the_dul() -> None:
    woke: list[int] = []
    queue_ = reactor._WakingQueue(lambda: woke.append(1))
    queue_.put("primitive")
    assert woke == [1] and queue_.get_nowait() == "primitive"

    r, w = socket.socketpair()
    try:
        dul = reactor.ListenerDUL.__new__(reactor.ListenerDUL)
        dul._wake_r, dul._wake_w = r, w
        dul.wake()
        assert select.select([r], [], [], 0)[0] == [r]  # readable at once, no timer involved
    finally:
        r.close()
        w.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_QUICKACK is Linux only")
def test_quickack_rearmed_after_each_send(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int, int]] = []

    class RecordingSocket:
        def send(self, data: bytes) -> int:
            return len(data)

        def setsockopt(self, level: int, option: int, value: int) -> None:
            calls.append((level, option, value))

    sock = transport.ListenerSocket.__new__(transport.ListenerSocket)
    sock.socket = RecordingSocket()  # type: ignore[assignment]
    sock.tcp_tuning = True
    monkeypatch.setattr(transport.AssociationSocket, "send", lambda self, data: None)
    sock.send(b"\x04\x00")
    assert (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1) in calls

    calls.clear()
    sock.tcp_tuning = False  # the setting turns it off
    sock.send(b"\x04\x00")
    assert calls == []


def test_a_failure_while_serving_inline_aborts_cleanly(start_runtime, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """pynetdicom aborts when serving a request raises; served on the DUL thread, that abort
    must not wait for the DUL itself: the peer gets an A-ABORT, the threads end, and the
    listener goes on answering."""
    from pynetdicom.service_class import StorageServiceClass

    def broken(self, req, context):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug past the handler")

    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), with_pipeline=False)
    before = set(threading.enumerate())
    monkeypatch.setattr(StorageServiceClass, "SCP", broken)
    sent = storescu(port, [sample("CT_small.dcm")])
    assert sent.returncode != 0
    assert wait_for(lambda: [a for a in recent_associations(rt.index) if a.state == "aborted"])
    monkeypatch.undo()
    assert echoscu(port).returncode == 0
    assert storescu(port, [sample("CT_small.dcm")]).returncode == 0

    def association_threads() -> list[str]:
        return [t.name for t in set(threading.enumerate()) - before
                if t.name.startswith("Association@") or "run_reactor" in t.name]

    assert wait_for(lambda: not association_threads(), timeout=10) is not None
