#!/usr/bin/env bash
# Smoke test of a built intu Desktop: the bundle folder (dist/intu-desktop) or an installed
# program (/opt/intu-desktop).
#
#   installers/linux/smoke_test.sh BUNDLE_DIR
#
# Checks, each on temporary config and data folders:
#   1. --version prints the package version;
#   2. `validate` accepts the default project (created on the fly);
#   3. headless: DCMTK storescu sends are stored, and the channel scripts run inside the
#      bundle: a TypeScript transformer (bundled worker + transpiler; skipped without node)
#      and a `runtime: python` transformer that decodes the JPEG Lossless image it got
#      (the bundled pylibjpeg plugins); both results land in a file destination; SIGTERM
#      ends the program with exit code 0;
#   4. the window starts offscreen (QT_QPA_PLATFORM=offscreen) and quits on SIGTERM with 0.
# Needs DCMTK (dump2dcm, dcmcjpeg, echoscu, storescu) in /usr/bin: pynetdicom's console scripts of the
# same names may shadow them on PATH. Exit code 0 when every check passed.
set -euo pipefail

BUNDLE="${1:?usage: smoke_test.sh BUNDLE_DIR}"
EXE="$BUNDLE/intu-desktop"
DCMTK="${DCMTK_BIN:-/usr/bin}"
START_TIMEOUT_S="${SMOKE_START_TIMEOUT_S:-60}"
RESULT_TIMEOUT_S="${SMOKE_RESULT_TIMEOUT_S:-90}"
STOP_TIMEOUT_S="${SMOKE_STOP_TIMEOUT_S:-15}"

