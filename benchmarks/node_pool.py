"""Messages per second through warm script worker pools (trivial transform).

    PYTHONPATH=. python benchmarks/node_pool.py [--messages N] [--spec]

Starts a runtime, warms every worker, then sends N messages from as many caller threads as
there are workers (the pipeline's shape) and prints one row per runtime and pool size.
``--spec`` runs the spec's ImagingStudy transformer instead of a one-line transform.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from intu_desktop.pipeline.runtimes import NodeRuntime, PythonRuntime

TRIVIAL_TS = (
    "export function transform(msg: { body: string }) { return { ...msg, body: msg.body }; }\n"
)
TRIVIAL_PY = "def transform(msg):\n    return {**msg, 'body': msg['body']}\n"
SPEC_TS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "reference" / "dicom-source-spec.txt"
SPEC_PY = (
    Path(__file__).resolve().parent.parent
    / "tests"
    / "fixtures"
    / "python_transformer"
    / "transformer.py"
)

MESSAGE = {
    "body": json.dumps(
        {
            "studyInstanceUid": "1.2.3",
            "seriesInstanceUid": "1.2.3.4",
            "sopInstanceUid": "1.2.3.4.5",
            "sopClassUid": "1.2.840.10008.5.1.4.1.1.2",
            "modality": "CT",
            "studyDate": "20240315",
            "studyTime": "142530",
            "studyDescription": "CT CHEST",
            "patientId": "P1",
            "patientName": "Doe^Jane",
            "accessionNumber": "A1",
            "referringPhysician": "",
            "bodyPartExamined": "CHEST",
            "numberOfFrames": 1,
            "storagePath": "/data/store/x.dcm",
        }
    ),
    "transport": "dicom",
    "contentType": "dicom",
    "dicom": {"callingAE": "SCU", "calledAE": "INTU_SCP"},
    "metadata": {"channelId": "bench"},
}
CTX = {
    "channelId": "bench",
    "messageId": "m",
    "correlationId": "c",
    "timestamp": "t",
    "stage": "transform",
}


def spec_ts_source() -> str:
    lines = SPEC_TS.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("import { Message"))
    return "\n".join(lines[start:]) + "\n"


def measure(runtime: Any, entry: Path, pool_size: int, messages: int) -> float:
    # Warm every worker (start + load + transpile) before timing.
    warm = [
        threading.Thread(target=runtime.call, args=(entry, "auto:transform", [MESSAGE, CTX], 30.0))
        for _ in range(pool_size)
    ]
    for t in warm:
        t.start()
    for t in warm:
        t.join()
    failures = 0
    lock = threading.Lock()

    def send(count: int) -> None:
        nonlocal failures
        for _ in range(count):
            if not runtime.call(entry, "auto:transform", [MESSAGE, CTX], 10.0).ok:
                with lock:
                    failures += 1

    threads = [
        threading.Thread(target=send, args=(messages // pool_size,)) for _ in range(pool_size)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{failures} calls failed")
    return (messages // pool_size) * pool_size / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument(
        "--spec", action="store_true", help="use the spec's ImagingStudy transformer"
    )
    options = parser.parse_args()
    print(f"{'runtime':<8} {'pool':>4} {'messages':>9} {'msg/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ts = folder / "transformer.ts"
        ts.write_text(spec_ts_source() if options.spec else TRIVIAL_TS, encoding="utf-8")
        py = SPEC_PY if options.spec else folder / "transformer.py"
        if not options.spec:
            py.write_text(TRIVIAL_PY, encoding="utf-8")
        for pool_size in (1, 2):
            with NodeRuntime(pool_size=pool_size, cache_dir=folder / "cache") as node:
                ok, reason = node.available()
                if not ok:
                    print(f"node: {reason}")
                    break
                rate = measure(node, ts, pool_size, options.messages)
                print(f"{'node':<8} {pool_size:>4} {options.messages:>9} {rate:>9.0f}")
        for pool_size in (1, 2):
            with PythonRuntime(pool_size=pool_size) as python:
                rate = measure(python, py, pool_size, options.messages)
                print(f"{'python':<8} {pool_size:>4} {options.messages:>9} {rate:>9.0f}")


if __name__ == "__main__":
    main()
