"""How fast the `dicom` destination forwards a series to a PACS: one association per object
against one kept open for the burst (IDLE_RELEASE_S). Peers: Orthanc and DCMTK storescp.

    PYTHONPATH=.:tests:tests/integration python benchmarks/forward_pacs.py [--objects 300]

Prints one row per peer and mode: seconds, objects/s, ms per object.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import tempfile
import time
from pathlib import Path

from dicomtools import copies_with_new_uids, dcmtk, free_port, sample, wait_port
from orthanc import Orthanc, orthanc_binary

from intu_desktop.destinations.base import DeliveryContext
from intu_desktop.destinations.dicom import DicomDestination


def _forward(port: int, aec: str, files: list[Path], keep: bool) -> float:
    destination = DicomDestination("pacs", {"host": "127.0.0.1", "port": port, "called_ae_title": aec},
                                   Path("."))
    empty = {f.name: None for f in dataclasses.fields(DeliveryContext)}
    start = time.perf_counter()
    for number, path in enumerate(files):
        result = destination.send(DeliveryContext(**{**empty, "delivery_id": number, "attempt": 1,
                                                     "storage_path": path}))
        if not result.ok:
            raise SystemExit(f"delivery failed: {result.error}")
        if not keep:
            destination._release_idle()  # what every object cost before associations were kept
    elapsed = time.perf_counter() - start
    destination.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=300)
    args = parser.parse_args()
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = copies_with_new_uids(sample("CT_small.dcm"), work / "series", args.objects)
        port = free_port()
        (work / "storescp").mkdir()
        scp = subprocess.Popen([dcmtk("storescp"), "-od", str(work / "storescp"), str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            for keep in (False, True):
                rows.append(("DCMTK storescp", "kept for the burst" if keep else "one per object",
                             _forward(port, "STORESCP", files, keep)))
        finally:
            scp.kill()
            scp.wait()
        if orthanc_binary() is not None:
            for keep in (False, True):
                with Orthanc(work / f"orthanc-{keep}") as pacs:
                    rows.append(("Orthanc", "kept for the burst" if keep else "one per object",
                                 _forward(pacs.dicom_port, pacs.aet, files, keep)))
    print("| peer | association | objects | seconds | objects/s | ms per object |")
    print("|---|---|---:|---:|---:|---:|")
    for peer, mode, seconds in rows:
        print(f"| {peer} | {mode} | {args.objects} | {seconds:.2f} | {args.objects / seconds:.0f} | "
              f"{seconds / args.objects * 1000:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
