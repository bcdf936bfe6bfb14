"""Sample intu files shared by the config tests (a module, not conftest, so imports are unambiguous)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
