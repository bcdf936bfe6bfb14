"""component_versions(): what the About dialog lists, without Qt and with a real node."""

from __future__ import annotations

import os
import platform
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pydicom
import pynetdicom
import pytest

from intu_desktop import __version__
from intu_desktop.about import (
    NOT_FOUND,
    as_text,
    component_versions,
    distribution_version,
    node_version,
)

NODE = shutil.which("node")


def test_lists_every_component_in_display_order() -> None:
    versions = component_versions(qt_version="6.9.9", node_path="/nonexistent/node")
    assert list(versions) == ["intu Desktop", "Python", "Qt", "PySide6", "pynetdicom", "pydicom",
                              "Node.js", "Operating system"]
    assert versions["intu Desktop"] == __version__
    assert versions["Python"].startswith(platform.python_version())
    assert versions["Qt"] == "6.9.9"
    assert versions["pynetdicom"] == pynetdicom.__version__
    assert versions["pydicom"] == pydicom.__version__
    assert versions["Node.js"] == NOT_FOUND


def test_pyside6_version_comes_from_metadata_without_importing_qt() -> None:
    code = (
        "import sys; from intu_desktop.about import component_versions as c; v = c();"
        "assert not any(m.startswith('PySide6') for m in sys.modules), sorted(sys.modules);"
        "print(v['PySide6']); print(v['Qt'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3])
    pyside, qt = out.stdout.split("\n")[:2]
    import PySide6

    assert pyside == PySide6.__version__
    assert qt == "not loaded"


def test_qt_version_of_a_loaded_qtcore_is_used_when_not_given() -> None:
    from PySide6.QtCore import qVersion

    assert component_versions(node_path="/nonexistent/node")["Qt"] == qVersion()


@pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
def test_node_version_is_read_from_the_real_node() -> None:
    expected = subprocess.run([NODE, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert node_version() == f"{expected.removeprefix('v')} ({NODE})"


def test_node_missing_from_path_is_not_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert node_version() == NOT_FOUND


@pytest.mark.skipif(os.name == "nt", reason="uses a POSIX shell script as a fake node")
def test_a_node_that_hangs_or_fails_is_reported_in_words(tmp_path: Path) -> None:
    hanging = tmp_path / "hanging-node"
    hanging.write_text("#!/bin/sh\nexec sleep 30\n", encoding="utf-8")
    failing = tmp_path / "failing-node"
    failing.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    for script in (hanging, failing):
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
    assert node_version(str(hanging), timeout_s=0.5) == f"no answer from {hanging} within 0.5 s"
    assert node_version(str(failing)) == f"{failing} did not run (exit code 3)"


def test_unknown_distribution_is_not_found() -> None:
    assert distribution_version("no-such-package-intu") == NOT_FOUND


def test_as_text_has_one_line_per_component() -> None:
    assert as_text({"Qt": "6.8.0", "Node.js": NOT_FOUND}) == "Qt: 6.8.0\nNode.js: not found"
