"""Maintenance commands: reprocess, reindex, export, retry (DESIGN §1 and issues 3, 4, 8, 10)."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

log = logging.getLogger(__name__)


def _data_dir(value: Path | None) -> Path:
    from intu_desktop.app import default_data_dir

    return (value or default_data_dir()).resolve()


def _common(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"intu-desktop {prog}")
    p.add_argument("--data-dir", type=Path, metavar="DIR")
    return p


# -- reprocess -------------------------------------------------------------------------------
def reprocess(argv: Sequence[str]) -> int:
    from intu_desktop.app import Runtime
    from intu_desktop.cli import _add_project_args, load_configuration
    from intu_desktop.index.instances import find_instance_ids

    p = _common("reprocess")
    _add_project_args(p)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--sop", metavar="UID")
    which.add_argument("--series", metavar="UID")
    which.add_argument("--study", metavar="UID")
    args = p.parse_args(argv)
    data_dir = _data_dir(args.data_dir)
    project = load_configuration(args, data_dir)
    if project.errors:
        for err in project.errors:
            print(err, file=sys.stderr)
        return 1
    runtime = Runtime(project, data_dir)
    try:
        ids = find_instance_ids(runtime.index, sop=args.sop, series=args.series, study=args.study)
        if not ids:
            print("no stored instance matches", file=sys.stderr)
            return 1
        assert runtime.pipeline is not None
        if runtime.delivery is not None:
            runtime.delivery.start()
        runtime.pipeline.start()
        runtime.pipeline.wait_idle(timeout=1)  # let resumed work settle first
        results = [runtime.pipeline.process(i) for i in ids]
        bad = 0
        for run in results:
            if run is None:
                continue
            print(f"{run.status:8} instance {run.instance_id}" + (f": {run.error}" if run.error else ""))
            bad += run.status not in ("ok", "filtered")
        if runtime.delivery is not None:
            runtime.delivery.wait_idle(timeout=30) if hasattr(runtime.delivery, "wait_idle") else time.sleep(0.5)
        return 1 if bad else 0
    finally:
        runtime.stop()


# -- reindex ---------------------------------------------------------------------------------
def reindex(argv: Sequence[str]) -> int:
    """Rebuild the index from the store (after the database was deleted or corrupted)."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.filereader import read_file_meta_info

    from intu_desktop.dicom.metadata import UnreadableDataset, build_body, read_header
    from intu_desktop.index.db import Index
    from intu_desktop.index.instances import InstanceRecord, iso_time, record_instance

    args = _common("reindex").parse_args(argv)
    data_dir = _data_dir(args.data_dir)
    db = data_dir / "index.sqlite3"
    if db.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            old = Path(str(db) + suffix)
            if old.exists():
                shutil.move(str(old), str(old) + f".broken-{stamp}")
        print(f"previous index kept as {db.name}.broken-{stamp}")
    index = Index(db)
    count = skipped = 0
    try:
        for path in sorted((data_dir / "store").rglob("*.dcm")):
            if ".rev-" in path.name:
                continue  # earlier versions kept beside the current file
            try:
                ds = read_header(path)
            except UnreadableDataset as exc:
                print(f"skipped {path}: {exc}", file=sys.stderr)
                skipped += 1
                continue
            mtime = path.stat().st_mtime
            # The transfer syntax and the sender's AE title (Sending Application Entity
            # Title, PS3.10 7.1, which this receiver writes) from the file's File Meta group.
            try:
                meta = read_file_meta_info(path)
            except Exception:  # noqa: BLE001 - a file pydicom reads but whose meta it does not
                meta = FileMetaDataset()
            ts = str(meta.get("TransferSyntaxUID", "") or "")
            calling = str(meta.get("SendingApplicationEntityTitle", "") or "").strip()
            body = build_body(ds, path, transfer_syntax=ts, calling_ae=calling, received_at=iso_time(mtime))
            if not body["sopInstanceUid"]:
                skipped += 1
                continue
            rec = InstanceRecord(body=body, size=path.stat().st_size, calling_ae=calling, called_ae="",
                                 peer_address="", channel_id="", association_id="", received_at=mtime)

            def work(conn: Any, rec: InstanceRecord = rec) -> None:
                record_instance(conn, rec)
                # Already processed before the index was lost: do not run (and deliver) again.
                conn.execute("UPDATE instances SET pipeline_status = 'reindexed' WHERE sop_uid = ?",
                             (rec.body["sopInstanceUid"],))

            index.submit(work)
            count += 1
        index.write(lambda conn: None)  # barrier: everything above is committed
    finally:
        index.close()
    print(f"reindexed {count} instance(s) from the store" + (f", skipped {skipped}" if skipped else ""))
    return 0


