#!/usr/bin/env bash
# Builds intu Desktop for Linux: a PyInstaller one-folder bundle and a .deb that installs it.
#
#   installers/linux/build.sh [--build-dir DIR] [--system-site-packages] [--no-deb]
#
#   --build-dir DIR          where the venv, PyInstaller's work files, dist/ and the .deb go
#                            (default: build/linux in the checkout)
#   --system-site-packages   let the build venv see the packages already installed for
#                            $PYTHON (much faster where the app's dependencies and PyInstaller
#                            are installed, as in CI); default: a clean venv from PyPI
#   --no-deb                 stop after the bundle
#
# Environment: PYTHON (default python3, 3.11 or newer, built with --enable-shared),
# DEB_COMPRESSION (xz, gzip, zstd or none; default xz), PYINSTALLER_SPEC (default: our spec).
# Needs node + npm (the TypeScript transpiler is installed with `npm ci`) and dpkg-deb.
# Prints the paths of the bundle and the package at the end.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="$REPO/build/linux"
VENV_FLAGS=()
MAKE_DEB=1
PYTHON="${PYTHON:-python3}"
DEB_COMPRESSION="${DEB_COMPRESSION:-xz}"
SPEC="${PYINSTALLER_SPEC:-$REPO/installers/intu-desktop.spec}"
PYINSTALLER_REQ="pyinstaller>=6.10,<7"

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --system-site-packages) VENV_FLAGS+=(--system-site-packages); shift ;;
    --no-deb) MAKE_DEB=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "== $*"; }
die() { echo "error: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON=...)"
"$PYTHON" - <<'EOF' || die "Python 3.11 or newer with a shared libpython is needed"
import sys, sysconfig
ok = sys.version_info >= (3, 11) and sysconfig.get_config_var("Py_ENABLE_SHARED")
raise SystemExit(0 if ok else 1)
EOF
command -v npm >/dev/null || die "npm not found: it installs the TypeScript transpiler the app ships"
if [ "$MAKE_DEB" = 1 ]; then command -v dpkg-deb >/dev/null || die "dpkg-deb not found"; fi

VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$REPO/intu_desktop/__init__.py")"
[ -n "$VERSION" ] || die "no __version__ in intu_desktop/__init__.py"
say "intu Desktop $VERSION: building in $BUILD_DIR"
mkdir -p "$BUILD_DIR"

# -- 1. build environment -----------------------------------------------------------------
VENV="$BUILD_DIR/venv"
if [ ! -x "$VENV/bin/python" ]; then
  say "creating the build venv ${VENV_FLAGS[*]:-}"
  "$PYTHON" -m venv "${VENV_FLAGS[@]}" "$VENV"
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
say "installing the app's dependencies and PyInstaller"
"$VENV/bin/python" -m pip install -q "$REPO" "$PYINSTALLER_REQ"

# -- 2. the TypeScript transpiler the pipeline ships -----------------------------------------
say "npm ci (TypeScript transpiler)"
npm ci --prefix "$REPO/intu_desktop/pipeline/node" --no-audit --no-fund --loglevel=error

# -- 3. the bundle ----------------------------------------------------------------------------
say "PyInstaller"
DIST="$BUILD_DIR/dist"
rm -rf "$DIST/intu-desktop"
# From inside the build dir: nothing in the checkout's root shadows the installed packages.
(cd "$BUILD_DIR" && "$VENV/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$BUILD_DIR/work" "$SPEC")
BUNDLE="$DIST/intu-desktop"
"$BUNDLE/intu-desktop" --version | grep -qx "intu-desktop $VERSION" \
  || die "the bundle does not report version $VERSION"
echo "bundle: $BUNDLE"
[ "$MAKE_DEB" = 1 ] || exit 0

# -- 4. the .deb --------------------------------------------------------------------------------
say "packaging the .deb"
ARCH="$(dpkg --print-architecture)"
# The bundle carries its libraries but links against the build machine's glibc, and leaves
# out what belongs to the graphics stack and the desktop (PyInstaller's exclude list).
LIBC_VERSION="$(dpkg-query -W -f='${Version}' libc6 2>/dev/null | cut -d- -f1 || true)"
DEPENDS="libc6 (>= ${LIBC_VERSION:-2.31}), libgl1, libegl1, libfontconfig1, libxkbcommon0, libxkbcommon-x11-0, libxcb-cursor0, libdbus-1-3"
ROOT="$BUILD_DIR/deb/intu-desktop_${VERSION}_${ARCH}"
rm -rf "$ROOT"
mkdir -p "$ROOT/DEBIAN" "$ROOT/opt" "$ROOT/usr/bin" "$ROOT/usr/share/applications" \
  "$ROOT/usr/share/doc/intu-desktop"
cp -a "$BUNDLE" "$ROOT/opt/intu-desktop"
ln -s /opt/intu-desktop/intu-desktop "$ROOT/usr/bin/intu-desktop"
install -m 0644 "$REPO/installers/linux/intu-desktop.desktop" "$ROOT/usr/share/applications/"
for png in "$REPO"/resources/icons/png/intu-desktop-*.png; do
  size="$(basename "$png" .png)"; size="${size##*-}"
  [ "$size" -le 512 ] || continue  # hicolor stops at 512
  install -D -m 0644 "$png" "$ROOT/usr/share/icons/hicolor/${size}x${size}/apps/intu-desktop.png"
done
install -D -m 0644 "$REPO/intu_desktop/resources/icons/intu-desktop.svg" \
  "$ROOT/usr/share/icons/hicolor/scalable/apps/intu-desktop.svg"
[ -f "$REPO/LICENSE" ] && install -m 0644 "$REPO/LICENSE" "$ROOT/usr/share/doc/intu-desktop/copyright"
# Debian wants 0755 folders and no group/world-writable files.
find "$ROOT" -type d -exec chmod 0755 {} +
chmod -R go-w "$ROOT"
INSTALLED_KB="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
cat > "$ROOT/DEBIAN/control" <<EOF
Package: intu-desktop
Version: $VERSION
Section: science
Priority: optional
Architecture: $ARCH
Maintainer: intu Desktop maintainers <desktop@intu.dev>
Installed-Size: $INSTALLED_KB
Depends: $DEPENDS
Recommends: nodejs (>= 18)
Suggests: dcmtk
Homepage: https://intu.dev
Description: DICOM receiver that runs intu channels
 intu Desktop receives images from modalities and PACS (C-STORE SCP, optional
 TLS), stores them safely, runs the intu channel's validator and transformer
 (TypeScript or Python) and delivers the results to FHIR servers, PACS and
 files. A window shows associations, received instances with thumbnails and
 every transform; "intu-desktop --headless" runs without a display.
 .
 Node.js is needed only for channels with TypeScript or JavaScript scripts.
EOF
DEB="$BUILD_DIR/intu-desktop_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Z"$DEB_COMPRESSION" --build "$ROOT" "$DEB" >/dev/null
rm -rf "$BUILD_DIR/deb"
echo "bundle: $BUNDLE"
echo "deb: $DEB"
