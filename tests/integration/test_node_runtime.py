"""The Node.js script runtime against real node processes (and the Python runtime beside it)."""

from __future__ import annotations

import json
import shutil
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

from intu_desktop.pipeline.contracts import (
    TRANSFORM_FUNCTION,
    VALIDATE_FUNCTION,
    interpret_transform,
    interpret_validate,
)
from intu_desktop.pipeline.fhir_check import check_fhir
from intu_desktop.pipeline.runtimes import (
    CallResult,
    NodeRuntime,
    PythonRuntime,
    RuntimeUnavailable,
)

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")

SPEC = Path(__file__).resolve().parents[1] / "fixtures" / "reference" / "dicom-source-spec.txt"
REPO = Path(__file__).resolve().parents[2]
PYTHON_TRANSFORMER = REPO / "tests" / "fixtures" / "python_transformer" / "transformer.py"
TIMEOUT_S = 20.0

METADATA = {
    "studyInstanceUid": "1.2.826.0.1.3680043.8.498.1",
    "seriesInstanceUid": "1.2.826.0.1.3680043.8.498.1.2",
    "sopInstanceUid": "1.2.826.0.1.3680043.8.498.1.2.3",
    "sopClassUid": "1.2.840.10008.5.1.4.1.1.2",
    "modality": "CT",
    "studyDate": "20240315",
    "studyTime": "142530",
    "studyDescription": "CT CHEST",
    "patientId": "PID-0001",
    "patientName": "Doe^Jane",
    "accessionNumber": "ACC42",
    "referringPhysician": "House^Gregory",
    "bodyPartExamined": "CHEST",
    "numberOfFrames": 1,
    "storagePath": "/data/store/1.2.826.0.1.3680043.8.498.1/1.2.3/1.2.3.dcm",
}

EXPECTED_STUDY = {
    "resourceType": "ImagingStudy",
    "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.1"}],
    "status": "available",
    "subject": {
        "identifier": {"system": "urn:oid:2.16.840.1.113883.19.5", "value": "PID-0001"},
        "display": "Doe^Jane",
    },
    "started": "2024-03-15T14:25:30Z",
    "description": "CT CHEST",
    "referrer": {"display": "House^Gregory"},
    "series": [
        {
            "uid": "1.2.826.0.1.3680043.8.498.1.2",
            "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "CT"},
            "bodySite": {"system": "http://snomed.info/sct", "display": "CHEST"},
            "instance": [
                {
                    "uid": "1.2.826.0.1.3680043.8.498.1.2.3",
                    "sopClass": {
                        "system": "urn:ietf:rfc:3986",
                        "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2",
                    },
                    "numberOfFrames": 1,
                }
            ],
        }
    ],
    "endpoint": [{"reference": METADATA["storagePath"]}],
}


def make_message(**overrides: Any) -> dict[str, Any]:
    """A message in the shape of DESIGN §3."""
    return {
        "body": json.dumps({**METADATA, **overrides}),
        "transport": "dicom",
        "contentType": "dicom",
        "dicom": {"callingAE": "CT_SCANNER_1", "calledAE": "INTU_SCP"},
        "metadata": {
            "remoteAddress": "127.0.0.1",
            "channelId": "dicom-radiology-ingest",
            "receivedAt": "2024-03-15T14:26:00Z",
            "transferSyntax": "1.2.840.10008.1.2.1",
        },
    }


def make_ctx(stage: str = "transform") -> dict[str, Any]:
    return {
        "channelId": "dicom-radiology-ingest",
        "messageId": "m-1",
        "correlationId": "c-1",
        "timestamp": "2024-03-15T14:26:00Z",
        "stage": stage,
    }


def spec_transformer_source() -> str:
    """The spec's transformer.ts, verbatim: from `import { Message` to the end of
    formatDicomDateTime (found by brace matching)."""
    lines = SPEC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("import { Message"))
    fn = next(i for i, line in enumerate(lines) if line.startswith("function formatDicomDateTime"))
    depth, end = 0, fn
    for end in range(fn, len(lines)):
        depth += lines[end].count("{") - lines[end].count("}")
        if depth == 0 and end > fn:
            break
    return "\n".join(lines[start : end + 1]) + "\n"


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeRuntime]:
    data_dir = tmp_path_factory.mktemp("data")
    runtime = NodeRuntime(pool_size=2, cache_dir=data_dir / "script-cache")
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def python_rt() -> Iterator[PythonRuntime]:
    runtime = PythonRuntime(pool_size=2)
    yield runtime
    runtime.close()


