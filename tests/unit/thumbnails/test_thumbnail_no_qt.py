"""The thumbnails package is core: it must work where Qt cannot be imported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_imports_and_renders_without_qt() -> None:
    code = (
        "import sys\n"
        "sys.modules['PySide6'] = None  # any Qt import now fails\n"
        "from pydicom.data import get_testdata_file\n"
        "from intu_desktop.thumbnails import render_thumbnail\n"
        "r = render_thumbnail(get_testdata_file('CT_small.dcm'))\n"
        "assert r.pixels is not None, r.error\n"
        "assert not any(m.startswith(('PySide6.', 'shiboken')) for m in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