# -- export ----------------------------------------------------------------------------------
def export(argv: Sequence[str]) -> int:
    from intu_desktop.export import ExportOptions, export_rows
    from intu_desktop.index.db import Index
    from intu_desktop.index.instances import iter_export_rows

    p = _common("export")
    p.add_argument("--format", required=True, choices=("csv", "json", "ndjson", "fhir-bundle"))
    p.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    p.add_argument("--since", help="received at or after (ISO 8601)")
    p.add_argument("--until", help="received before (ISO 8601)")
    p.add_argument("--study", metavar="UID")
    p.add_argument("--modality")
    p.add_argument("--calling-ae")
    p.add_argument("--channel")
    p.add_argument("--status", help="pipeline status (ok, invalid, error, pending, ...)")
    p.add_argument("--deidentify", action="store_true", help="PS3.15 Annex E basic profile")
    p.add_argument("--bom", action="store_true", help="UTF-8 byte-order mark (CSV for Excel)")
    p.add_argument("--transformer-output", action="store_true",
                   help="FHIR Bundle: use the transformer's resources instead of the built-in mapping")
    args = p.parse_args(argv)
    where, params = export_filter(args)
    data_dir = _data_dir(args.data_dir)
    if not (data_dir / "index.sqlite3").exists():
        print(f"no index in {data_dir}", file=sys.stderr)
        return 1
    index = Index(data_dir / "index.sqlite3")
    try:
        order = "study_uid, series_uid, id" if args.format == "fhir-bundle" else "received_at, id"
        rows = iter_export_rows(index, where, params, order=order)
        opts = ExportOptions(format=args.format, bom=args.bom, deidentify=args.deidentify,
                             use_transformer_output=args.transformer_output)
        if args.out is None:
            n = export_rows(rows, sys.stdout.buffer, opts)
        else:
            n = export_rows(rows, args.out, opts)
    finally:
        index.close()
    print(f"exported {n} instance(s)" + (" (de-identified)" if args.deidentify else
                                          " — contains identifiable patient data"), file=sys.stderr)
    return 0


def _epoch(text: str) -> float:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def export_filter(args: Any) -> tuple[str, tuple[Any, ...]]:
    """SQL WHERE for the export filters (shared with the window's export)."""
    clauses: list[str] = []
    params: list[Any] = []
    if getattr(args, "since", None):
        clauses.append("received_at >= ?")
        params.append(_epoch(args.since))
    if getattr(args, "until", None):
        clauses.append("received_at < ?")
        params.append(_epoch(args.until))
    for attr, column in (("study", "study_uid"), ("modality", "modality"), ("calling_ae", "calling_ae"),
                         ("channel", "channel_id"), ("status", "pipeline_status")):
        value = getattr(args, attr, None)
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(clauses), tuple(params)


def retry(argv: Sequence[str]) -> int:
    from intu_desktop.destinations.service import cli_retry

    return int(cli_retry(list(argv)))


def dispatch(cmd: str, argv: Sequence[str]) -> int:
    handlers = {"reprocess": reprocess, "reindex": reindex, "export": export, "retry": retry}
    return handlers[cmd](argv)
