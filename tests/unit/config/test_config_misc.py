"""Editor helpers, and the rule that the config package never imports Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
from config_samples import SPEC_CHANNEL
from ruamel.yaml import YAML

from intu_desktop.config import check_channel_text, desktop_extensions_used
from intu_desktop.config.schema import load_raw_schema


def test_check_channel_text_validates_unsaved_text(spec_project: Path) -> None:
    channel_file = spec_project / "src/channels/dicom-radiology-ingest/channel.yaml"
    good = check_channel_text(channel_file, SPEC_CHANNEL, environ={})
    assert good.errors == [] and good.dicom is not None and len(good.destinations) == 2
    bad = check_channel_text(channel_file, SPEC_CHANNEL.replace("4104", "0"), environ={})
    assert [(e.file, e.line, e.key_path) for e in bad.errors] == [
        (channel_file, 7, "listener.dicom.port")
    ]


def test_desktop_extensions_are_named_and_spec_example_uses_none() -> None:
    spec = YAML(typ="safe").load(SPEC_CHANNEL)
    assert desktop_extensions_used(spec) == []
    jsonschema.validate(spec, load_raw_schema("intu-channel"))
    spec["listener"]["dicom"]["max_associations"] = 4
    spec["transformer"]["runtime"] = "python"
    spec["destinations"].append({"name": "audit", "type": "log"})
    assert desktop_extensions_used(spec) == [
        "listener.dicom.max_associations",
        "transformer.runtime",
        "destinations[2].type",
    ]


def test_config_package_imports_no_qt() -> None:
    code = (
        "import sys, intu_desktop.config as c; "
        "sys.exit(1 if any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules) else 0)"
    )
    repo = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=repo)
