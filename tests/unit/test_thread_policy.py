"""Background threads wait for a free core when they wake; the receive path keeps the normal
policy, whichever thread started it (thread_policy.py, issue 9). Linux only: elsewhere the
functions do nothing."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from dicomtools import free_port, write_channel

from intu_desktop.thread_policy import make_background, normal_policy

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policies")

BATCH = getattr(os, "SCHED_BATCH", -1)
OTHER = getattr(os, "SCHED_OTHER", -1)


def _in_background_thread(work: Callable[[], Any]) -> Any:
    """Run `work` on a new thread that made itself a background one first (as the window's
    control worker or a receiver reader's restart timer is)."""
    out: dict[str, Any] = {}

    def run() -> None:
        make_background()
        try:
            out["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - raised again on the test's thread
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in out:
        raise out["error"]
    return out["value"]


def _policies_by_name() -> dict[str, list[int]]:
    policies: dict[str, list[int]] = {}
    for thread in threading.enumerate():
        if thread.native_id is not None and thread.is_alive():
            try:
                policies.setdefault(thread.name, []).append(os.sched_getscheduler(thread.native_id))
            except OSError:  # ended meanwhile
                pass
    return policies


def _process_policies(pid: int) -> dict[int, int]:
    policies = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            policies[int(tid)] = os.sched_getscheduler(int(tid))
        except OSError:
            pass
    return policies


def test_a_thread_started_by_a_background_one_inherits_its_policy_unless_started_inside_normal_policy(
        ) -> None:
    seen: dict[str, int] = {}

    def record(key: str) -> None:
        seen[key] = os.sched_getscheduler(0)

    def work() -> None:
        record("background")
        for key, inside in (("started by it", False), ("started inside normal_policy", True)):
            child = threading.Thread(target=record, args=(key,))
            if inside:
                with normal_policy():
                    child.start()
            else:
                child.start()
            child.join()
        record("afterwards")

    _in_background_thread(work)
    assert seen == {"background": BATCH, "started by it": BATCH, "started inside normal_policy": OTHER,
                    "afterwards": BATCH}
    assert os.sched_getscheduler(0) == OTHER  # the test's own thread was never touched


@pytest.mark.parametrize("started_from", ["the main thread", "a background thread"])
def test_the_receive_path_has_the_normal_policy_and_the_rest_waits_for_a_free_core(
        tmp_path: Path, start_runtime: Callable[..., Any], started_from: str) -> None:
    channel = write_channel(tmp_path / "ch", port=free_port(), channel_id="policy")
    if started_from == "the main thread":  # the headless mode
        runtime = start_runtime(channel, receiver_process=True)
    else:  # the window, whose control worker starts the runtime
        runtime = _in_background_thread(lambda: start_runtime(channel, receiver_process=True))
    listener = runtime.listeners["policy"]
    assert listener.pids
    for pid in listener.pids:
        policies = _process_policies(pid)
        # One background thread, the outbox that writes events and log lines to the parent;
        # the main thread, the listener's, the index writer's and any a library started have
        # the normal policy.
        assert sorted(policies.values()).count(BATCH) == 1, policies
        assert policies[pid] == OTHER
    by_name = _policies_by_name()
    readers = [name for name in by_name if name.startswith("receiver-policy-") and name.endswith("-reader")]
    assert readers and all(by_name[name] == [BATCH] for name in readers)
    assert by_name["index-writer"] == [OTHER]  # it may hold the database lock the receivers need
    workers = {name: ps for name, ps in by_name.items() if name.startswith(("pipeline-", "delivery-"))}
    assert {name.split("-")[0] for name in workers} == {"pipeline", "delivery"}
    assert all(p == BATCH for ps in workers.values() for p in ps), workers


def test_an_in_process_listener_started_by_a_background_thread_serves_under_the_normal_policy(
        tmp_path: Path, start_runtime: Callable[..., Any]) -> None:
    channel = write_channel(tmp_path / "ch", port=free_port(), channel_id="inproc")
    _in_background_thread(lambda: start_runtime(channel, with_pipeline=False))
    # Its association threads are started by this thread.
    assert _policies_by_name()["listener-inproc"] == [OTHER]


def test_the_log_writer_is_a_background_thread(tmp_path: Path) -> None:
    from intu_desktop.log_file import BatchedRotatingFileHandler

    handler = BatchedRotatingFileHandler(tmp_path / "app.log")
    try:
        assert _policies_by_name()["log-writer"] == [BATCH]
    finally:
        handler.close()


def test_the_windows_workers_and_watchdog_are_background_threads(qapp: Any) -> None:
    from intu_desktop.gui.editor.background import Background
    from intu_desktop.gui.watchdog import UiWatchdog
    from intu_desktop.gui.workers import Workers

    workers, editor, watchdog = Workers(), Background("editor-test"), UiWatchdog()
    watchdog.start()
    try:
        policies = [workers._pools[kind].submit(os.sched_getscheduler, 0).result(10)
                    for kind in ("db", "render", "control", "task")]
        policies.append(editor._pool.submit(os.sched_getscheduler, 0).result(10))  # type: ignore[union-attr]
        policies += _policies_by_name()["ui-watchdog"]
    finally:
        watchdog.stop()
        editor.shutdown()
        workers.shutdown()
    assert policies == [BATCH] * 6
