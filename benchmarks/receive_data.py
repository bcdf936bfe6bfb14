"""Data sets for the receive benchmark (issue 9), written to a folder with a manifest.

    python benchmarks/receive_data.py --out DIR [--small 1000] [--large 200] [--big-mb 1024] [--senders 10]

Run as its own process by `receive.py`, so the benchmark's driver stays small: a child
forked from a large parent inherits the parent's RSS into its `ru_maxrss`.

- small: CT objects 64×64, 16 bit (≈16 KB each), made from pydicom's CT_small header;
- large: CT objects 512×512, 16 bit (≈0.5 MB each);
- senders: one copy of the small set per concurrent sender, each with its own study,
  series and SOP Instance UIDs, so every object of the concurrent run is distinct;
- big: one Enhanced CT multi-frame object of about `--big-mb` MB, Pixel Data appended
  frame by frame so this process never holds it.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, generate_uid

MANIFEST = "manifest.json"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
UID_ROOT = "1.2.826.0.1.3680043.8.498."  # pydicom's root for generated UIDs
# IS of fixed width (PS3.5 §6.2 allows leading zeros), replaced per object.
_INSTANCE_PLACEHOLDER = "99999"


def _ct_template(size: int, rng: np.random.Generator) -> Dataset:
    """CT_small's real CT header with a `size`×`size` 16-bit image of noise."""
    ds = pydicom.dcmread(str(get_testdata_file("CT_small.dcm")))
    ds.PatientName = "Bench^Receive"
    ds.PatientID = "BENCH-RX"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    pixels = rng.integers(0, 4096, size=(size, size), dtype=np.uint16)
    ds.PixelData = pixels.tobytes()
    ds["PixelData"].VR = "OW"
    return ds


def fixed_uid(rng: np.random.Generator) -> str:
    """A UID of constant length (58, even: no padding), under pydicom's example root.

    Equal lengths let every object be made from one serialized template by replacing bytes.
    """
    digits = "".join(map(str, rng.integers(0, 10, size=31)))
    return f"{UID_ROOT}1{digits}"


def write_series(template: Dataset, folder: Path, count: int, rng: np.random.Generator) -> list[str]:
    """`count` objects of one new study and series, each with its own SOP Instance UID.

    The template is serialized once with placeholder values; each object is that byte
    string with its own UIDs and instance number put in. Placeholders cannot occur in the
    pixel data: two ASCII digits in a row would be a 16-bit value above 4095.
    """
    folder.mkdir(parents=True, exist_ok=True)
    study, series, sop = (fixed_uid(rng) for _ in range(3))
    template.StudyInstanceUID = study
    template.SeriesInstanceUID = series
    template.SOPInstanceUID = sop
    template.file_meta.MediaStorageSOPInstanceUID = UID(sop)
    template.InstanceNumber = _INSTANCE_PLACEHOLDER
    buffer = io.BytesIO()
    template.save_as(buffer, enforce_file_format=True)
    raw = buffer.getvalue()
    expected = {study: 1, series: 1, sop: 2, _INSTANCE_PLACEHOLDER: 1}
    for value, times in expected.items():
        found = raw.count(value.encode("ascii"))
        if found != times:
            raise RuntimeError(f"template holds {value!r} {found} times, expected {times}")
    paths = []
    for i in range(count):
        data = raw.replace(sop.encode("ascii"), fixed_uid(rng).encode("ascii"))
        data = data.replace(_INSTANCE_PLACEHOLDER.encode("ascii"), f"{i + 1:05d}".encode("ascii"))
        path = folder / f"obj{i:05d}.dcm"
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def write_big_multiframe(path: Path, megabytes: int) -> str:
    """An Enhanced CT object of about `megabytes` MB, its Pixel Data written frame by frame."""
    rows = cols = 512
    frame_bytes = rows * cols * 2
    frames = max(1, megabytes * 1024 * 1024 // frame_bytes)
    ds = Dataset()
    ds.SOPClassUID = ENHANCED_CT
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CT"
    ds.PatientName = "Bench^Big"
    ds.PatientID = "BENCH-BIG"
    ds.Rows, ds.Columns = rows, cols
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)
    frame = (np.arange(rows * cols, dtype=np.uint16) % 4096).tobytes()
    with open(path, "ab") as fh:
        # (7FE0,0010) OW with a 4-byte length: explicit VR little endian, PS3.5 §7.1.2.
        fh.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, frame_bytes * frames))
        fh.writelines(frame for _ in range(frames))
    return str(path)


def generate(out: Path, *, small: int, large: int, big_mb: int, senders: int) -> dict[str, Any]:
    rng = np.random.default_rng(9)
    out.mkdir(parents=True, exist_ok=True)
    small_template = _ct_template(64, rng)
    manifest: dict[str, Any] = {
        "small": write_series(small_template, out / "small", small, rng),
        "large": write_series(_ct_template(512, rng), out / "large", large, rng),
        "senders": [write_series(small_template, out / f"sender{k:02d}", small, rng) for k in range(senders)],
        "big": write_big_multiframe(out / "big.dcm", big_mb) if big_mb > 0 else None,
    }
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--small", type=int, default=1000)
    p.add_argument("--large", type=int, default=200)
    p.add_argument("--big-mb", type=int, default=1024)
    p.add_argument("--senders", type=int, default=10)
    args = p.parse_args(argv)
    generate(args.out, small=args.small, large=args.large, big_mb=args.big_mb, senders=args.senders)
    return 0


if __name__ == "__main__":
    sys.exit(main())
