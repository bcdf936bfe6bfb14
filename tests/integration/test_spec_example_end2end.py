"""Issue 4 acceptance: the spec's complete example end to end.

storescu (DCMTK, as CT_SCANNER_1) -> intu Desktop's `dicom-radiology-ingest` channel
(the spec's channel, validator, and its transformer verbatim) -> the named destinations
of intu.yaml: `fhir-imaging-api` (a FHIR server validating with fhir.resources, bearer
token from .env) and `pacs-archive` (Orthanc, checked through its REST API).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pydicom
import pytest
from dicomtools import (
    PROPOSE_FLAG,
    SPEC_CHANNEL,
    free_port,
    sample,
    spec_transformer_source,
    storescu,
    wait_for,
)
from fhir_server import FhirServer
from orthanc import Orthanc, orthanc_binary

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed"),
    pytest.mark.skipif(orthanc_binary() is None, reason="Orthanc is not installed"),
]

TOKEN = "e2e-bearer-token-from-dotenv"
FILES = ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm")

VALIDATOR = """\
// Refuses objects without the UIDs the transformer and the PACS need.
export default function validate(msg: { body: string }): boolean {
  const d = JSON.parse(msg.body);
  return Boolean(d.studyInstanceUid && d.seriesInstanceUid && d.sopInstanceUid);
}
"""


def _project(root: Path, *, listen_port: int, fhir: FhirServer, pacs: Orthanc) -> Path:
    (root / ".env").parent.mkdir(parents=True, exist_ok=True)
    (root / ".env").write_text(f"FHIR_BASE_URL={fhir.base_url}\nFHIR_TOKEN={TOKEN}\n", encoding="utf-8")
    (root / "intu.yaml").write_text(textwrap.dedent(f"""\
        runtime:
          name: spec-example
        channels_dir: src/channels
        destinations:
          fhir-imaging-api:
            type: fhir
            fhir:
              base_url: ${{FHIR_BASE_URL}}
              version: R4
              auth:
                type: bearer
                token: ${{FHIR_TOKEN}}
              timeout_ms: 10000
            retry:
              max_attempts: 10
              backoff: exponential
              initial_delay_ms: 100
          pacs-archive:
            type: dicom
            dicom:
              host: 127.0.0.1
              port: {pacs.dicom_port}
              ae_title: INTU_SCP
              called_ae_title: {pacs.aet}
              timeout_ms: 10000
            retry:
              max_attempts: 10
              initial_delay_ms: 100
        """), encoding="utf-8")
    channel = root / "src" / "channels" / "dicom-radiology-ingest"
    channel.mkdir(parents=True)
    # The spec's "Complete Example" (as users write it: comments, an unknown key), on a free port.
    assert "    port: 4104\n" in SPEC_CHANNEL
    (channel / "channel.yaml").write_text(SPEC_CHANNEL.replace("    port: 4104\n", f"    port: {listen_port}\n"),
                                          encoding="utf-8")
    (channel / "transformer.ts").write_text(spec_transformer_source(), encoding="utf-8")
    (channel / "validator.ts").write_text(VALIDATOR, encoding="utf-8")
    return root


def test_spec_complete_example_end_to_end(start_runtime, tmp_path: Path) -> None:
    fhir = FhirServer(bearer_token=TOKEN).start()
    pacs = Orthanc(tmp_path / "orthanc").start()
    try:
        port = free_port()
        project = _project(tmp_path / "project", listen_port=port, fhir=fhir, pacs=pacs)
        rt = start_runtime(project_dir=project, data_dir=tmp_path / "data")

        for name in FILES:
            path = sample(name)
            syntax = str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)
            sent = storescu(port, [path], aet="CT_SCANNER_1", aec="INTU_SCP", extra=["-R", PROPOSE_FLAG[syntax]])
            assert sent.returncode == 0, sent.stderr

        def all_delivered() -> list:
            rows = rt.index.query("SELECT * FROM deliveries ORDER BY id")
            return rows if len(rows) == 2 * len(FILES) and {r["status"] for r in rows} == {"delivered"} else []

        try:
            rows = wait_for(all_delivered, timeout=90)
        except TimeoutError:
            state = [(r["destination"], r["status"], r["last_error"]) for r in rt.index.query("SELECT * FROM deliveries")]
            runs = [(r["status"], r["error"]) for r in rt.index.query("SELECT * FROM pipeline_runs")]
            raise AssertionError(f"deliveries: {state}; runs: {runs}") from None
        assert {r["destination"] for r in rows} == {"fhir-imaging-api", "pacs-archive"}
        assert {r["channel_id"] for r in rows} == {"dicom-radiology-ingest"}

        stored = pacs.sop_instance_uids()
        for name in FILES:
            ds = pydicom.dcmread(sample(name), stop_before_pixels=True)
            # The PACS got the received object itself, in the transfer syntax it arrived in.
            assert pacs.transfer_syntax(stored[str(ds.SOPInstanceUID)]) == str(ds.file_meta.TransferSyntaxUID)
            (study,) = fhir.search("ImagingStudy", f"urn:dicom:uid|urn:oid:{ds.StudyInstanceUID}")
            assert study["status"] == "available"
            assert study["series"][0]["instance"][0]["uid"] == str(ds.SOPInstanceUID)
            assert study["subject"]["identifier"]["value"] == str(ds.PatientID)
        assert len(fhir.resources("ImagingStudy")) == len({
            str(pydicom.dcmread(sample(n), stop_before_pixels=True).StudyInstanceUID) for n in FILES})
        # Every request carried the token from .env.
        assert {r.headers.get("Authorization") for r in fhir.requests_for("PUT")} == {f"Bearer {TOKEN}"}
        assert all(r.body["resourceType"] == "ImagingStudy" for r in fhir.requests_for("PUT"))
    finally:
        pacs.stop()
        fhir.stop()
