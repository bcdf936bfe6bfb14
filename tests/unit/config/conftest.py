"""Fixtures for the config tests: the spec's example channel and a project writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

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

SPEC_INTU = """\
runtime:
  name: radiology
destinations:
  fhir-imaging-api:
    type: fhir
    fhir:
      base_url: https://fhir.example.org/r4
  pacs-archive:
    type: dicom
    dicom:
      host: pacs.example.org
      port: 104
      called_ae_title: PACS_ARCHIVE
"""

WriteFiles = Callable[[dict[str, str]], Path]


@pytest.fixture
def write_files(tmp_path: Path) -> WriteFiles:
    """Write {relative path: text} under a fresh project folder and return the folder."""

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        for relative, text in files.items():
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return root

    return write


@pytest.fixture
def spec_project(write_files: WriteFiles) -> Path:
    """A project holding the spec's complete example with its named destinations."""
    return write_files(
        {
            "intu.yaml": SPEC_INTU,
            "src/channels/dicom-radiology-ingest/channel.yaml": SPEC_CHANNEL,
            "src/channels/dicom-radiology-ingest/validator.ts": "export function validate() {}\n",
            "src/channels/dicom-radiology-ingest/transformer.ts": "export default () => 0;\n",
        }
    )
