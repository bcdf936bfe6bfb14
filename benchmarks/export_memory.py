"""Peak memory of a streamed export: 100,000 lazily generated rows to a file.

    PYTHONPATH=. python benchmarks/export_memory.py [--rows N] [--format csv|json|ndjson|fhir-bundle]
                                                   [--deidentify]

Prints the rows written, the time, and the growth of peak RSS (resource.getrusage) over
the export. A streaming export stays flat in the row count: the FHIR Bundle holds one
study at a time, the other formats one row.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from intu_desktop.export import EXPORT_FORMATS, ExportOptions, export_rows

INSTANCES_PER_SERIES = 250
SERIES_PER_STUDY = 4


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def generate_rows(count: int) -> Iterator[dict[str, Any]]:
    """Rows ordered by study then series, as the index yields them for a FHIR Bundle."""
    per_study = INSTANCES_PER_SERIES * SERIES_PER_STUDY
    for n in range(count):
        study, rest = divmod(n, per_study)
        series, instance = divmod(rest, INSTANCES_PER_SERIES)
        study_uid = f"1.2.826.0.1.3680043.10.{study + 1}"
        series_uid = f"{study_uid}.{series + 1}"
        yield {
            "studyInstanceUid": study_uid,
            "seriesInstanceUid": series_uid,
            "sopInstanceUid": f"{series_uid}.{instance + 1}",
            "sopClassUid": "1.2.840.10008.5.1.4.1.1.2",
            "modality": "CT",
            "studyDate": "20240115",
            "studyTime": "093000",
            "studyDescription": "CT CHEST",
            "patientId": f"P{study:06d}",
            "patientName": f"Patient{study}^Given",
            "accessionNumber": f"A{study:06d}",
            "referringPhysician": "Ref^Doc",
            "bodyPartExamined": "CHEST",
            "numberOfFrames": 1,
            "storagePath": f"/data/store/{study_uid}/{series_uid}/{instance + 1}.dcm",
            "receivedAt": "2024-01-15T09:45:00+00:00",
            "callingAe": "CT1",
            "channel": "dicom-radiology-ingest",
            "transferSyntax": "1.2.840.10008.1.2.1",
            "size": 525_000,
            "pipelineStatus": "ok",
            "seriesNumber": str(series + 1),
            "instanceNumber": str(instance + 1),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=EXPORT_FORMATS, default="csv")
    parser.add_argument("--deidentify", action="store_true")
    args = parser.parse_args()

    opts = ExportOptions(format=args.format, deidentify=args.deidentify)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / f"export.{args.format}"
        before = peak_rss_mib()
        started = time.perf_counter()
        written = export_rows(generate_rows(args.rows), out, opts)
        elapsed = time.perf_counter() - started
        growth = peak_rss_mib() - before
        size = out.stat().st_size / (1024 * 1024)
    print(
        f"{args.format}{' deidentified' if args.deidentify else ''}: {written} rows, "
        f"{size:.1f} MiB in {elapsed:.2f} s, peak RSS growth {growth:.1f} MiB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