def ok_value(result: CallResult) -> Any:
    assert result.ok, (result.error, result.stack, result.logs)
    return result.value


# -- the spec's contract -------------------------------------------------------------------
def test_spec_transformer_verbatim_gives_imaging_study(node: NodeRuntime, tmp_path: Path) -> None:
    source = spec_transformer_source()
    assert 'import { Message, TransformResult } from "@intu/sdk";' in source  # type-only import
    entry = write(tmp_path / "transformer.ts", source)

    result = node.call(entry, TRANSFORM_FUNCTION, [make_message(), make_ctx()], TIMEOUT_S)

    assert result.function == "default"
    outcome = interpret_transform(ok_value(result), make_message())
    assert outcome.ok and outcome.content_type == "application/fhir+json"
    assert outcome.body is not None
    assert json.loads(outcome.body) == EXPECTED_STUDY
    assert check_fhir(outcome.body) == [
        "ImagingStudy.series[0].instance[0].numberOfFrames: not an element of R4 ImagingStudy"
    ]


def test_spec_transformer_reports_unparsable_body(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(tmp_path / "transformer.ts", spec_transformer_source())
    msg = {**make_message(), "body": "not json"}
    outcome = interpret_transform(ok_value(node.call(entry, "default", [msg], TIMEOUT_S)), msg)
    assert not outcome.ok and outcome.error == "Failed to parse DICOM metadata"


# -- the intu contract ---------------------------------------------------------------------
def test_intu_transform_gets_ctx_and_returns_message(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "transformer.ts",
        """
        import type { Message } from "@intu/sdk";
        export function transform(msg: Message, ctx: { stage: string; channelId: string }) {
          const d = JSON.parse(msg.body as string);
          const body = { study: d.studyInstanceUid, stage: ctx.stage, channel: ctx.channelId };
          return { ...msg, body };
        }
    """,
    )
    result = node.call(entry, TRANSFORM_FUNCTION, [make_message(), make_ctx()], TIMEOUT_S)
    assert result.function == "transform"
    outcome = interpret_transform(ok_value(result), make_message())
    assert outcome.ok and outcome.content_type == "application/json"
    assert json.loads(outcome.body or "") == {
        "study": METADATA["studyInstanceUid"],
        "stage": "transform",
        "channel": "dicom-radiology-ingest",
    }
    assert outcome.message is not None and outcome.message["transport"] == "dicom"


def test_intu_transform_returning_undefined_filters(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "transformer.ts", "export function transform(msg: unknown) { return; }\n"
    )
    outcome = interpret_transform(
        ok_value(node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)), make_message()
    )
    assert outcome.ok and outcome.filtered and outcome.body is None


def test_validator_passes_and_throws(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "validator.ts",
        """
        export function validate(msg: { body: string }): void {
          const d = JSON.parse(msg.body);
          if (d.modality !== "CT") throw new Error(`unsupported modality ${d.modality}`);
        }
    """,
    )
    good = node.call(entry, VALIDATE_FUNCTION, [make_message(), make_ctx("validate")], TIMEOUT_S)
    assert good.ok and good.function == "validate"
    assert interpret_validate(good.value, good.error).valid

    bad = node.call(entry, VALIDATE_FUNCTION, [make_message(modality="MR")], TIMEOUT_S)
    assert not bad.ok and bad.error == "unsupported modality MR"
    outcome = interpret_validate(bad.value, bad.error)
    assert not outcome.valid and outcome.errors == ["unsupported modality MR"]


