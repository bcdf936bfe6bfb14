"""Soak: kill -9 the headless receiver at random moments of an ingest, many times over.

    PYTHONPATH=. python benchmarks/soak_crash.py [--objects 1000] [--rounds 25] [--seed N]

The long variant of tests/reliability/test_rel_crash.py: after every restart, every object
storescu was told was stored must be present, readable and indexed, with no partial or
temporary file; at the end every instance has been through the pipeline and delivered to
a file destination exactly once (one file per SOP Instance UID). Exits 1 on the first
broken promise, after printing the seed that reproduces it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "reliability"), str(REPO)]

from dicomtools import free_port, sample, storescu, wait_for, write_channel  # noqa: E402
from rel_crash import check_after_restart, index_rows, kill_rounds  # noqa: E402
from rel_helpers import fast_copies  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    print(f"seed {seed}: {args.rounds} kill -9 rounds over {args.objects} objects", flush=True)
    with tempfile.TemporaryDirectory(prefix="intu-soak-crash-") as tmp:
        root = Path(tmp)
        objects = fast_copies(sample("CT_small.dcm"), root / "objects", args.objects)
        port = free_port()
        delivered = root / "delivered"
        channel = write_channel(root / "ch", port=port, body=f"""
            destinations:
              - name: out-file
                type: file
                file:
                  directory: {delivered}
                  filename_pattern: "{{{{sopInstanceUid}}}}.json"
            """)
        data = root / "data"
        log: list[str] = []
        started = time.monotonic()
        try:
            _, receiver = kill_rounds(objects, ["--channel", str(channel)], port, data, args.rounds, rng, log)
        except AssertionError as exc:
            print("\n".join(log), f"\nBROKEN (seed {seed}): {exc}", sep="\n")
            return 1
        print("\n".join(log))
        try:
            final = storescu(port, [o.path for o in objects], timeout=3600)
            assert final.returncode == 0, final.stderr[-2000:]
            check_after_restart(data, objects)
            wait_for(lambda: not index_rows(
                data, "SELECT 1 FROM instances WHERE pipeline_status = 'pending' UNION ALL "
                      "SELECT 1 FROM deliveries WHERE status = 'pending'"), timeout=600)
            statuses = dict(index_rows(data, "SELECT pipeline_status, COUNT(*) FROM instances GROUP BY 1"))
            assert statuses == {"ok": len(objects)}, statuses
            files = sorted(p.stem for p in delivered.glob("*.json"))
            assert files == sorted(o.sop_uid for o in objects), "deliveries missing or doubled"
        except AssertionError as exc:
            print(f"BROKEN (seed {seed}): {exc}")
            return 1
        finally:
            receiver.stop()
        print(f"OK: {args.rounds} rounds, {len(objects)} objects, {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
