"""Receive throughput against DCMTK (issue 9): one command, one table.

    python benchmarks/receive.py [--quick] [--out benchmarks/out/] [--receivers ...] [--sets ...]
                                 [--work DIR] [--keep] [--py-spy]

In one run: generates the data sets (1,000 CT objects 64×64 16-bit ≈16 KB; 200 CT objects
512×512 16-bit ≈0.5 MB; one 1 GB multi-frame object; a copy of the small set per
concurrent sender), then starts each receiver in turn on a free port and sends with DCMTK
`storescu` in its default settings:

1. DCMTK `storescp -od DIR PORT`;
2. the same DCMTK pair with TCP_NODELAY=1 on both ends (the network-bound floor);
3. `intu-desktop --headless` with the spec's TypeScript transformer and a file destination;
4. the same with `tcp_tuning: false` (the receiver's TCP_QUICKACK/TCP_NODELAY off);
5. the full window offscreen (QT_QPA_PLATFORM=offscreen), pipeline on; its `ui-stall`
   log lines are counted.

Then 10 concurrent senders, each with its own UIDs, to the headless app and the window.
Every run gets a fresh receiver that has answered one C-ECHO before the clock starts.
The seconds are those of the storescu command; the ratios compare with DCMTK from the
same run. `--quick`: 100 small, 20 large, a 100 MB object. Prints the table and writes it
as Markdown (`receive.md`) and JSON (`receive.json`) to `--out`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from receive_peers import (
    RECEIVERS,
    ReceiverKind,
    ReceiverUnavailable,
    RunningReceiver,
    SendResult,
    send,
    send_concurrently,
)
from receive_report import (
    Row,
    add_ratios,
    evaluate_targets,
    main_receiver,
    markdown_report,
    merge_repeats,
    targets_text,
    text_table,
)

HERE = Path(__file__).resolve().parent
FULL = {"small": 1000, "large": 200, "big_mb": 1024, "senders": 10}
QUICK = {"small": 100, "large": 20, "big_mb": 100, "senders": 10}
SETS = ("small", "large", "big", "concurrent")
CONCURRENT_RECEIVERS = ("headless", "window")
# VRs whose length field is 4 bytes after 2 reserved ones (PS3.5 §7.1.2, Table 7.1-1).
_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


def dataset_offset(path: Path) -> int:
    """Where the data set starts: after the preamble, "DICM" and the File Meta group (PS3.10 §7.1).

    The File Meta Information is always explicit VR little endian, so it can be walked
    without a DICOM library.
    """
    with open(path, "rb") as fh:
        fh.seek(132)
        while True:
            start = fh.tell()
            head = fh.read(8)
            if len(head) < 8 or struct.unpack("<H", head[:2])[0] != 0x0002:
                return start
            vr = head[4:6]
            if vr in _LONG_VRS:
                length = struct.unpack("<I", fh.read(4))[0]
            else:
                length = struct.unpack("<H", head[6:8])[0]
            fh.seek(length, os.SEEK_CUR)


def dataset_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        fh.seek(dataset_offset(path))
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def generate_data(folder: Path, sizes: dict[str, int]) -> dict[str, Any]:
    # Its own process: numpy and pydicom never enter the driver, which forks every receiver.
    argv = [sys.executable, str(HERE / "receive_data.py"), "--out", str(folder), "--small", str(sizes["small"]),
            "--large", str(sizes["large"]), "--big-mb", str(sizes["big_mb"]), "--senders", str(sizes["senders"])]
    subprocess.run(argv, check=True)
    manifest: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return manifest


def megabytes(files: Sequence[str]) -> float:
    return sum(os.path.getsize(f) for f in files) / 1e6


def wait_for_quiet(limit: float, timeout: float = 300) -> None:
    """Other work on the machine skews every number: wait until the 1-minute load is low."""
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        time.sleep(5)


class PySpy:
    """`py-spy record` on the app while it receives (only with --py-spy)."""

    def __init__(self, pid: int, svg: Path) -> None:
        exe = shutil.which("py-spy")
        self.proc = None
        if exe is None:
            print("py-spy is not installed (pip install py-spy): no profile", file=sys.stderr)
            return
        svg.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([exe, "record", "--nonblocking", "--threads", "-o", str(svg),
                                      "--pid", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes the flame graph on SIGINT
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Bench:
    def __init__(self, args: argparse.Namespace, manifest: dict[str, Any], work: Path) -> None:
        self.args = args
        self.manifest = manifest
        self.work = work
        self.unavailable: dict[str, str] = {}
        self.big_hash = dataset_sha256(Path(manifest["big"])) if manifest.get("big") else ""
        # Finished receivers' folders, removed after the last run (`cleanup`). Deleting thousands
        # of files just before the next receiver starts slows that receiver down: ext4 without a
        # journal skips inodes freed in the last minute when it allocates one, and scanning past
        # them cost ~0.5 ms per received file here (perf: recently_deleted in openat).
        self.finished: list[RunningReceiver] = []

    def run(self, kind: ReceiverKind, dataset: str, turn: int = 0) -> Row:
        sets: list[list[str]] = (self.manifest["senders"] if dataset == "concurrent"
                                 else [[self.manifest["big"]]] if dataset == "big" else [self.manifest[dataset]])
        files = [f for s in sets for f in s]
        row = Row(kind.key, kind.label, dataset, len(files), megabytes(files))
        if kind.key in self.unavailable:
            row.check, row.ok = self.unavailable[kind.key], False
            return row
        if self.args.settle:
            wait_for_quiet(self.args.settle)
        folder = f"{kind.key}-{dataset}" + (f"-{turn + 1}" if turn else "")  # a fresh store each turn
        receiver = RunningReceiver(kind, self.work / folder)
        try:
            receiver.start()
        except ReceiverUnavailable as exc:
            what = "window not available" if kind.window else "did not start"
            self.unavailable[kind.key] = f"n/a ({what}: {exc})"
            row.check, row.ok = self.unavailable[kind.key], False
            receiver.cleanup()
            return row
        print(f"  {kind.label}: {dataset} ({len(files)} objects) ...", flush=True)
        spy = PySpy(receiver.proc.pid, self.args.out / f"profile-{kind.key}-{dataset}.svg") \
            if self.args.py_spy and kind.app and receiver.proc else None
        try:
            idle_mb = receiver.rss_mb()
            row.extra["load_average"] = round(os.getloadavg()[0], 2)
            started = time.perf_counter()
            if dataset == "concurrent":
                result = send_concurrently(receiver.port, sets, nodelay=kind.nodelay)
            else:
                result = send(receiver.port, files, nodelay=kind.nodelay)
            pipeline_done = receiver.wait_pipeline() if kind.app else True
            if kind.app:
                row.pipeline_s = time.perf_counter() - started
        finally:
            if spy is not None:
                spy.stop()
            receiver.stop()
        row.seconds = result.seconds
        row.peak_rss_mb = receiver.peak_rss_mb
        row.rss_growth_mb = max(0.0, receiver.peak_rss_mb - idle_mb)
        if kind.window:
            row.ui_stalls = receiver.ui_stalls()
        self._check(row, receiver, result, pipeline_done)
        if not self.args.keep:
            if dataset == "big":
                receiver.cleanup()  # one file, but 1 GB: free the disk at once
            else:
                self.finished.append(receiver)
        return row

    def cleanup(self) -> None:
        for receiver in self.finished:
            receiver.cleanup()
        self.finished.clear()

    def _check(self, row: Row, receiver: RunningReceiver, result: SendResult, pipeline_done: bool) -> None:
        problems: list[str] = []
        if result.returncode != 0:
            problems.append(f"storescu exit {result.returncode}: {result.error}")
        stored = receiver.stored_files()
        notes = [f"{len(stored)} files"]
        if len(stored) != row.objects:
            problems.append(f"{len(stored)} of {row.objects} files stored")
        counts = receiver.index_counts()
        if counts:
            notes.append(f"{counts['rows']} rows")
            if counts["rows"] != row.objects or counts["distinct"] != row.objects:
                problems.append(f"index: {counts['rows']} rows, {counts['distinct']} distinct")
            if counts["duplicates"] or counts["revisions"] or receiver.revisions():
                problems.append(f"duplicates {counts['duplicates']}, revisions {counts['revisions']}")
            if not pipeline_done or counts["pending"]:
                problems.append(f"pipeline: {counts['pending']} still pending")
            if counts["failed"]:
                problems.append(f"pipeline: {counts['failed']} runs not ok")
        if receiver.kind.app and receiver.exit_code != 0:
            problems.append(f"app exit code {receiver.exit_code}")
        if row.dataset == "big" and len(stored) == 1:
            same = dataset_sha256(stored[0]) == self.big_hash
            notes = ["data set hash identical" if same else "data set hash DIFFERS"]
            if not same:
                problems.append("data set hash differs")
        if row.dataset == "concurrent":
            notes.insert(0, "each stored once:")
        row.ok = not problems
        row.check = "; ".join(problems) if problems else ", ".join(notes).replace(":,", ":")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Receive throughput of intu-desktop against DCMTK (issue 9).")
    p.add_argument("--quick", action="store_true", help="100 small, 20 large, a 100 MB object")
    p.add_argument("--out", type=Path, default=HERE / "out", help="where receive.md/.json go")
    p.add_argument("--work", type=Path, help="folder for data and receivers (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="keep each receiver's folder under --work")
    p.add_argument("--receivers", default=",".join(k.key for k in RECEIVERS),
                   help="comma list of " + ", ".join(k.key for k in RECEIVERS))
    p.add_argument("--sets", default=",".join(SETS), help="comma list of " + ", ".join(SETS))
    p.add_argument("--settle", type=float, metavar="LOAD",
                   help="before each run, wait (up to 5 min) until the 1-minute load average is below LOAD")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="send the small and large sets N times to every receiver, in turns, and report "
                        "each receiver's median run (this machine's speed drifts from one run to the next)")
    p.add_argument("--py-spy", action="store_true", help="record a py-spy flame graph of each app run into --out")
    args = p.parse_args(argv)
    args.out = args.out.resolve()
    wanted = set(args.receivers.split(","))
    kinds = [k for k in RECEIVERS if k.key in wanted]
    datasets = [s for s in SETS if s in set(args.sets.split(","))]
    sizes = QUICK if args.quick else FULL

    temp = None
    if args.work is None:
        temp = tempfile.TemporaryDirectory(prefix="intu-bench-receive-")
        work = Path(temp.name)
    else:
        work = args.work.resolve()
        work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating data sets in {work / 'data'} ...", flush=True)
        if "big" not in datasets:
            sizes = {**sizes, "big_mb": 0}
        manifest = generate_data(work / "data", sizes)
        bench = Bench(args, manifest, work)
        rows: list[Row] = []
        load_before = os.getloadavg()
        if load_before[0] > (os.cpu_count() or 1) / 2 and not args.settle:
            print(f"note: load average {load_before[0]:.1f}: other work will skew the numbers "
                  "(--settle LOAD waits for a quiet machine)", flush=True)
        try:
            for dataset in datasets:
                # Repeats take turns (pair, ours, pair, ...), so a slow stretch of the machine
                # falls on every receiver alike.
                for turn in range(max(1, args.repeat) if dataset in ("small", "large") else 1):
                    for kind in kinds:
                        if dataset == "concurrent" and kind.key not in CONCURRENT_RECEIVERS:
                            continue
                        rows.append(bench.run(kind, dataset, turn))
        finally:
            bench.cleanup()
        load_after = os.getloadavg()
    finally:
        if temp is not None:
            temp.cleanup()

    rows = merge_repeats(rows)
    add_ratios(rows)
    receiver = main_receiver(rows)
    targets = evaluate_targets(rows, receiver)
    loads = [r.extra["load_average"] for r in rows if "load_average" in r.extra]
    machine = (f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
               f"Python {platform.python_version()}, {_dcmtk_version()}; 1-minute load average "
               f"{load_before[0]:.2f} at the start, {load_after[0]:.2f} at the end, "
               f"at most {max(loads, default=0):.2f} when a send started")
    command = "python benchmarks/receive.py" + (" --quick" if args.quick else "")
    print()
    print(text_table(rows))
    print()
    print(f"targets (issue 9), measured on the {receiver} run:")
    print(targets_text(targets))
    print()
    print(machine)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "receive.md").write_text(markdown_report(rows, command, machine), encoding="utf-8")
    (args.out / "receive.json").write_text(json.dumps(
        {"command": command, "machine": machine, "rows": [r.as_dict() for r in rows]}, indent=2), encoding="utf-8")
    print(f"written: {args.out / 'receive.md'}")
    return 0 if all(r.ok for r in rows if r.seconds is not None) else 1


def _dcmtk_version() -> str:
    from receive_peers import dcmtk

    out = subprocess.run([dcmtk("storescu"), "--version"], capture_output=True, text=True, check=False).stdout
    first = out.strip().splitlines()[0] if out.strip() else ""
    return "DCMTK " + (first.split()[2] if len(first.split()) > 2 else "?")


if __name__ == "__main__":
    sys.exit(main())
