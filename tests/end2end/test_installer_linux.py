"""The Linux installer: build the PyInstaller bundle and the .deb once, then run the built
program as staff would get it (installers/linux/smoke_test.sh) from the bundle and from the
unpacked package.

Building takes a few minutes, so the module builds once and every test here is marked slow.
Skipped where PyInstaller, npm, dpkg-deb or DCMTK is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from intu_desktop import __version__

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "installers" / "linux" / "build.sh"
SMOKE = REPO / "installers" / "linux" / "smoke_test.sh"
BUILD_TIMEOUT_S = 1500
SMOKE_TIMEOUT_S = 600


def _missing() -> str | None:
    if not sys.platform.startswith("linux"):
        return "the Linux installer is built on Linux only"
    if importlib.util.find_spec("PyInstaller") is None:
        return "PyInstaller is not installed (pip install pyinstaller): the installer build is not tested"
    for tool in ("npm", "dpkg-deb", "node"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: the installer build is not tested"
    for tool in ("dump2dcm", "dcmcjpeg", "echoscu", "storescu"):
        if not Path("/usr/bin", tool).exists():
            return f"DCMTK /usr/bin/{tool} is not installed: the smoke test cannot run"
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
    # The first test of the module pays for the build.
    pytest.mark.timeout(BUILD_TIMEOUT_S + SMOKE_TIMEOUT_S),
]


@dataclass(frozen=True)
class Built:
    bundle: Path
    deb: Path
    log: str


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    build_dir = tmp_path_factory.mktemp("linux-build")
    # The venv sees the packages this interpreter already has (the app's dependencies and
    # PyInstaller): the build then needs no downloads. zstd keeps packaging to seconds.
    env = {**os.environ, "PYTHON": sys.executable, "DEB_COMPRESSION": "zstd"}
    done = subprocess.run(
        ["bash", str(BUILD), "--build-dir", str(build_dir), "--system-site-packages"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, _tail(log)
    bundle = build_dir / "dist" / "intu-desktop"
    debs = sorted(build_dir.glob(f"intu-desktop_{__version__}_*.deb"))
    assert bundle.is_dir() and len(debs) == 1, _tail(log)
    return Built(bundle=bundle, deb=debs[0], log=log)


def _smoke(program_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMOKE_EXPECT_VERSION": __version__}
    return subprocess.run(["bash", str(SMOKE), str(program_dir)], env=env, capture_output=True,
                          text=True, timeout=SMOKE_TIMEOUT_S, check=False)


def test_bundle_passes_the_smoke_test(built: Built) -> None:
    result = _smoke(built.bundle)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: intu-desktop smoke test passed" in result.stdout
    assert "node not found" not in result.stdout  # the TypeScript check really ran


def test_bundle_carries_qt_plugins_decoders_and_the_node_worker(built: Built) -> None:
    internal = built.bundle / "_internal"
    platforms = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    assert (platforms / "libqoffscreen.so").is_file()
    assert (platforms / "libqxcb.so").is_file()
    node = internal / "intu_desktop" / "pipeline" / "node"
    for name in ("worker.mjs", "hooks.mjs", "package.json", "package-lock.json"):
        assert (node / name).is_file(), name
    assert (node / "node_modules" / "typescript" / "package.json").is_file()
    for dist in ("pylibjpeg_openjpeg", "pylibjpeg_libjpeg", "pylibjpeg_rle"):
        found = list(internal.glob(f"{dist}-*.dist-info/entry_points.txt"))
        assert found, f"{dist} metadata (its decoder entry points) is not in the bundle"
    resources = internal / "intu_desktop" / "resources"
    assert (resources / "default_project" / "intu.yaml").is_file()
    assert (resources / "icons" / "intu-desktop-256.png").is_file()

    from PyInstaller.archive.readers import CArchiveReader

    modules = set(CArchiveReader(str(built.bundle / "intu-desktop")).open_embedded_archive("PYZ.pyz").toc)
    assert "intu_desktop.pipeline.runtimes.python_worker" in modules  # started by name, never imported
    assert "fhir.resources.R4B.imagingstudy" in modules  # FHIR R4 output checks
    assert not [m for m in modules if m.startswith("fhir.resources.") and not m.startswith("fhir.resources.R4B")]
    assert not [m for m in modules if m.split(".")[0] in ("pytest", "mypy", "hypothesis")]


def test_deb_installs_the_program_a_menu_entry_and_icons(built: Built, tmp_path: Path) -> None:
    info = subprocess.run(["dpkg-deb", "--field", str(built.deb), "Package", "Version", "Depends"],
                          capture_output=True, text=True, check=True).stdout
    assert "Package: intu-desktop" in info
    assert f"Version: {__version__}" in info
    assert "libxcb-cursor0" in info
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(built.deb), str(root)], check=True)
    assert os.readlink(root / "usr/bin/intu-desktop") == "/opt/intu-desktop/intu-desktop"
    assert os.access(root / "opt/intu-desktop/intu-desktop", os.X_OK)
    desktop = (root / "usr/share/applications/intu-desktop.desktop").read_text(encoding="utf-8")
    assert "Exec=intu-desktop" in desktop and "Icon=intu-desktop" in desktop
    icons = root / "usr/share/icons/hicolor"
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert (icons / f"{size}x{size}" / "apps" / "intu-desktop.png").is_file(), size
    assert (icons / "scalable" / "apps" / "intu-desktop.svg").is_file()
    # What dpkg would install runs like the bundle it was made from.
    result = _smoke(root / "opt" / "intu-desktop")
    assert result.returncode == 0, result.stdout + result.stderr
