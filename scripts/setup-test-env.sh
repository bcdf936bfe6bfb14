#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine:
# real peers (DCMTK, Orthanc, Node.js), the Qt runtime libraries for offscreen tests,
# the Python package with its test extra, and the TypeScript transpiler the pipeline ships.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  dcmtk orthanc nodejs npm xvfb e2fsprogs
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
  libxcb-render-util0 libxcb-image0 libxcb-xkb1 libx11-xcb1
)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# Node.js may come from elsewhere (nvm, NodeSource): only ask apt when there is no node at all.
if command -v node >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python3 -m pip install -q --upgrade pip
python3 -m pip install -q -e '.[test]'
npm ci --prefix intu_desktop/pipeline/node --no-audit --no-fund --loglevel=error
