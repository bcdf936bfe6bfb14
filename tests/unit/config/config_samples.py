"""Sample intu files shared by the config tests (a module, not conftest, so imports are unambiguous)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dicomtools import SPEC_CHANNEL

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
