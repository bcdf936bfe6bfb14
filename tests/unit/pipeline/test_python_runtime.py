"""The Python script runtime: real worker processes, the same contract as the node runtime."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

from intu_desktop.pipeline.contracts import (
    TRANSFORM_FUNCTION,
    VALIDATE_FUNCTION,
    interpret_transform,
)
from intu_desktop.pipeline.fhir_check import check_fhir
from intu_desktop.pipeline.runtimes import CallResult, PythonRuntime

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "python_transformer" / "transformer.py"
TIMEOUT_S = 20.0
MSG = {"body": json.dumps({"studyInstanceUid": "1.2.3", "modality": "CT"}), "contentType": "dicom"}
CTX = {
    "channelId": "c",
    "messageId": "m-1",
    "correlationId": "k",
    "timestamp": "t",
    "stage": "transform",
}


@pytest.fixture(scope="module")
def runtime() -> Iterator[PythonRuntime]:
    rt = PythonRuntime(pool_size=2)
    yield rt
    rt.close()


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def ok_value(result: CallResult) -> Any:
    assert result.ok, (result.error, result.stack, result.logs)
    return result.value


def test_ctx_is_passed_only_to_functions_that_take_it(
    runtime: PythonRuntime, tmp_path: Path
) -> None:
    one = write(
        tmp_path / "one.py", "def transform(msg):\n    return {'body': msg['contentType']}\n"
    )
    two = write(
        tmp_path / "two.py", "def transform(msg, ctx):\n    return {'body': ctx['stage']}\n"
    )
    assert ok_value(runtime.call(one, TRANSFORM_FUNCTION, [MSG, CTX], TIMEOUT_S)) == {
        "body": "dicom"
    }
    assert ok_value(runtime.call(two, TRANSFORM_FUNCTION, [MSG, CTX], TIMEOUT_S)) == {
        "body": "transform"
    }


def test_auto_modes_pick_the_function(runtime: PythonRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "both.py",
        """
        def validate(msg):
            return True
        def transform(msg):
            return {"body": "t"}
    """,
    )
    assert runtime.call(entry, VALIDATE_FUNCTION, [MSG], TIMEOUT_S).function == "validate"
    assert runtime.call(entry, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S).function == "transform"
    missing = runtime.call(entry, "default", [MSG], TIMEOUT_S)
    assert not missing.ok and missing.error == "function default not exported by both.py"


def test_print_is_captured_per_call(runtime: PythonRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "printer.py",
        """
        import sys
        def transform(msg, ctx):
            print("id", ctx["messageId"])
            print("no newline", end="")
            sys.stderr.write("to stderr\\n")
            return None
    """,
    )
    first = runtime.call(entry, TRANSFORM_FUNCTION, [MSG, {**CTX, "messageId": "A"}], TIMEOUT_S)
    second = runtime.call(entry, TRANSFORM_FUNCTION, [MSG, {**CTX, "messageId": "B"}], TIMEOUT_S)
    assert first.logs == ["id A", "no newline", "[stderr] to stderr"]
    assert second.logs == ["id B", "no newline", "[stderr] to stderr"]
    assert first.ok and first.value is None


def test_exception_has_message_and_user_stack(runtime: PythonRuntime, tmp_path: Path) -> None:
    entry = write(
        tmp_path / "thrower.py",
        """
        def validate(msg):
            raise ValueError("missing StudyInstanceUID")
    """,
    )
    result = runtime.call(entry, VALIDATE_FUNCTION, [MSG], TIMEOUT_S)
    assert not result.ok and not result.crashed
    assert result.error == "ValueError: missing StudyInstanceUID"
    assert result.stack is not None and f'File "{entry}", line 2' in result.stack
    assert "python_worker" not in result.stack


def test_syntax_error_is_reported(runtime: PythonRuntime, tmp_path: Path) -> None:
    entry = write(tmp_path / "broken.py", "def transform(msg:\n")
    result = runtime.call(entry, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S)
    assert not result.ok and result.error is not None and result.error.startswith("SyntaxError: ")


def test_timeout_kills_worker_and_next_call_works(runtime: PythonRuntime, tmp_path: Path) -> None:
    loop = write(
        tmp_path / "loop.py",
        "def transform(msg):\n    print('looping')\n    while True:\n        pass\n",
    )
    fine = write(tmp_path / "fine.py", "def transform(msg):\n    return {'body': 'ok'}\n")
    result = runtime.call(loop, TRANSFORM_FUNCTION, [MSG], 1.0)
    assert result.timed_out and not result.ok and result.error == "timed out after 1.0 s"
    assert result.logs == ["looping"]
    for _ in range(3):
        assert ok_value(runtime.call(fine, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S)) == {"body": "ok"}


@pytest.mark.parametrize(
    "code, error",
    [
        ("import sys\n    sys.exit(3)", "worker exited with code 3 (sys.exit)"),
        ("import os\n    os._exit(4)", "worker exited with code 4"),
    ],
)
def test_exit_crashes_worker_and_next_call_works(
    runtime: PythonRuntime, tmp_path: Path, code: str, error: str
) -> None:
    entry = write(tmp_path / "exit.py", f"def transform(msg):\n    {code}\n")
    fine = write(tmp_path / "fine.py", "def transform(msg):\n    return {'body': 'ok'}\n")
    result = runtime.call(entry, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S)
    assert result.crashed and not result.ok and result.error == error
    assert ok_value(runtime.call(fine, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S)) == {"body": "ok"}


def test_hot_reload(runtime: PythonRuntime, tmp_path: Path) -> None:
    entry = tmp_path / "reload.py"
    entry.write_text("def transform(msg):\n    return {'body': 'v1'}\n")
    assert ok_value(runtime.call(entry, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S)) == {"body": "v1"}
    entry.write_text("def transform(msg):\n    return {'body': 'v2'}\n")
    # Same size and possibly the same mtime tick: force a visible change of mtime.
    stat = entry.stat()
    os.utime(entry, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    for _ in range(2):
        assert ok_value(runtime.call(entry, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S)) == {"body": "v2"}
    assert not (tmp_path / "__pycache__").exists()


def test_helper_module_and_async_function(runtime: PythonRuntime, tmp_path: Path) -> None:
    write(tmp_path / "helper_for_async.py", "def label(s):\n    return f'[{s}]'\n")
    entry = write(
        tmp_path / "async_tf.py",
        """
        import asyncio
        from helper_for_async import label
        async def transform(msg):
            await asyncio.sleep(0)
            return {"body": label("x")}
    """,
    )
    assert ok_value(runtime.call(entry, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S)) == {"body": "[x]"}


def test_unserialisable_result_is_an_error(runtime: PythonRuntime, tmp_path: Path) -> None:
    entry = write(tmp_path / "setter.py", "def transform(msg):\n    return {'body': {1, 2}}\n")
    result = runtime.call(entry, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S)
    assert not result.ok and result.error is not None and "not JSON-serialisable" in result.error


def test_fixture_transformer_gives_imaging_study(runtime: PythonRuntime) -> None:
    metadata = {
        "studyInstanceUid": "1.2.3",
        "seriesInstanceUid": "1.2.3.4",
        "sopInstanceUid": "1.2.3.4.5",
        "sopClassUid": "1.2.840.10008.5.1.4.1.1.2",
        "modality": "CT",
        "studyDate": "20240315",
        "studyTime": "142530",
        "studyDescription": "CT",
        "patientId": "P",
        "patientName": "A^B",
        "accessionNumber": "",
        "referringPhysician": "",
        "bodyPartExamined": "",
        "numberOfFrames": 1,
        "storagePath": "/s/1.dcm",
    }
    msg = {"body": json.dumps(metadata), "contentType": "dicom"}
    result = runtime.call(FIXTURE, TRANSFORM_FUNCTION, [msg, CTX], TIMEOUT_S)
    outcome = interpret_transform(ok_value(result), msg)
    assert outcome.ok and outcome.content_type == "application/fhir+json"
    study = json.loads(outcome.body or "")
    assert study["started"] == "2024-03-15T14:25:30Z" and "referrer" not in study
    assert check_fhir(outcome.body or "") == [
        "ImagingStudy.series[0].instance[0].numberOfFrames: not an element of R4 ImagingStudy"
    ]


def test_close_leaves_no_processes(tmp_path: Path) -> None:
    rt = PythonRuntime(pool_size=2)
    entry = write(tmp_path / "t.py", "def transform(msg):\n    return {'body': 'ok'}\n")
    import threading

    threads = [
        threading.Thread(target=rt.call, args=(entry, TRANSFORM_FUNCTION, [MSG], TIMEOUT_S))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pids = rt.worker_pids()
    assert pids
    rt.close()
    rt.close()
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    assert not set(pids) & children