def test_validator_default_export_returning_false(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(tmp_path / "validator.ts", "export default (msg: unknown) => false;\n")
    result = node.call(entry, VALIDATE_FUNCTION, [make_message()], TIMEOUT_S)
    assert result.function == "default"
    assert interpret_validate(ok_value(result), result.error).errors == ["validator returned false"]


def test_missing_export_is_named(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(tmp_path / "transformer.ts", "export const x = 1;\n")
    result = node.call(entry, "transform", [make_message()], TIMEOUT_S)
    assert not result.ok and result.error == "function transform not exported by transformer.ts"


# -- failures ------------------------------------------------------------------------------
def test_throwing_transformer_stack_points_at_ts_line(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "transformer.ts",
        """
        interface Meta { modality: string }
        export function transform(msg: { body: string }) {
          const d: Meta = JSON.parse(msg.body);
          throw new Error(`cannot map ${d.modality}`);
        }
    """,
    )
    result = node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)
    assert not result.ok and not result.crashed and not result.timed_out
    assert result.error == "cannot map CT"
    assert result.stack is not None and f"{entry}:4:" in result.stack
    assert "worker.mjs" not in result.stack and "intu_v=" not in result.stack


def test_ts_syntax_error_is_reported(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "transformer.ts", "export function transform(msg: any) {\n  return (;\n}\n"
    )
    result = node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)
    assert not result.ok and result.error is not None and "transformer.ts(2," in result.error


def test_infinite_loop_times_out_and_next_call_works(node: NodeRuntime, tmp_path: Path) -> None:
    loop = write(
        tmp_path / "loop.ts",
        """
        export function transform(msg: unknown) {
          console.log("entering loop");
          for (;;) {}
        }
    """,
    )
    fine = write(
        tmp_path / "fine.ts", "export function transform(msg: unknown) { return { body: 'ok' }; }\n"
    )
    # Loading and transpiling do not count: the 1 s is the function's own time.
    result = node.call(loop, TRANSFORM_FUNCTION, [make_message()], 1.0)
    assert result.timed_out and not result.ok and not result.crashed
    assert result.error == "timed out after 1.0 s"
    assert result.logs == ["[log] entering loop"]
    for _ in range(3):  # every slot, including the replaced one, answers
        assert ok_value(node.call(fine, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
            "body": "ok"
        }


def test_process_exit_crashes_worker_and_next_call_works(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "exit.ts",
        """
        export function transform(msg: unknown) {
          // More than a pipe buffer of output right before exiting: none of it may be lost.
          for (let i = 0; i < 50; i++) console.log(`line ${i} ` + "x".repeat(2000));
          console.log("leaving");
          process.exit(3);
        }
    """,
    )
    fine = write(tmp_path / "fine.mjs", "export function transform() { return { body: 'ok' }; }\n")
    result = node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)
    assert result.crashed and not result.ok and not result.timed_out
    assert result.error == "worker exited with code 3 (process.exit)"
    assert len(result.logs) == 51 and result.logs[-1] == "[log] leaving"
    for _ in range(3):
        assert ok_value(node.call(fine, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
            "body": "ok"
        }


def test_unhandled_rejection_does_not_kill_the_worker(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "transformer.ts",
        """
        export async function transform(msg: unknown) {
          Promise.reject(new Error("forgotten promise"));
          await new Promise((resolve) => setTimeout(resolve, 20));
          return { body: "done" };
        }
    """,
    )
    result = node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)
    assert ok_value(result) == {"body": "done"}
    assert any(
        "unhandled promise rejection" in line and "forgotten promise" in line
        for line in result.logs
    )


def test_async_function_is_awaited(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "transformer.ts",
        """
        export default async function transform(msg: unknown) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return { success: true, body: "later", contentType: "text/plain" };
        }
    """,
    )
    outcome = interpret_transform(
        ok_value(node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)), make_message()
    )
    assert outcome.ok and outcome.body == "later" and outcome.content_type == "text/plain"


# -- logs, reload, module kinds ------------------------------------------------------------
def test_console_output_is_captured_per_call(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "transformer.ts",
        """
        export function transform(msg: { body: string }, ctx: { messageId: string }) {
          console.log("start", ctx.messageId);
          console.info("info", { n: 1 });
          console.warn("warn");
          console.error("error");
          process.stdout.write("raw write\\n");
          // A late log must not land in the next call's logs.
          setTimeout(() => console.log("late", ctx.messageId), 0);
          return { body: ctx.messageId };
        }
    """,
    )
    first = node.call(
        entry, TRANSFORM_FUNCTION, [make_message(), {**make_ctx(), "messageId": "A"}], TIMEOUT_S
    )
    assert first.logs == [
        "[log] start A",
        "[info] info { n: 1 }",
        "[warn] warn",
        "[error] error",
        "[stdout] raw write",
    ]
    second = node.call(
        entry, TRANSFORM_FUNCTION, [make_message(), {**make_ctx(), "messageId": "B"}], TIMEOUT_S
    )
    assert ok_value(second) == {"body": "B"}
    assert all("A" not in line for line in second.logs)
    assert second.logs[0] == "[log] start B"