[ -x "$EXE" ] || { echo "FAIL: $EXE is not an executable" >&2; exit 1; }
for tool in dump2dcm dcmcjpeg echoscu storescu; do
  [ -x "$DCMTK/$tool" ] || { echo "FAIL: DCMTK $DCMTK/$tool not found (apt-get install dcmtk)" >&2; exit 1; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/intu-smoke.XXXXXX")"
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  if [ "${SMOKE_KEEP:-0}" = "1" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

export INTU_DESKTOP_CONFIG_DIR="$WORK/config"
export INTU_DESKTOP_DATA_DIR="$WORK/default-data"
# The program must not pick up a developer's checkout or virtualenv.
unset PYTHONPATH PYTHONHOME VIRTUAL_ENV

step() { echo "== $*"; }
fail() {
  echo "FAIL: $*" >&2
  for log in "$WORK"/*/logs/intu-desktop.log "$WORK"/*.out; do
    [ -f "$log" ] && { echo "--- $log" >&2; tail -n 40 "$log" >&2; }
  done
  exit 1
}

# A port nothing listens on: ask the kernel when python3 is there, else try random ones.
free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    return
  fi
  local port
  while :; do
    port=$(( 20000 + RANDOM % 40000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# A fresh UID under 2.25 (PS3.5 B.2: UUID-derived root); 64 random bits are plenty here.
new_uid() { echo "2.25.$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')"; }

make_object() {  # make_object FILE: a small CT image (pixels 0 256 512 768) with fresh UIDs
  local sop
  sop="$(new_uid)"
  cat > "$1.dump" <<EOF
(0008,0016) UI =CTImageStorage
(0008,0018) UI [$sop]
(0008,0020) DA [20240102]
(0008,0030) TM [101500]
(0008,0060) CS [CT]
(0008,1030) LO [intu Desktop smoke test]
(0010,0010) PN [Smoke^Test]
(0010,0020) LO [SMOKE-1]
(0020,000d) UI [$(new_uid)]
(0020,000e) UI [$(new_uid)]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 2
(0028,0011) US 2
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 0
(7fe0,0010) OW 0000\0100\0200\0300
EOF
  "$DCMTK/dump2dcm" +te "$1.dump" "$1" || fail "dump2dcm could not write $1"
  echo "$sop"
}

write_channel() {  # write_channel DIR ID PORT [RUNTIME ENTRYPOINT]
  mkdir -p "$1"
  {
    echo "id: $2"
    echo "enabled: true"
    echo "listener:"
    echo "  type: dicom"
    echo "  dicom:"
    echo "    port: $3"
    echo "    ae_title: INTU_SCP"
    if [ $# -ge 5 ]; then
      echo "transformer:"
      echo "  runtime: $4"
      echo "  entrypoint: $5"
    fi
    echo "destinations:"
    echo "  - name: results"
    echo "    type: file"
    echo "    file:"
    echo "      directory: \"$WORK/results\""
  } > "$1/channel.yaml"
}

wait_listening() {  # wait_listening PORT
  local deadline=$(( SECONDS + START_TIMEOUT_S ))
  while (( SECONDS < deadline )); do
    kill -0 "$PID" 2>/dev/null || fail "the program exited before listening on port $1"
    "$DCMTK/echoscu" -aet SMOKE -aec INTU_SCP 127.0.0.1 "$1" >/dev/null 2>&1 && return 0
    sleep 0.3
  done
  fail "nothing answered a C-ECHO on port $1 within ${START_TIMEOUT_S}s"
}

wait_result() {  # wait_result TEXT: a file destination result containing TEXT
  local deadline=$(( SECONDS + RESULT_TIMEOUT_S ))
  while (( SECONDS < deadline )); do
    grep -rqsF -- "$1" "$WORK/results" && return 0
    sleep 0.3
  done
  fail "no result containing '$1' in $WORK/results within ${RESULT_TIMEOUT_S}s"
}

stop_program() {  # stop_program WHAT: SIGTERM, then expect exit 0 in time
  kill -TERM "$PID"
  local deadline=$(( SECONDS + STOP_TIMEOUT_S ))
  while kill -0 "$PID" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
  kill -0 "$PID" 2>/dev/null && fail "$1 did not stop within ${STOP_TIMEOUT_S}s of SIGTERM"
  local code=0
  wait "$PID" || code=$?
  PID=""
  [ "$code" = "0" ] || fail "$1 exited with code $code after SIGTERM"
}

# -- 1. --version -----------------------------------------------------------------------------
step "version"
version_out="$("$EXE" --version)" || fail "--version exited non-zero"
echo "$version_out"
[[ "$version_out" =~ ^intu-desktop\ [0-9]+\.[0-9]+ ]] || fail "unexpected --version output: $version_out"
if [ -n "${SMOKE_EXPECT_VERSION:-}" ] && [ "$version_out" != "intu-desktop $SMOKE_EXPECT_VERSION" ]; then
  fail "expected version $SMOKE_EXPECT_VERSION, got: $version_out"
fi

# -- 2. validate the default project -------------------------------------------------------
step "validate the default project"
validate_out="$("$EXE" validate 2>&1)" || fail "validate of the default project failed: $validate_out"
echo "$validate_out"
[ -f "$INTU_DESKTOP_CONFIG_DIR/default-project/intu.yaml" ] || fail "the default project was not created"

# -- 3. headless receive, with scripts run by the bundle ---------------------------------
step "headless receive"
channels=()
ts_port="" py_port="$(free_port)"
write_channel "$WORK/channels/python" smoke-python "$py_port" python transformer.py
cat > "$WORK/channels/python/transformer.py" <<'EOF'
import json
import xml.etree.ElementTree  # noqa: F401  (standard library modules come with the bundle)

import pydicom


def transform(msg):
    data = json.loads(msg["body"])
    ds = pydicom.dcmread(data["storagePath"])
    print("python transformer ran")
    return {"success": True, "contentType": "application/json",
            "body": json.dumps({"via": "python", "sop": data["sopInstanceUid"],
                                "transferSyntax": str(ds.file_meta.TransferSyntaxUID),
                                "pixelSum": int(ds.pixel_array.sum())})}
EOF
channels+=(--channel "$WORK/channels/python/channel.yaml")
if command -v node >/dev/null 2>&1; then
  ts_port="$(free_port)"
  while [ "$ts_port" = "$py_port" ]; do ts_port="$(free_port)"; done
  write_channel "$WORK/channels/typescript" smoke-typescript "$ts_port" node transformer.ts
  cat > "$WORK/channels/typescript/transformer.ts" <<'EOF'
interface Message { body: string }
interface Result { success: boolean; body: string; contentType: string }

export default function transform(msg: Message): Result {
  const data = JSON.parse(msg.body) as { sopInstanceUid: string };
  return { success: true, contentType: "application/json",
           body: JSON.stringify({ via: "typescript", sop: data.sopInstanceUid }) };
}
EOF
  channels+=(--channel "$WORK/channels/typescript/channel.yaml")
else
  echo "node not found: the TypeScript check is skipped"
fi

"$EXE" validate "${channels[@]}" || fail "validate of the smoke channels failed"
"$EXE" --headless "${channels[@]}" --data-dir "$WORK/headless" > "$WORK/headless.out" 2>&1 &
PID=$!
wait_listening "$py_port"
py_sop="$(make_object "$WORK/python-raw.dcm")"
# JPEG Lossless (PS3.5 A.4.1): only the bundled pylibjpeg-libjpeg plugin can decode it.
"$DCMTK/dcmcjpeg" "$WORK/python-raw.dcm" "$WORK/python.dcm" || fail "dcmcjpeg failed"
"$DCMTK/storescu" -xs -aet SMOKE -aec INTU_SCP 127.0.0.1 "$py_port" "$WORK/python.dcm" \
  || fail "storescu to the python channel failed"
if [ -n "$ts_port" ]; then
  wait_listening "$ts_port"
  ts_sop="$(make_object "$WORK/typescript.dcm")"
  "$DCMTK/storescu" -aet SMOKE -aec INTU_SCP 127.0.0.1 "$ts_port" "$WORK/typescript.dcm" \
    || fail "storescu to the typescript channel failed"
fi
find "$WORK/headless/store" -name "$py_sop.dcm" | grep -q . || fail "the object sent is not in the store"
wait_result "\"sop\": \"$py_sop\", \"transferSyntax\": \"1.2.840.10008.1.2.4.70\", \"pixelSum\": 1536"
if [ -n "$ts_port" ]; then
  wait_result "\"sop\":\"$ts_sop\""
  # The bundle's own transpiler did the work: nothing was fetched with npm.
  [ ! -e "$WORK/headless/node-toolchain" ] || fail "the bundled TypeScript transpiler was not used"
fi
grep -q "stored $py_sop" "$WORK/headless.out" || fail "no 'stored' line on stdout"
if grep -q "Smoke^Test\|SMOKE-1" "$WORK/headless.out" "$WORK/headless/logs/"*; then
  fail "a patient name or ID reached the log"
fi
stop_program "headless mode"

# -- 4. the window, offscreen -----------------------------------------------------------------
step "window start and quit (offscreen)"
win_port="$(free_port)"
write_channel "$WORK/channels/window" smoke-window "$win_port"
QT_QPA_PLATFORM=offscreen "$EXE" --channel "$WORK/channels/window/channel.yaml" \
  --data-dir "$WORK/window" > "$WORK/window.out" 2>&1 &
PID=$!
deadline=$(( SECONDS + START_TIMEOUT_S ))
until grep -qs "window open" "$WORK/window/logs/intu-desktop.log"; do
  kill -0 "$PID" 2>/dev/null || fail "the window program exited during start"
  (( SECONDS < deadline )) || fail "the window did not open within ${START_TIMEOUT_S}s"
  sleep 0.3
done
wait_listening "$win_port"
stop_program "the window"
if grep -qi "traceback\|could not load the qt platform plugin" "$WORK/window.out"; then
  fail "the window printed an error"
fi

echo "OK: intu-desktop smoke test passed ($BUNDLE)"
