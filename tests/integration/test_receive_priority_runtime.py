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


def test_nothing_pauses_when_nothing_arrives(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    rt = start_runtime(_channel(tmp_path, port))
    files = copies_with_new_uids(CT, tmp_path / "study", 3)
    assert storescu(port, files).returncode == 0
    rt.priority.quiet_s = 0.0  # from here on nothing counts as arriving
    rt.pipeline.reprocess([row[0] for row in rt.index.query("SELECT id FROM instances")])
    assert rt.pipeline.wait_idle(60)
    paused = rt.priority.paused_s
    rt.pipeline.reprocess([row[0] for row in rt.index.query("SELECT id FROM instances")])
    assert rt.pipeline.wait_idle(60)
    assert rt.priority.paused_s == paused


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