def test_hot_reload_sees_rewritten_file(node: NodeRuntime, tmp_path: Path) -> None:
    entry = tmp_path / "transformer.ts"
    entry.write_text("export function transform(msg: unknown) { return { body: 'v1' }; }\n")
    assert ok_value(node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
        "body": "v1"
    }
    # Same size on purpose: only the content hash tells the versions apart if mtime is coarse.
    entry.write_text("export function transform(msg: unknown) { return { body: 'v2' }; }\n")
    for _ in range(2):  # both workers
        assert ok_value(node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
            "body": "v2"
        }


def test_mjs_and_js_entrypoints_run_as_esm(node: NodeRuntime, tmp_path: Path) -> None:
    mjs = write(
        tmp_path / "t.mjs",
        "export default function (msg) { return { success: true, body: 'mjs' }; }\n",
    )
    js = write(tmp_path / "t.js", "export function transform(msg) { return { body: 'js' }; }\n")
    assert (
        ok_value(node.call(mjs, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S))["body"] == "mjs"
    )
    assert ok_value(node.call(js, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
        "body": "js"
    }


def test_relative_ts_import_resolves(node: NodeRuntime, tmp_path: Path) -> None:
    write(tmp_path / "lib.ts", "export const label = (s: string): string => `[${s}]`;\n")
    entry = write(
        tmp_path / "transformer.ts",
        """
        import { label } from "./lib";
        export function transform(msg: unknown) { return { body: label("x") }; }
    """,
    )
    assert ok_value(node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
        "body": "[x]"
    }


def test_project_transpiler_is_preferred(node: NodeRuntime, tmp_path: Path) -> None:
    # A fake "typescript" in the channel project's node_modules proves the lookup order.
    fake = tmp_path / "node_modules" / "typescript"
    fake.mkdir(parents=True)
    (fake / "package.json").write_text(
        '{"name": "typescript", "version": "0.0.0-fake", "main": "index.js"}'
    )
    (fake / "index.js").write_text(
        textwrap.dedent("""
        module.exports = {
          ModuleKind: { ESNext: 99 }, ScriptTarget: { ES2022: 9 }, DiagnosticCategory: { Error: 1 },
          transpileModule: () => ({
            outputText: "export function transform() { return { body: 'fake' }; }",
            diagnostics: [],
          }),
        };
    """)
    )
    channel = tmp_path / "channel"
    channel.mkdir()
    entry = write(
        channel / "transformer.ts",
        "export function transform(msg: unknown) { return { body: 'real' }; }\n",
    )
    assert ok_value(node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
        "body": "fake"
    }


def test_project_esbuild_is_used(node: NodeRuntime, tmp_path: Path) -> None:
    fake = tmp_path / "node_modules" / "esbuild"
    fake.mkdir(parents=True)
    (fake / "package.json").write_text(
        '{"name": "esbuild", "version": "0.0.0-fake", "main": "index.js"}'
    )
    (fake / "index.js").write_text(
        "module.exports = { transformSync: (src, opts) => ({ code: "
        "`export function transform() { "
        "return { body: ${JSON.stringify(opts.loader + ':' + opts.format)} }; }` }) };\n"
    )
    entry = write(
        tmp_path / "transformer.ts",
        "export function transform(msg: unknown) { return { body: 'real' }; }\n",
    )
    assert ok_value(node.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
        "body": "ts:esm"
    }


def test_endless_top_level_code_hits_the_load_limit(tmp_path: Path) -> None:
    with NodeRuntime(pool_size=1, cache_dir=tmp_path / "cache", load_timeout_s=1.0) as runtime:
        entry = write(tmp_path / "stuck.mjs", "for (;;) {}\nexport function transform() {}\n")
        result = runtime.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)
        assert result.timed_out and result.error == "timed out after 1.0 s loading stuck.mjs"
        fine = write(
            tmp_path / "fine.mjs", "export function transform() { return { body: 'ok' }; }\n"
        )
        assert ok_value(runtime.call(fine, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)) == {
            "body": "ok"
        }


