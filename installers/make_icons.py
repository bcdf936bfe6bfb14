"""Renders the application icon from its one SVG into every file the platforms need.

    python installers/make_icons.py

Source: intu_desktop/resources/icons/intu-desktop.svg. Writes (all committed, so building an
installer needs no image tools):
- intu_desktop/resources/icons/intu-desktop-<N>.png, N in 16..256: the window and tray icon;
- resources/icons/png/intu-desktop-<N>.png, N in 16..1024: Linux hicolor theme, docs;
- resources/icons/intu-desktop.ico: Windows (exe, installer, Start menu), PNG-compressed
  entries as Windows Vista and later read them;
- resources/icons/intu-desktop.icns: macOS, the artwork inset to Apple's icon grid (824 of
  1024 pixels) so it sits in the Dock like its neighbours.
Only PySide6 (QtSvg, QtGui) is needed; .ico and .icns are plain containers of PNG data, written
here byte by byte.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

REPO = Path(__file__).resolve().parent.parent
SVG = REPO / "intu_desktop" / "resources" / "icons" / "intu-desktop.svg"
PACKAGE_ICONS = SVG.parent
PLATFORM_ICONS = REPO / "resources" / "icons"

PACKAGE_SIZES = (16, 24, 32, 48, 64, 128, 256)
# freedesktop hicolor sizes, plus 1024 for stores and documentation.
PNG_SIZES = (16, 22, 24, 32, 48, 64, 96, 128, 256, 512, 1024)
# What the Windows shell asks for at 100-300 % scaling.
ICO_SIZES = (16, 20, 24, 32, 40, 48, 64, 256)
# icns element types holding PNG data, with their pixel size (Apple's Icon Composer set).
ICNS_TYPES = (
    (b"ic11", 32), (b"ic12", 64), (b"ic07", 128), (b"ic13", 256),
    (b"ic08", 256), (b"ic14", 512), (b"ic09", 512), (b"ic10", 1024),
)
MAC_ARTWORK_SCALE = 824 / 1024


def render_png(renderer: QSvgRenderer, size: int, scale: float = 1.0) -> bytes:
    """The SVG drawn into a transparent size x size square, optionally inset, as PNG bytes."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    side = size * scale
    offset = (size - side) / 2
    renderer.render(painter, QRectF(offset, offset, side, side))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, b"PNG"):
        raise RuntimeError(f"could not encode the {size} px icon as PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose images are PNG streams (ICONDIR + ICONDIRENTRY per image)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))  # reserved, type 1 = icon, count
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        data = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def icns_bytes(elements: list[tuple[bytes, bytes]]) -> bytes:
    """An icns file: 'icns' + length, a table of contents, then (type, length, PNG) elements."""
    toc = b"".join(kind + struct.pack(">I", len(data) + 8) for kind, data in elements)
    body = b"TOC " + struct.pack(">I", len(toc) + 8) + toc
    body += b"".join(kind + struct.pack(">I", len(data) + 8) + data for kind, data in elements)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    print(f"{path.relative_to(REPO)}  ({len(data)} bytes)")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (needed by QPainter)
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        print(f"{SVG} is not a valid SVG", file=sys.stderr)
        return 1
    cache: dict[tuple[int, float], bytes] = {}

    def png(size: int, scale: float = 1.0) -> bytes:
        if (size, scale) not in cache:
            cache[(size, scale)] = render_png(renderer, size, scale)
        return cache[(size, scale)]

    for size in PACKAGE_SIZES:
        write(PACKAGE_ICONS / f"intu-desktop-{size}.png", png(size))
    for size in PNG_SIZES:
        write(PLATFORM_ICONS / "png" / f"intu-desktop-{size}.png", png(size))
    write(PLATFORM_ICONS / "intu-desktop.ico", ico_bytes({s: png(s) for s in ICO_SIZES}))
    write(PLATFORM_ICONS / "intu-desktop.icns",
          icns_bytes([(kind, png(size, MAC_ARTWORK_SCALE)) for kind, size in ICNS_TYPES]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
