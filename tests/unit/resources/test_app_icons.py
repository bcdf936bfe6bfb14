"""The application icon files: every size each platform needs, in containers they can read."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGE_ICONS = REPO / "intu_desktop" / "resources" / "icons"
PLATFORM_ICONS = REPO / "resources" / "icons"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC, "not a PNG stream"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_source_svg_is_packaged() -> None:
    text = (PACKAGE_ICONS / "intu-desktop.svg").read_text(encoding="utf-8")
    assert "<svg" in text and 'viewBox="0 0 1024 1024"' in text
    assert "<text" not in text  # renders the same whatever fonts a machine has


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256])
def test_packaged_window_icons(size: int) -> None:
    assert png_size((PACKAGE_ICONS / f"intu-desktop-{size}.png").read_bytes()) == (size, size)


@pytest.mark.parametrize("size", [16, 22, 24, 32, 48, 64, 96, 128, 256, 512, 1024])
def test_linux_hicolor_pngs(size: int) -> None:
    assert png_size((PLATFORM_ICONS / "png" / f"intu-desktop-{size}.png").read_bytes()) == (size, size)


def test_windows_ico_holds_the_shell_sizes() -> None:
    data = (PLATFORM_ICONS / "intu-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = set()
    for i in range(count):
        width, height, _colors, _res, planes, bits, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i: 22 + 16 * i])
        declared = width or 256
        assert (width, height, planes, bits) == (width, height, 1, 32)
        assert png_size(data[offset:offset + length]) == (declared, declared)
        assert offset + length <= len(data)
        sizes.add(declared)
    assert {16, 24, 32, 48, 256} <= sizes


def test_macos_icns_holds_every_retina_pair() -> None:
    data = (PLATFORM_ICONS / "intu-desktop.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    elements = {}
    pos = 8
    while pos < len(data):
        kind, length = data[pos:pos + 4], struct.unpack(">I", data[pos + 4:pos + 8])[0]
        assert length >= 8 and pos + length <= len(data)
        elements[kind] = data[pos + 8:pos + length]
        pos += length
    expected = {b"ic11": 32, b"ic12": 64, b"ic07": 128, b"ic13": 256, b"ic08": 256,
                b"ic14": 512, b"ic09": 512, b"ic10": 1024}
    for kind, size in expected.items():
        assert png_size(elements[kind]) == (size, size), kind
