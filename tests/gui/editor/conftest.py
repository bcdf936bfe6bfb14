"""Fixtures for the channel editor tests: the spec's example project and an editor that is
closed (without a prompt) at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dicomtools import SPEC_CHANNEL
from PySide6.QtCore import QSettings

SPEC_INTU = """\
# The radiology project.
runtime:
  name: radiology
channels_dir: src/channels
destinations:
  fhir-imaging-api:
    type: fhir
    fhir:
      base_url: https://fhir.example.org/r4   # the imaging API
  pacs-archive:
    type: dicom
    dicom:
      host: pacs.example.org
      port: 104
"""


@dataclass
class SpecProject:
    root: Path
    channel: Path


@pytest.fixture(autouse=True)
def _temporary_settings(tmp_path: Path) -> None:
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path / "qsettings"))


@pytest.fixture
def spec_project(tmp_path: Path) -> SpecProject:
    root = tmp_path / "radiology"
    folder = root / "src" / "channels" / "dicom-radiology-ingest"
    folder.mkdir(parents=True)
    (root / "intu.yaml").write_text(SPEC_INTU, encoding="utf-8")
    channel = folder / "channel.yaml"
    channel.write_text(SPEC_CHANNEL, encoding="utf-8")
    (folder / "validator.ts").write_text("export function validate(msg) { return true; }\n")
    (folder / "transformer.ts").write_text("export default function transform(msg) "
                                           "{ return { success: true, body: msg.body }; }\n")
    return SpecProject(root=root, channel=channel)


@pytest.fixture
def make_editor(qtbot: Any) -> Iterator[Callable[..., Any]]:
    from intu_desktop.gui.editor import ChannelEditor

    made: list[ChannelEditor] = []

    def make(project_root: Path | None, channel_files: list[Path],
             apply_channel: Any = None) -> ChannelEditor:
        editor = ChannelEditor(project_root, channel_files, apply_channel)
        # Not qtbot.addWidget: pytest-qt closes its widgets before fixtures are finalized,
        # and a dirty editor would then wait for an answer to its unsaved-changes prompt.
        editor.show()
        made.append(editor)
        return editor

    yield make
    for editor in made:
        editor.discard_changes()
        editor.close()  # nothing unsaved: no prompt; stops the worker threads
        editor.deleteLater()
    qtbot.wait(1)  # let deleteLater run