def test_concurrent_calls_from_threads(node: NodeRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "transformer.ts",
        """
        export function transform(msg: { body: string }, ctx: { messageId: string }) {
          console.log(ctx.messageId);
          return { body: ctx.messageId };
        }
    """,
    )
    results: dict[str, CallResult] = {}

    def worker(i: int) -> None:
        for j in range(10):
            key = f"{i}-{j}"
            results[key] = node.call(
                entry, TRANSFORM_FUNCTION, [make_message(), {"messageId": key}], TIMEOUT_S
            )

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 40
    for key, result in results.items():
        assert ok_value(result) == {"body": key} and result.logs == [f"[log] {key}"]


# -- lifecycle -----------------------------------------------------------------------------
def test_close_leaves_no_processes(tmp_path: Path) -> None:
    runtime = NodeRuntime(pool_size=2, cache_dir=tmp_path / "cache")
    entry = write(tmp_path / "t.mjs", "export function transform() { return { body: 'ok' }; }\n")
    loop = write(tmp_path / "loop.mjs", "export function transform() { for (;;) {} }\n")
    errs: list[CallResult] = []
    t = threading.Thread(
        target=lambda: errs.append(runtime.call(entry, TRANSFORM_FUNCTION, [{}], TIMEOUT_S))
    )
    t.start()
    runtime.call(loop, TRANSFORM_FUNCTION, [{}], 0.5)
    t.join()
    pids = runtime.worker_pids()
    assert len(pids) == 2
    runtime.close()
    runtime.close()  # idempotent
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    assert not set(pids) & children
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    assert (
        runtime.call(entry, TRANSFORM_FUNCTION, [{}], TIMEOUT_S).error
        == "the script runtime is closed"
    )


def test_missing_node_is_reported(tmp_path: Path) -> None:
    runtime = NodeRuntime(pool_size=1, cache_dir=tmp_path, node_path=str(tmp_path / "no-node"))
    ok, reason = runtime.available()
    assert not ok
    assert reason == "Node.js 18 or newer was not found: install it, or use runtime: python"
    with pytest.raises(RuntimeUnavailable):
        runtime.call(tmp_path / "t.ts", TRANSFORM_FUNCTION, [], 1.0)
    runtime.close()


# -- the Python runtime gives the same study -----------------------------------------------
def test_python_transformer_matches_typescript(
    node: NodeRuntime, python_rt: PythonRuntime, tmp_path: Path
) -> None:
    entry = write(tmp_path / "transformer.ts", spec_transformer_source())
    for overrides in (
        {},
        {"referringPhysician": "", "bodyPartExamined": "", "numberOfFrames": 0},
        {"studyTime": "1425", "patientName": "Müller^Jörg"},
    ):
        msg = make_message(**overrides)
        ts = ok_value(node.call(entry, TRANSFORM_FUNCTION, [msg, make_ctx()], TIMEOUT_S))
        py = ok_value(
            python_rt.call(PYTHON_TRANSFORMER, TRANSFORM_FUNCTION, [msg, make_ctx()], TIMEOUT_S)
        )
        assert py == ts


def test_transpiler_installed_into_data_dir_when_none_is_shipped(tmp_path: Path) -> None:
    # The app's package.json + lock without node_modules: the runtime runs `npm ci` itself.
    shipped = tmp_path / "app-node"
    shipped.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(REPO / "intu_desktop" / "pipeline" / "node" / name, shipped / name)
    data = tmp_path / "data"
    runtime = NodeRuntime(pool_size=1, cache_dir=data / "script-cache", shipped_dir=shipped)
    try:
        entry = write(
            tmp_path / "transformer.ts",
            "export function transform(m: unknown) { return { body: 'ts' }; }\n",
        )
        result = runtime.call(entry, TRANSFORM_FUNCTION, [make_message()], TIMEOUT_S)
        assert ok_value(result) == {"body": "ts"}
        assert (data / "node-toolchain" / "node_modules" / "typescript" / "package.json").is_file()
    finally:
        runtime.close()


