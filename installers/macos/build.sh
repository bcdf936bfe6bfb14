#!/usr/bin/env bash
# Builds intu Desktop for macOS: "intu Desktop.app" (PyInstaller BUNDLE) and a .dmg.
#
#   installers/macos/build.sh [--build-dir DIR] [--no-dmg]
#
# Environment:
#   PYTHON              the interpreter for the build venv (default python3; python.org's
#                       universal2 3.11+ gives an app for Apple silicon and Intel alike,
#                       Homebrew's gives one for the machine's own architecture)
#   CODESIGN_IDENTITY   "Developer ID Application: NAME (TEAMID)": sign the app and the dmg
#   NOTARY_PROFILE      a notarytool keychain profile: notarize and staple the dmg
#                       (requires CODESIGN_IDENTITY); see installers/README.md
# Needs node + npm (the TypeScript transpiler is installed with `npm ci`) and hdiutil.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD_DIR="$REPO/build/macos"
MAKE_DMG=1
PYTHON="${PYTHON:-python3}"
ENTITLEMENTS="$REPO/installers/macos/entitlements.plist"
APP_NAME="intu Desktop"

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD_DIR="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2 ;;
    --no-dmg) MAKE_DMG=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "== $*"; }
die() { echo "error: $*" >&2; exit 1; }

[ "$(uname -s)" = "Darwin" ] || die "build the macOS app on macOS"
command -v npm >/dev/null || die "npm not found: it installs the TypeScript transpiler the app ships"
if [ -n "${NOTARY_PROFILE:-}" ] && [ -z "${CODESIGN_IDENTITY:-}" ]; then
  die "NOTARY_PROFILE needs CODESIGN_IDENTITY: Apple notarizes signed apps only"
fi

VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$REPO/intu_desktop/__init__.py")"
[ -n "$VERSION" ] || die "no __version__ in intu_desktop/__init__.py"
say "intu Desktop $VERSION: building in $BUILD_DIR"
mkdir -p "$BUILD_DIR"

# -- 1. build environment -------------------------------------------------------------------
VENV="$BUILD_DIR/venv"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
export PIP_DISABLE_PIP_VERSION_CHECK=1
say "installing the app's dependencies and PyInstaller"
"$VENV/bin/python" -m pip install -q "$REPO" "pyinstaller>=6.10,<7"

# -- 2. the TypeScript transpiler the pipeline ships -----------------------------------------
say "npm ci (TypeScript transpiler)"
npm ci --prefix "$REPO/intu_desktop/pipeline/node" --no-audit --no-fund --loglevel=error

# -- 3. the app -------------------------------------------------------------------------------
say "PyInstaller"
DIST="$BUILD_DIR/dist"
rm -rf "$DIST/intu-desktop" "$DIST/$APP_NAME.app"
(cd "$BUILD_DIR" && "$VENV/bin/python" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$BUILD_DIR/work" "$REPO/installers/intu-desktop.spec")
APP="$DIST/$APP_NAME.app"
[ -d "$APP" ] || die "PyInstaller made no $APP"
"$APP/Contents/MacOS/intu-desktop" --version | grep -qx "intu-desktop $VERSION" \
  || die "the app does not report version $VERSION"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  say "signing the app (hardened runtime)"
  # Inside out: every library and executable first, then the bundle itself.
  find "$APP/Contents" -type f \( -name "*.so" -o -name "*.dylib" -o -perm -u+x \) -print0 |
    while IFS= read -r -d '' file; do
      if file -b "$file" | grep -q "Mach-O"; then
        codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" \
          --sign "$CODESIGN_IDENTITY" "$file"
      fi
    done
  codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" \
    --sign "$CODESIGN_IDENTITY" "$APP"
  codesign --verify --deep --strict --verbose=2 "$APP"
fi
echo "app: $APP"
[ "$MAKE_DMG" = 1 ] || exit 0

# -- 4. the disk image ------------------------------------------------------------------------
say "disk image"
STAGE="$BUILD_DIR/dmg"
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"  # drag the app onto it to install
DMG="$BUILD_DIR/intu-desktop-$VERSION.dmg"
rm -f "$DMG"
hdiutil create -volname "$APP_NAME $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
rm -rf "$STAGE"

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --force --timestamp --sign "$CODESIGN_IDENTITY" "$DMG"
fi
if [ -n "${NOTARY_PROFILE:-}" ]; then
  say "notarizing (this waits for Apple's answer)"
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
  xcrun stapler validate "$DMG"
  spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
fi
echo "dmg: $DMG"
