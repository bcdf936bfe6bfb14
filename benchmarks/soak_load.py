"""Soak: many concurrent senders and thousands of short associations against the real program.

    PYTHONPATH=. python benchmarks/soak_load.py [--senders 20] [--objects 500] [--associations 10000]

The long variant of tests/reliability/test_rel_load.py, against `intu-desktop --headless`
(a subprocess, measured from outside with psutil): `senders` storescu processes at once,
`objects` distinct objects each, every object stored exactly once (index count equals file
count); then `associations` short associations (C-ECHO, release) with the receiver's
thread count and open file descriptors compared before and after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "reliability"), str(REPO)]

from dicomtools import free_port, sample, wait_port, write_channel  # noqa: E402
from rel_crash import index_rows  # noqa: E402
from rel_helpers import Headless, fast_copies  # noqa: E402
from rel_pdus import echo_command, raw_echo  # noqa: E402
from test_rel_load import run_concurrent_senders  # noqa: E402


def footprint(proc: psutil.Process) -> tuple[int, int, float]:
    """Threads, open descriptors and resident MB of the receiver and its children."""
    procs = [proc, *proc.children(recursive=True)]
    return (sum(p.num_threads() for p in procs), sum(p.num_fds() for p in procs),
            sum(p.memory_info().rss for p in procs) / 2**20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--objects", type=int, default=500, help="per sender")
    parser.add_argument("--associations", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="intu-soak-load-") as tmp:
        root = Path(tmp)
        objects = fast_copies(sample("CT_small.dcm"), root / "objects", args.senders * args.objects,
                              series_size=args.objects)
        folders = [[o.path for o in objects[n * args.objects:(n + 1) * args.objects]] for n in range(args.senders)]
        port = free_port()
        channel = write_channel(root / "ch", port=port, extra_dicom=f"max_associations: {args.senders}")
        data = root / "data"
        receiver = Headless(["--channel", str(channel)], data)
        ok = True
        try:
            wait_port(port, timeout=60)
            proc = psutil.Process(receiver.proc.pid)
            started = time.monotonic()
            results = run_concurrent_senders(port, folders)
            took = time.monotonic() - started
            failed = [r.stderr[-300:] for r in results if r.returncode]
            rows = index_rows(data, "SELECT COUNT(*), SUM(duplicates), SUM(revisions) FROM instances")[0]
            files = sum(1 for p in (data / "store").rglob("*") if p.is_file())
            print(f"{len(objects)} objects from {args.senders} senders in {took:.0f} s "
                  f"({len(objects) / took:.0f}/s): {len(failed)} sender(s) failed, {rows[0]} indexed, "
                  f"{files} files, {rows[1]} duplicates, {rows[2]} revisions")
            ok &= not failed and rows[0] == files == len(objects) and not rows[1] and not rows[2]

            command = echo_command()
            for n in range(200):  # warm up
                raw_echo(port, command)
            time.sleep(2)
            before = footprint(proc)
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(lambda _n: raw_echo(port, command), range(args.associations)))
            took = time.monotonic() - started
            settle = time.monotonic() + 30  # short-lived threads (release timers) wind down
            while footprint(proc)[0] > before[0] + 2 and time.monotonic() < settle:
                time.sleep(0.2)
            after = footprint(proc)
            print(f"{args.associations} associations in {took:.0f} s: threads {before[0]} -> {after[0]}, "
                  f"descriptors {before[1]} -> {after[1]}, resident {before[2]:.0f} -> {after[2]:.0f} MB")
            ok &= after[0] <= before[0] + 2 and after[1] <= before[1] + 5
        finally:
            receiver.stop()
        print("OK" if ok else "BROKEN")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
