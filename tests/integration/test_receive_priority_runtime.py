"""Receiving comes first: the store handler stamps each object, the pipeline and the
deliveries give way while objects arrive, keep going, and never hold up a shutdown.

Real storescu into a real Runtime; no timing is asserted, only who paused and that
everything still got through.
"""

from __future__ import annotations

import json
from pathlib import Path

from dicomtools import copies_with_new_uids, free_port, sample, storescu, wait_for, write_channel

CT = sample("CT_small.dcm")


def _channel(tmp_path: Path, port: int) -> Path:
    exports = tmp_path / "exports"
    body = f"""\
destinations:
  - name: exports
    type: file
    file:
      directory: {json.dumps(str(exports))}
"""
    return write_channel(tmp_path / "ch", port=port, body=body)


def _finished(rt, count: int) -> bool:
    runs = rt.index.query("SELECT count(*) FROM pipeline_runs WHERE status = 'ok'")[0][0]
    sent = rt.index.query("SELECT count(*) FROM deliveries WHERE status = 'delivered'")[0][0]
    return runs == count and sent == count


def test_pipeline_and_deliveries_give_way_while_a_study_arrives_and_still_finish(start_runtime,
                                                                                 tmp_path: Path) -> None:
    port = free_port()
    rt = start_runtime(_channel(tmp_path, port))
    # Receiving counts as going on for the whole test; workers may be busy half of their time.
    rt.priority.quiet_s = 600.0
    rt.priority.share = 0.5
    assert not rt.priority.receiving()
    files = copies_with_new_uids(CT, tmp_path / "study", 6)
    assert storescu(port, files).returncode == 0
    assert rt.priority.receiving()  # the store handler stamped it
    wait_for(lambda: _finished(rt, len(files)), timeout=60)  # slowed down, never stopped
    assert rt.priority.paused_s > 0


def test_a_reprocess_someone_asked_for_does_not_give_way(start_runtime, tmp_path: Path) -> None:
    from intu_desktop.pipeline.runner import Pipeline
    from intu_desktop.receive_priority import ReceivePriority

    class Recording(ReceivePriority):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0

        def give_way(self, busy_s, stopping=lambda: False):  # type: ignore[no-untyped-def]
            self.calls += 1
            return 0.0

    port = free_port()
    rt = start_runtime(_channel(tmp_path, port), with_pipeline=False)
    files = copies_with_new_uids(CT, tmp_path / "study", 3)
    assert storescu(port, files).returncode == 0
    ids = [row[0] for row in rt.index.query("SELECT id FROM instances ORDER BY id")]
    priority = Recording()
    pipeline = Pipeline(rt.index, rt.bus, rt.project, tmp_path / "p", None, workers=1, priority=priority)
    pipeline.start()  # the stored instances were never run: resumed at start, and they give way
    try:
        wait_for(lambda: priority.calls == len(ids), timeout=60)
        priority.calls = 0
        pipeline.reprocess(ids)  # asked for by someone: no pauses
        pipeline.submit(ids[0])  # a fresh arrival: gives way; one worker, so it runs last
        wait_for(lambda: priority.calls >= 1, timeout=60)
        assert priority.calls == 1
        assert rt.index.query("SELECT count(*) FROM pipeline_runs")[0][0] == 2 * len(ids) + 1
    finally:
        pipeline.stop()


def test_stop_is_not_held_up_by_a_worker_giving_way(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    rt = start_runtime(_channel(tmp_path, port))
    rt.priority.quiet_s = 600.0
    rt.priority.share = 0.001  # a pause of up to max_pause_s after every item
    rt.priority.max_pause_s = 600.0
    assert storescu(port, [CT]).returncode == 0
    wait_for(lambda: _finished(rt, 1), timeout=60)
    threads = [*rt.pipeline._threads, *rt.delivery._threads]
    assert threads and all(t.is_alive() for t in threads)
    rt.stop()  # joins with timeouts far below the pauses
    assert not [t.name for t in threads if t.is_alive()]
