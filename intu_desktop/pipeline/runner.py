"""Pipeline workers: each stored instance runs through its channel's validator and transformer.

Runs never happen on an association's thread (DESIGN §5): the store handler only
enqueues an instance id. A run is one row in `pipeline_runs`; its deliveries are queued
in the same transaction, so a crash never leaves a run without its deliveries. At start,
instances still `pending` (stored, never processed) are picked up again.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intu_desktop import events
from intu_desktop.events import EventBus
from intu_desktop.index.db import Index, dumps
from intu_desktop.index.instances import (
    get_instance,
    iso_time,
    pending_instance_ids,
    set_pipeline_status,
)
from intu_desktop.pipeline import fhir_check
from intu_desktop.pipeline.message import body_from_file, build_context, build_message
from intu_desktop.receive_priority import NEVER, ReceivePriority
from intu_desktop.thread_policy import make_background

log = logging.getLogger(__name__)

NODE_MISSING = "Node.js 18 or newer was not found: install it, or use runtime: python"


@dataclass
class RunResult:
    """What one pipeline run produced, as stored in `pipeline_runs`."""

    instance_id: int
    channel_id: str
    message_id: str
    started_at: float
    status: str = "ok"  # ok|invalid|error|filtered
    input: dict[str, Any] = field(default_factory=dict)
    validator: dict[str, Any] | None = None
    output_body: str | None = None
    output_content_type: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    stack: str | None = None
    logs: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    finished_at: float = 0.0


def _save_run(conn: Any, run: RunResult) -> int:
    conn.execute("UPDATE pipeline_runs SET is_current = 0 WHERE instance_id = ?", (run.instance_id,))
    cur = conn.execute(
        "INSERT INTO pipeline_runs (instance_id, message_id, channel_id, started_at, finished_at, status, "
        "input_json, validator_json, output_body, output_content_type, warnings_json, error, stack, logs_json, "
        "timings_json, is_current) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
        (run.instance_id, run.message_id, run.channel_id, run.started_at, run.finished_at, run.status,
         dumps(run.input), dumps(run.validator), run.output_body, run.output_content_type, dumps(run.warnings),
         run.error, run.stack, dumps(run.logs), dumps(run.timings)),
    )
    set_pipeline_status(conn, run.instance_id, run.status)
    return int(cur.lastrowid or 0)


class Pipeline:
    def __init__(self, index: Index, bus: EventBus, project: Any, data_dir: Path, delivery: Any = None,
                 *, workers: int = 2, node_runtime: Any = None, python_runtime: Any = None,
                 priority: ReceivePriority = NEVER) -> None:
        self.index = index
        self.bus = bus
        self.project = project
        self.data_dir = Path(data_dir)
        self.delivery = delivery
        self._workers = workers
        # (instance id, re-read the stored file?) — a fresh store already put the body in the index
        self._queue: queue.Queue[tuple[int, bool] | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._node = node_runtime
        self._python = python_runtime
        self._owns_runtimes = node_runtime is None and python_runtime is None
        self._running = False
        self._priority = priority
        self._warmed = threading.Event()

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        if self._running:
            return
        self._running = True
        if self._node is None:
            from intu_desktop.pipeline.runtimes import NodeRuntime

            self._node = NodeRuntime(pool_size=self._workers, cache_dir=self.data_dir / "cache" / "scripts")
        if self._python is None:
            from intu_desktop.pipeline.runtimes import PythonRuntime

            self._python = PythonRuntime(pool_size=self._workers)
        self._warmed.clear()
        threading.Thread(target=self._warm_up, name="pipeline-warm-up", daemon=True).start()
        for i in range(self._workers):
            t = threading.Thread(target=self._work, name=f"pipeline-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        resumed = pending_instance_ids(self.index)
        if resumed:
            log.info("resuming %d instance(s) not yet through the pipeline", len(resumed))
        for instance_id in resumed:
            self._queue.put((instance_id, False))

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=15)
        self._threads.clear()
        if self._owns_runtimes:
            for rt in (self._node, self._python):
                if rt is not None:
                    rt.close()
            self._node = self._python = None

    def _warm_up(self) -> None:
        """Load every channel's scripts in every worker and build the FHIR check, in the
        background at start: otherwise the first message of each worker pays for it (about
        0.7 s of CPU per Node worker with a TypeScript transformer) while a study arrives."""
        make_background()
        started = time.monotonic()
        scripts = [script for ch in getattr(self.project, "channels", []) if getattr(ch, "enabled", True)
                   for script in (getattr(ch, "validator", None), getattr(ch, "transformer", None))
                   if script is not None]
        problems: list[str] = []
        try:
            for script in scripts:
                if not self._running:
                    return
                runtime = self._runtime(script)
                if not runtime.available()[0]:
                    continue  # the run reports it, with the words to fix it
                problems += [r.error or "" for r in runtime.warm(Path(script.entrypoint)) if not r.ok]
            if any(getattr(ch, "transformer", None) is not None for ch in getattr(self.project, "channels", [])):
                fhir_check.warm_up()  # only a transformer's output is checked as FHIR
            if not self._running:
                return  # stopped meanwhile: its runtimes are closed, their "errors" mean nothing
            for problem in problems:
                log.warning("a channel script did not load at start (its runs will say why): %s", problem[:300])
            log.info("pipeline ready: %d script(s) loaded in %.0f ms", len(scripts),
                     (time.monotonic() - started) * 1000)
        except Exception:  # a warm-up is an optimisation: the first message does it anyway
            log.exception("pipeline warm-up failed")
        finally:
            self._warmed.set()

    def wait_warm(self, timeout: float = 60.0) -> bool:
        """For tests and tools: wait until the start-up warm-up is over."""
        return self._warmed.wait(timeout)

    def submit(self, instance_id: int) -> None:
        """Called on the association's thread: only enqueues."""
        self._queue.put((instance_id, False))

    def reprocess(self, instance_ids: list[int]) -> None:
        """Run again from the stored files (DESIGN: each run is kept, the newest is current)."""
        for instance_id in instance_ids:
            self._queue.put((instance_id, True))

    def depth(self) -> int:
        return self._queue.qsize()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """For tests and tools: wait until the queue is drained and workers are done."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def _work(self) -> None:
        make_background()
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                started = time.monotonic()
                self.process(item[0], reread=item[1])
            except Exception:
                log.exception("pipeline run failed for instance %s", item and item[0])
            finally:
                self._queue.task_done()
            if item is not None and not item[1]:
                # Outside task_done: a pause is not work in progress (wait_idle). A reprocess
                # (item[1]) is someone waiting for an answer: it does not give way.
                self._priority.give_way(time.monotonic() - started, lambda: not self._running)

    # -- one run -----------------------------------------------------------------
    def _channel(self, channel_id: str) -> Any:
        for ch in getattr(self.project, "channels", []):
            if ch.id == channel_id:
                return ch
        return None

    def _runtime(self, script: Any) -> Any:
        return self._python if script.runtime == "python" else self._node

    def process(self, instance_id: int, *, reread: bool = True) -> RunResult | None:
        row = get_instance(self.index, instance_id)
        if row is None:
            return None
        started = time.time()
        run = RunResult(instance_id=instance_id, channel_id=row["channel_id"], message_id=str(uuid.uuid4()),
                        started_at=started)
        channel = self._channel(row["channel_id"])
        try:
            t0 = time.perf_counter()
            body = body_from_file(row) if reread else json.loads(row["body_json"])
            message = build_message(row, body, run.message_id)
            run.input = message
            run.timings["message_ms"] = (time.perf_counter() - t0) * 1000
            if channel is None:
                run.status, run.error = "error", f"channel {row['channel_id']} is not in the current configuration"
            else:
                self._run_scripts(channel, message, run)
        except Exception as exc:  # e.g. the stored file went missing
            run.status, run.error = "error", f"{type(exc).__name__}: {exc}"
            run.stack = traceback.format_exc()
        run.finished_at = time.time()

        def commit(conn: Any) -> tuple[int, list[int]]:
            run_id = _save_run(conn, run)
            queued: list[int] = []
            if run.status == "ok" and channel is not None and self.delivery is not None:
                queued = list(self.delivery.enqueue(conn, run_id, instance_id, channel))
            return run_id, queued

        run_id, queued = self.index.write(commit)
        if queued and self.delivery is not None:
            self.delivery.wake()
        self.bus.publish(events.PIPELINE_RUN, instance_id=instance_id, run_id=run_id, status=run.status,
                         channel_id=run.channel_id, error=run.error, deliveries=queued)
        if run.status not in ("ok", "filtered"):
            log.warning("pipeline %s for %s: %s", run.status, row["sop_uid"], (run.error or "")[:300])
        return run

    def _run_scripts(self, channel: Any, message: dict[str, Any], run: RunResult) -> None:
        from intu_desktop.pipeline.contracts import interpret_transform, interpret_validate

        stamp = iso_time(time.time())
        if channel.validator is not None:
            result = self._call(channel.validator, "validate", message, stamp, run)
            if result is None:
                return
            verdict = interpret_validate(result.value if result.ok else None, None if result.ok else result.error)
            run.validator = {"valid": verdict.valid, "errors": list(verdict.errors), "ms": result.duration_ms}
            if not verdict.valid:
                run.status = "invalid"
                run.error = "; ".join(verdict.errors) or "the validator refused the message"
                run.stack = result.stack
                return
        if channel.transformer is None:
            # No transformer: destinations get the metadata itself.
            run.output_body = message["body"]
            run.output_content_type = "application/json"
            return
        result = self._call(channel.transformer, "transform", message, stamp, run)
        if result is None:
            return
        if not result.ok:
            run.status, run.error, run.stack = "error", result.error, result.stack
            return
        outcome = interpret_transform(result.value, message)
        if not outcome.ok:
            run.status, run.error = "error", outcome.error
            return
        if getattr(outcome, "filtered", False):
            run.status = "filtered"
            return
        run.output_body = outcome.body
        run.output_content_type = outcome.content_type or "application/json"
        if run.output_content_type.split(";")[0].strip() == "application/fhir+json" and run.output_body:
            run.warnings.extend(fhir_check.check_fhir(run.output_body))

    def _call(self, script: Any, stage: str, message: dict[str, Any], stamp: str, run: RunResult) -> Any:
        runtime = self._runtime(script)
        ok, reason = runtime.available()
        if not ok:
            run.status, run.error = "error", reason or NODE_MISSING
            return None
        ctx = build_context(message, stage, stamp)
        result = runtime.call(Path(script.entrypoint), f"auto:{stage}", [message, ctx],
                              timeout_s=float(getattr(script, "timeout_ms", 10000)) / 1000)
        run.logs.extend(f"[{stage}] {line}" for line in result.logs)
        run.timings[f"{stage}_ms"] = float(result.duration_ms)
        if result.timed_out or result.crashed:
            run.status, run.error, run.stack = "error", result.error, result.stack
            return None
        return result


def outputs_json(run_row: Any) -> Any:
    """Pretty output for views: the body parsed when it is JSON."""
    body = run_row["output_body"]
    try:
        return json.loads(body) if body else None
    except (TypeError, ValueError):
        return body
