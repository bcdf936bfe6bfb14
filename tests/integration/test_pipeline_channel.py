"""Issue 3: stored instances run through the channel's scripts (real Node.js, real storescu)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pydicom
import pytest
from dicomtools import REPO, free_port, sample, spec_transformer_source, storescu, wait_for, wait_port, write_channel

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")


def _channel(tmp_path: Path, port: int, *, transformer: str | None = None, validator: str | None = None,
             runtime: str = "node", timeout_ms: int | None = None, name: str = "ch") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    body = ""
    if validator:
        body += f"validator:\n  runtime: {runtime}\n  entrypoint: {validator}\n"
    if transformer:
        body += f"transformer:\n  runtime: {runtime}\n  entrypoint: {transformer}\n"
        if timeout_ms:
            body += f"  timeout_ms: {timeout_ms}\n"
    return write_channel(folder, port=port, body=body)


def _runs(rt, sop: str) -> list:
    return rt.index.query(
        "SELECT r.* FROM pipeline_runs r JOIN instances i ON i.id = r.instance_id WHERE i.sop_uid = ? ORDER BY r.id",
        (sop,))


def _current_run(rt, sop: str):
    return wait_for(lambda: [r for r in _runs(rt, sop) if r["is_current"]], timeout=60)[0]


CT = sample("CT_small.dcm")
CT_SOP = str(pydicom.dcmread(CT, stop_before_pixels=True).SOPInstanceUID)


def _assert_imaging_study(study: dict, stored_path: str) -> None:
    ds = pydicom.dcmread(CT, stop_before_pixels=True)
    assert study["resourceType"] == "ImagingStudy"
    assert study["identifier"][0] == {"system": "urn:dicom:uid", "value": f"urn:oid:{ds.StudyInstanceUID}"}
    assert study["subject"]["identifier"]["value"] == ds.PatientID
    assert study["subject"]["display"] == str(ds.PatientName)
    date, time_ = ds.StudyDate, ds.StudyTime
    assert study["started"] == f"{date[:4]}-{date[4:6]}-{date[6:8]}T{time_[:2]}:{time_[2:4]}:{time_[4:6]}Z"
    series = study["series"][0]
    assert series["uid"] == ds.SeriesInstanceUID
    assert series["modality"]["code"] == ds.Modality
    instance = series["instance"][0]
    assert instance["uid"] == ds.SOPInstanceUID
    assert instance["sopClass"]["code"] == f"urn:oid:{ds.SOPClassUID}"
    assert study["endpoint"][0]["reference"] == stored_path
    assert os.path.isabs(stored_path) and Path(stored_path).exists()


def test_spec_transformer_verbatim_turns_ct_small_into_its_imaging_study(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    channel = _channel(tmp_path, port, transformer="transformer.ts")
    (channel.parent / "transformer.ts").write_text(spec_transformer_source(), encoding="utf-8")
    rt = start_runtime(channel)
    assert storescu(port, [CT]).returncode == 0
    run = _current_run(rt, CT_SOP)
    assert run["status"] == "ok", (run["error"], run["stack"])
    assert run["output_content_type"] == "application/fhir+json"
    stored = rt.index.query("SELECT storage_path FROM instances WHERE sop_uid = ?", (CT_SOP,))[0][0]
    _assert_imaging_study(json.loads(run["output_body"]), stored)
    # R4 has no ImagingStudy.series.instance.numberOfFrames: said as a warning, still delivered.
    warnings = json.loads(run["warnings_json"])
    assert any("numberOfFrames" in w for w in warnings), warnings
    message = json.loads(run["input_json"])
    assert message["transport"] == "dicom" and message["contentType"] == "dicom"
    assert message["dicom"] == {"callingAE": "CT_SCANNER_1", "calledAE": "INTU_SCP"}
    body = json.loads(message["body"])
    assert list(body)[:15] == ["studyInstanceUid", "seriesInstanceUid", "sopInstanceUid", "sopClassUid",
                               "modality", "studyDate", "studyTime", "studyDescription", "patientId",
                               "patientName", "accessionNumber", "referringPhysician", "bodyPartExamined",
                               "numberOfFrames", "storagePath"]
    assert body["numberOfFrames"] == 1 and body["accessionNumber"] == ""


def test_python_transformer_gives_the_same_imaging_study(start_runtime, tmp_path: Path) -> None:
    p1, p2 = free_port(), free_port()
    ts_channel = _channel(tmp_path, p1, transformer="transformer.ts", name="ts")
    (ts_channel.parent / "transformer.ts").write_text(spec_transformer_source(), encoding="utf-8")
    py_channel = _channel(tmp_path, p2, transformer="transformer.py", runtime="python", name="py")
    shutil.copy(REPO / "tests" / "fixtures" / "python_transformer" / "transformer.py", py_channel.parent)
    py_text = py_channel.read_text().replace("id: test-channel", "id: py-channel")
    py_channel.write_text(py_text)
    rt_ts = start_runtime(ts_channel, data_dir=tmp_path / "d1")
    rt_py = start_runtime(py_channel, data_dir=tmp_path / "d2")
    assert storescu(p1, [CT]).returncode == 0
    assert storescu(p2, [CT]).returncode == 0
    ts_out = json.loads(_current_run(rt_ts, CT_SOP)["output_body"])
    py_run = _current_run(rt_py, CT_SOP)
    assert py_run["status"] == "ok", py_run["error"]
    py_out = json.loads(py_run["output_body"])
    # Same mapping; only the stored path differs (two data dirs).
    ts_out["endpoint"] = py_out["endpoint"] = None
    assert ts_out == py_out


def test_intu_style_named_exports_and_validator(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    channel = _channel(tmp_path, port, transformer="transformer.ts", validator="validator.ts")
    (channel.parent / "validator.ts").write_text(textwrap.dedent("""
        import type { Message } from "@intu/sdk";
        export function validate(msg: Message): void {
          const body = JSON.parse(msg.body as string);
          if (!body.sopInstanceUid) throw new Error("no SOP Instance UID");
        }
    """))
    (channel.parent / "transformer.ts").write_text(textwrap.dedent("""
        export function transform(msg: any, ctx: any) {
          const body = JSON.parse(msg.body);
          console.log("transforming", body.sopInstanceUid);
          return { ...msg, body: JSON.stringify({ sop: body.sopInstanceUid, stage: ctx.stage,
                   channel: ctx.channelId, messageId: ctx.messageId }), contentType: "application/json" };
        }
    """))
    rt = start_runtime(channel)
    assert storescu(port, [CT]).returncode == 0
    run = _current_run(rt, CT_SOP)
    assert run["status"] == "ok", (run["error"], run["stack"])
    out = json.loads(run["output_body"])
    assert out == {"sop": CT_SOP, "stage": "transform", "channel": "test-channel", "messageId": run["message_id"]}
    assert json.loads(run["validator_json"])["valid"] is True
    assert any("transforming" in line for line in json.loads(run["logs_json"]))


def test_validator_that_throws_marks_invalid_and_skips_the_transformer(start_runtime, tmp_path: Path) -> None:
    port = free_port()
    channel = _channel(tmp_path, port, transformer="transformer.ts", validator="validator.ts")
    (channel.parent / "validator.ts").write_text(
        'export function validate(msg: any) { throw new Error("modality CT is not accepted here"); }\n')
    (channel.parent / "transformer.ts").write_text(
        'export function transform(msg: any) { console.log("TRANSFORMER RAN"); return msg; }\n')
    rt = start_runtime(channel)
    assert storescu(port, [CT]).returncode == 0  # the image is received whatever the validator says
    run = _current_run(rt, CT_SOP)
    assert run["status"] == "invalid"
    assert "modality CT is not accepted here" in run["error"]
    assert not any("TRANSFORMER RAN" in line for line in json.loads(run["logs_json"]))
    stored = rt.index.query("SELECT storage_path, pipeline_status FROM instances")[0]
    assert Path(stored["storage_path"]).exists() and stored["pipeline_status"] == "invalid"


@pytest.mark.parametrize("script,expect", [
    ('export default function transform(msg: any) { throw new Error("bad mapping"); }', "bad mapping"),
    ("export default function transform(msg: any) { while (true) {} }", "timed out"),
    ("export default function transform(msg: any) { process.exit(3); }", "exited with code 3"),
])
def test_failing_transformers_are_recorded_and_the_next_message_works(start_runtime, tmp_path: Path,
                                                                       script: str, expect: str) -> None:
    port = free_port()
    channel = _channel(tmp_path, port, transformer="transformer.ts", timeout_ms=1000)
    entry = channel.parent / "transformer.ts"
    entry.write_text(script + "\n")
    rt = start_runtime(channel)
    assert storescu(port, [CT]).returncode == 0
    run = _current_run(rt, CT_SOP)
    assert run["status"] == "error"
    assert expect in run["error"]
    if "bad mapping" in expect:
        assert "transformer.ts:1" in (run["stack"] or "")
    json.loads(run["input_json"])  # the input it got is kept for the user
    # Fix the script: the same instance reprocesses fine on a replaced worker.
    entry.write_text('export default function transform(msg: any) { return { success: true, body: msg.body, '
                     'contentType: "application/json" }; }\n')
    time.sleep(0.05)
    rt.pipeline.reprocess([int(run["instance_id"])])
    wait_for(lambda: _current_run(rt, CT_SOP)["status"] == "ok", timeout=30)
    assert len(_runs(rt, CT_SOP)) == 2


def test_reprocess_command_after_editing_the_transformer_records_a_second_run(tmp_path: Path) -> None:
    port = free_port()
    channel = _channel(tmp_path, port, transformer="transformer.ts")
    entry = channel.parent / "transformer.ts"
    entry.write_text('export default function transform(msg: any) { return { success: true, '
                     'body: JSON.stringify({ version: 1 }), contentType: "application/json" }; }\n')
    data = tmp_path / "data"
    program = [sys.executable, "-m", "intu_desktop"]
    proc = subprocess.Popen([*program, "--headless", "--channel", str(channel), "--data-dir", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, timeout=30)
        assert storescu(port, [CT]).returncode == 0
        time.sleep(3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    entry.write_text('export default function transform(msg: any) { return { success: true, '
                     'body: JSON.stringify({ version: 2 }), contentType: "application/json" }; }\n')
    result = subprocess.run([*program, "reprocess", "--data-dir", str(data), "--channel", str(channel),
                             "--sop", CT_SOP], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    from intu_desktop.index.db import Index

    index = Index(data / "index.sqlite3")
    try:
        runs = index.query("SELECT output_body, is_current FROM pipeline_runs ORDER BY id")
    finally:
        index.close()
    assert [json.loads(r["output_body"])["version"] for r in runs] == [1, 2]
    assert [r["is_current"] for r in runs] == [0, 1]


def test_without_node_images_are_still_stored_and_the_run_says_why(tmp_path: Path) -> None:
    port = free_port()
    channel = _channel(tmp_path, port, transformer="transformer.ts")
    (channel.parent / "transformer.ts").write_text(spec_transformer_source(), encoding="utf-8")
    data = tmp_path / "data"
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    env = {**os.environ, "PATH": str(empty_bin)}
    proc = subprocess.Popen([sys.executable, "-m", "intu_desktop", "--headless", "--channel", str(channel),
                             "--data-dir", str(data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        wait_port(port, timeout=30)
        assert storescu(port, [CT]).returncode == 0
        time.sleep(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "Node.js 18 or newer was not found: install it, or use runtime: python" in out
    assert list((data / "store").rglob("*.dcm"))


def test_scripts_are_loaded_in_every_worker_at_start_not_by_the_first_study(start_runtime, tmp_path: Path,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    marks = tmp_path / "loads.txt"
    channel = _channel(tmp_path, port, transformer="transformer.ts")
    (channel.parent / "transformer.ts").write_text(
        'import fs from "node:fs";\n'
        f"fs.appendFileSync({json.dumps(str(marks))}, 'loaded\\n');\n"
        + spec_transformer_source(), encoding="utf-8")
    with caplog.at_level("INFO", logger="intu_desktop.pipeline.runner"):
        rt = start_runtime(channel)
        assert rt.pipeline.wait_warm(60)
    assert marks.read_text().splitlines() == ["loaded", "loaded"]  # both Node workers, before any message
    assert any("pipeline ready: 1 script(s) loaded" in r.getMessage() for r in caplog.records)
    assert storescu(port, [CT]).returncode == 0
    assert _current_run(rt, CT_SOP)["status"] == "ok"
    assert marks.read_text().splitlines() == ["loaded", "loaded"]


def test_a_script_that_fails_to_load_at_start_is_logged_and_its_runs_say_why(start_runtime, tmp_path: Path,
                                                                              caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    channel = _channel(tmp_path, port, transformer="transformer.ts")
    (channel.parent / "transformer.ts").write_text("export default function (msg) { return ;;; }}\n",
                                                   encoding="utf-8")
    with caplog.at_level("INFO", logger="intu_desktop.pipeline.runner"):
        rt = start_runtime(channel)
        assert rt.pipeline.wait_warm(60)
    assert any("did not load at start" in r.getMessage() for r in caplog.records)
    assert storescu(port, [CT]).returncode == 0  # the image is received all the same
    run = _current_run(rt, CT_SOP)
    assert run["status"] == "error" and run["error"]