@pytest.mark.parametrize("suffix", [".ts", ".py"])
def test_warm_loads_the_script_in_every_worker_once_without_calling_it(tmp_path: Path, suffix: str) -> None:
    """The pipeline warms its scripts at start: every worker imports (and transpiles) the
    module, nothing is called, and the first real call does not load it again."""
    marks = tmp_path / "loads.txt"
    calls = tmp_path / "calls.txt"
    if suffix == ".ts":
        source = f"""
            import fs from "node:fs";
            fs.appendFileSync({json.dumps(str(marks))}, "loaded\\n");
            export default function transform(msg: {{ body: string }}) {{
              fs.appendFileSync({json.dumps(str(calls))}, "called\\n");
              return {{ success: true, body: msg.body, contentType: "text/plain" }};
            }}
        """
        runtime: Any = NodeRuntime(pool_size=2, cache_dir=tmp_path / "cache")
    else:
        source = f"""
            from pathlib import Path
            with open({str(marks)!r}, "a") as fh:
                fh.write("loaded\\n")
            def transform(msg):
                with open({str(calls)!r}, "a") as fh:
                    fh.write("called\\n")
                return {{"success": True, "body": msg["body"], "contentType": "text/plain"}}
        """
        runtime = PythonRuntime(pool_size=2)
    script = tmp_path / f"transformer{suffix}"
    script.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    with runtime:
        results = runtime.warm(script)
        assert [r.ok for r in results] == [True, True], [(r.error, r.stack) for r in results]
        assert len(runtime.worker_pids()) == 2
        assert marks.read_text().splitlines() == ["loaded", "loaded"]
        assert not calls.exists()
        result = runtime.call(script, TRANSFORM_FUNCTION, [{"body": "x"}], TIMEOUT_S)
        assert result.ok and result.value["body"] == "x"
        assert marks.read_text().splitlines() == ["loaded", "loaded"]  # already loaded
        assert calls.read_text().splitlines() == ["called"]


def test_warm_reports_a_script_that_does_not_load(node: NodeRuntime, tmp_path: Path) -> None:
    script = tmp_path / "broken.ts"
    script.write_text("export default function transform(msg) { return ;;; }}\n", encoding="utf-8")
    results = node.warm(script)
    assert results and not any(r.ok for r in results)
    assert all(r.error for r in results)
    missing = node.warm(tmp_path / "missing.ts")
    assert len(missing) == 1 and "script not found" in (missing[0].error or "")


def test_the_transpile_cache_keeps_what_is_used_and_prunes_the_rest(tmp_path: Path) -> None:
    import os
    import time

    from intu_desktop.pipeline.runtimes.node_runtime import CACHE_MAX_AGE_S, prune_transpile_cache

    day = 24 * 3600
    cache = tmp_path / "cache"
    entry_ts = write(tmp_path / "transformer.ts", """
        export function transform(msg: any) { return { ...msg, body: "{}" }; }
    """)

    def run_once() -> None:
        with NodeRuntime(pool_size=1, cache_dir=cache) as runtime:
            ok_value(runtime.call(entry_ts, TRANSFORM_FUNCTION, [make_message(), make_ctx()], TIMEOUT_S))

    run_once()
    (entry,) = cache.glob("*.mjs")
    now = time.time()
    os.utime(entry, (now - 20 * day, now - 20 * day))  # last used 20 days ago
    for name, age in [("old.mjs", 40 * day), ("fresh.mjs", 0), ("old.mjs.1.ab.tmp", 7200), ("new.mjs.2.cd.tmp", 0)]:
        (cache / name).write_text("//", encoding="utf-8")
        os.utime(cache / name, (now - age, now - age))

    run_once()  # starting prunes; using the script marks its entry as used
    assert sorted(p.name for p in cache.iterdir()) == sorted([entry.name, "fresh.mjs", "new.mjs.2.cd.tmp"])
    assert now - entry.stat().st_mtime < day
    # 15 days on, the entry used today stays although it was first written 20 days before.
    assert prune_transpile_cache(cache, now=now + 15 * day) == 1  # the temporary file
    assert sorted(p.name for p in cache.glob("*.mjs")) == sorted([entry.name, "fresh.mjs"])
    assert prune_transpile_cache(cache, now=now + CACHE_MAX_AGE_S + day) == 2
