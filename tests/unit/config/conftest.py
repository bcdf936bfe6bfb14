"""Fixtures for the config tests: the spec's example channel and a project writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# The spec's "Complete Example", with comments and an unknown key added, as users write it.
from config_samples import SPEC_CHANNEL, SPEC_INTU, WriteFiles  # noqa: E402


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
