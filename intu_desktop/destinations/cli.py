"""`intu-desktop retry`: dead letters back into the delivery queue, from the command line.

It works on the index alone, with or without the app running: a running app notices the
requeued rows within its poll interval and delivers them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from intu_desktop.destinations import deliveries as queue_db
from intu_desktop.index.db import Index, IndexCorrupt


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="intu-desktop retry",
        description="Queue failed deliveries (dead letters) again, with their attempts reset.",
    )
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help="the app's data folder (env INTU_DESKTOP_DATA_DIR)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, metavar="N", help="one delivery, by its id")
    which.add_argument("--all", action="store_true", help="every failed delivery")
    p.add_argument("--channel", metavar="C", help="with --all: only this channel's deliveries")
    return p


def run_retry(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.channel and not args.all:
        print("error: --channel goes with --all", file=sys.stderr)
        return 2
    from intu_desktop.app import default_data_dir

    data_dir = (args.data_dir or default_data_dir()).resolve()
    path = data_dir / "index.sqlite3"
    if not path.is_file():
        print(f"error: no index in {data_dir} (nothing was ever received there)", file=sys.stderr)
        return 1
    try:
        index = Index(path)
    except IndexCorrupt as exc:
        print(f"error: cannot open the index: {exc}", file=sys.stderr)
        return 1
    try:
        now = time.time()
        if args.id is not None:
            found = queue_db.get_delivery(index, args.id)
            if found is None:
                print(f"error: there is no delivery {args.id}", file=sys.stderr)
                return 1
            if found["status"] != queue_db.FAILED:
                print(f"delivery {args.id} is {found['status']}, not failed: nothing to retry", file=sys.stderr)
                return 1
            rows = index.write(lambda conn: queue_db.requeue_failed(conn, now, delivery_id=args.id))
        else:
            rows = index.write(lambda conn: queue_db.requeue_failed(conn, now, channel_id=args.channel))
    finally:
        index.close()
    for row in rows:
        print(f"delivery {row['id']} to {row['destination']} (channel {row['channel_id']}) queued again")
    print(f"{len(rows)} deliver{'y' if len(rows) == 1 else 'ies'} queued again")
    return 0
