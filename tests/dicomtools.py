"""Shared test helpers: real DCMTK peers, sample objects, channel files.

DCMTK is called by absolute path: pynetdicom installs Python console scripts named
`storescu`, `echoscu` and `storescp` that shadow DCMTK's on PATH.
"""

from __future__ import annotations

import copy
import shutil
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parents[1]
# intu's DICOM source spec and schemas, as given to the project (kept in the repository so the
# tests run on any machine); the transformer in it must run unmodified.
REFERENCE = REPO / "tests" / "fixtures" / "reference"
SPEC = REFERENCE / "dicom-source-spec.txt"

# The spec's "Complete Example", with comments and an unknown key added, as users write it.
SPEC_CHANNEL = """\
# Radiology ingest: receives images from approved scanners.
id: dicom-radiology-ingest
enabled: true   # set to false to pause
listener:
  type: dicom
  dicom:
    port: 4104
    ae_title: INTU_SCP
    # Only these senders may connect.
    calling_ae_titles:
      - CT_SCANNER_1
      - MR_SCANNER_2
      - PACS_PRIMARY
    site_note: "second floor"   # not an intu key: kept as is
validator:
  runtime: node
  entrypoint: validator.ts

transformer:
  runtime: node
  entrypoint: transformer.ts
destinations:
  - fhir-imaging-api
  - pacs-archive
"""


def dcmtk(name: str) -> str:
    for folder in ("/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"):
        path = Path(folder) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"DCMTK {name} is not installed (apt-get install dcmtk)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def sample(name: str) -> Path:
    return Path(get_testdata_file(name))


def echoscu(port: int, *, aet: str = "CT_SCANNER_1", aec: str = "INTU_SCP",
            extra: Sequence[str] = (), timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([dcmtk("echoscu"), "-aet", aet, "-aec", aec, *extra, "127.0.0.1", str(port)],
                          capture_output=True, text=True, timeout=timeout)


def storescu(port: int, files: Iterable[Path | str], *, aet: str = "CT_SCANNER_1", aec: str = "INTU_SCP",
             extra: Sequence[str] = (), timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dcmtk("storescu"), "-aet", aet, "-aec", aec, *extra, "127.0.0.1", str(port), *map(str, files)],
        capture_output=True, text=True, timeout=timeout)


# storescu flag that proposes exactly a file's own transfer syntax (with -R: only what is needed).
PROPOSE_FLAG = {
    "1.2.840.10008.1.2": "-xi",
    "1.2.840.10008.1.2.1": "-xe",
    "1.2.840.10008.1.2.2": "-xb",
    "1.2.840.10008.1.2.1.99": "-xd",
    "1.2.840.10008.1.2.4.50": "-xy",
    "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.70": "-xs",
    "1.2.840.10008.1.2.4.80": "-xt",
    "1.2.840.10008.1.2.4.81": "-xu",
    "1.2.840.10008.1.2.4.90": "-xv",
    "1.2.840.10008.1.2.4.91": "-xw",
    "1.2.840.10008.1.2.5": "-xr",
}


def copies_with_new_uids(template: Path, folder: Path, count: int, *, study_uid: str | None = None) -> list[Path]:
    """`count` distinct objects made from one sample (new SOP Instance UIDs, one study, one series)."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = pydicom.dcmread(template)
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    out = []
    for i in range(count):
        item = copy.deepcopy(ds)
        item.StudyInstanceUID = study_uid
        item.SeriesInstanceUID = series_uid
        item.SOPInstanceUID = generate_uid()
        item.file_meta.MediaStorageSOPInstanceUID = item.SOPInstanceUID
        item.InstanceNumber = i + 1
        path = folder / f"obj{i:05d}.dcm"
        item.save_as(path, enforce_file_format=True)
        out.append(path)
    return out


def write_channel(folder: Path, *, port: int, channel_id: str = "test-channel", ae_title: str = "INTU_SCP",
                  calling: Sequence[str] = (), extra_dicom: str = "", body: str = "") -> Path:
    """A channel.yaml for a dicom listener; `extra_dicom` is indented under listener.dicom."""
    folder.mkdir(parents=True, exist_ok=True)
    calling_yaml = ""
    if calling:
        calling_yaml = "    calling_ae_titles:\n" + "".join(f"      - {a}\n" for a in calling)
    extra = textwrap.indent(textwrap.dedent(extra_dicom).strip("\n"), "    ") + "\n" if extra_dicom else ""
    text = (
        f"id: {channel_id}\n"
        "enabled: true\n"
        "listener:\n"
        "  type: dicom\n"
        "  dicom:\n"
        f"    port: {port}\n"
        f"    ae_title: {ae_title}\n"
        f"{calling_yaml}{extra}"
        f"{textwrap.dedent(body).strip()}\n"
    )
    path = folder / "channel.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def spec_transformer_source() -> str:
    """The spec's TypeScript transformer, verbatim from the spec text."""
    text = SPEC.read_text(encoding="utf-8")
    start = text.index('import { Message, TransformResult } from "@intu/sdk";')
    last = "return `${d}T00:00:00Z`;"
    end = text.index(last, start) + len(last)
    end = text.index("}", end) + 1
    return text[start:end] + "\n"


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")


def temporary_leftovers(tmp: Path) -> list[Path]:
    """Files in a data dir's private temp folder that hold received bytes. The empty
    `rx-*.part` an association makes ahead for its next object (transport.prepare_next_chunk)
    holds none; it goes with the association, a moment after the peer has its release."""
    return sorted(p for p in tmp.iterdir() if not (p.name.startswith("rx-") and p.stat().st_size == 0))
