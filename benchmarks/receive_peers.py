"""The receivers the benchmark compares, and DCMTK's storescu as the one sender.

Each receiver runs as its own process on a free port, in its own folder, and is stopped
with SIGTERM. Peak memory is the receiver's `VmHWM` read from /proc just before the
signal: it belongs to the process's own address space, so unlike `ru_maxrss` it never
includes the RSS of the parent that forked it. The window receives in processes of its
own (`intu_desktop/dicom/receiver_process.py`): its figure is the sum over the app's
Python processes (the window's and every multiprocessing child's), each at its own peak,
so it can only overstate. Node.js workers are not counted (they were not before either).

DCMTK is called by absolute path: pynetdicom installs Python console scripts named
`storescu` and `storescp` that shadow DCMTK's on PATH. DCMTK's network layer reads the
environment variable TCP_NODELAY (libdcmnet: "disabling Nagle algorithm as requested at
runtime"); since 3.6.2 it leaves Nagle on by default, as the modalities we meet do.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parents[1]
TRANSFORMER = Path(__file__).resolve().parent / "receive_channel" / "transformer.ts"
CALLING_AE, CALLED_AE = "CT_SCANNER_1", "INTU_SCP"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0


def dcmtk(name: str) -> str:
    for folder in ("/usr/bin", "/usr/local/bin", "/opt/homebrew/bin"):
        path = Path(folder) / name
        if path.exists():
            return str(path)
    raise FileNotFoundError(f"DCMTK {name} is not installed (apt-get install dcmtk)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(nodelay: bool, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TCP_NODELAY"}
    if nodelay:
        env["TCP_NODELAY"] = "1"
    env.update(extra)
    return env


class ReceiverUnavailable(RuntimeError):
    """The receiver could not start (for the window: no GUI in this build yet)."""


@dataclass(frozen=True)
class ReceiverKind:
    key: str
    label: str
    app: bool = False
    window: bool = False
    tcp_tuning: bool = True
    nodelay: bool = False  # DCMTK pair: TCP_NODELAY=1 for storescp *and* storescu

    def command(self, port: int, folder: Path) -> tuple[list[str], dict[str, str]]:
        if not self.app:
            return [dcmtk("storescp"), "-od", str(self.store_dir(folder)), str(port)], _env(self.nodelay)
        channel = write_channel(folder / "channel", port, tcp_tuning=self.tcp_tuning,
                                deliveries=folder / "deliveries")
        argv = [sys.executable, "-m", "intu_desktop", "--channel", str(channel), "--data-dir", str(folder / "data")]
        if not self.window:
            return [*argv[:3], "--headless", *argv[3:]], _env(False, PYTHONUNBUFFERED="1")
        return argv, _env(False, QT_QPA_PLATFORM="offscreen")

    def store_dir(self, folder: Path) -> Path:
        return folder / "data" / "store" if self.app else folder / "storescp"


RECEIVERS = (
    ReceiverKind("storescp", "DCMTK storescp"),
    ReceiverKind("nodelay", "DCMTK pair, TCP_NODELAY both ends", nodelay=True),
    ReceiverKind("headless", "intu-desktop --headless", app=True),
    ReceiverKind("no-tuning", "intu-desktop --headless, tcp_tuning off", app=True, tcp_tuning=False),
    ReceiverKind("window", "intu-desktop window (offscreen)", app=True, window=True),
)


def write_channel(folder: Path, port: int, *, tcp_tuning: bool, deliveries: Path) -> Path:
    """The spec's pipeline: its TypeScript transformer, output delivered to a folder."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(TRANSFORMER, folder / "transformer.ts")
    text = (
        "id: bench-receive\n"
        "enabled: true\n"
        "listener:\n"
        "  type: dicom\n"
        "  dicom:\n"
        f"    port: {port}\n"
        f"    ae_title: {CALLED_AE}\n"
        f"    tcp_tuning: {'true' if tcp_tuning else 'false'}\n"
        "transformer:\n"
        "  runtime: node\n"
        "  entrypoint: transformer.ts\n"
        "destinations:\n"
        "  - name: imaging-study-files\n"
        "    type: file\n"
        "    file:\n"
        f"      directory: {deliveries}\n"
    )
    path = folder / "channel.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class SendResult:
    seconds: float
    returncode: int
    error: str = ""


def storescu(port: int, files: Sequence[str], *, nodelay: bool, timeout: float = 3600) -> subprocess.Popen[bytes]:
    """Start DCMTK storescu in its default settings (one association for all files)."""
    argv = [dcmtk("storescu"), "-aet", CALLING_AE, "-aec", CALLED_AE, "127.0.0.1", str(port), *files]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(nodelay))


def send(port: int, files: Sequence[str], *, nodelay: bool) -> SendResult:
    started = time.perf_counter()
    proc = storescu(port, files, nodelay=nodelay)
    _, err = proc.communicate()
    return SendResult(time.perf_counter() - started, proc.returncode, _last_line(err))


def send_concurrently(port: int, file_sets: Sequence[Sequence[str]], *, nodelay: bool) -> SendResult:
    """All senders start together; the time runs until the last one is done."""
    started = time.perf_counter()
    procs = [storescu(port, files, nodelay=nodelay) for files in file_sets]
    errors = []
    for proc in procs:
        _, err = proc.communicate()
        errors.append((proc.returncode, _last_line(err)))
    seconds = time.perf_counter() - started
    failed = [(rc, e) for rc, e in errors if rc != 0]
    return SendResult(seconds, failed[0][0] if failed else 0, f"{len(failed)} sender(s) failed: {failed[0][1]}"
                      if failed else "")


def _last_line(err: bytes | None) -> str:
    lines = (err or b"").decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def _proc_status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class RunningReceiver:
    def __init__(self, kind: ReceiverKind, folder: Path) -> None:
        self.kind = kind
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.exit_code: int | None = None
        self.peak_rss_mb = 0.0

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.kind.store_dir(self.folder).mkdir(parents=True, exist_ok=True)
        argv, env = self.kind.command(self.port, self.folder)
        with open(self.folder / "stdout.log", "wb") as out, open(self.folder / "stderr.log", "wb") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=REPO)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = (self.folder / "stderr.log").read_text("utf-8", "replace").strip().splitlines()
                raise ReceiverUnavailable(text[-1] if text else f"exited with {self.proc.returncode}")
            try:
                if self._echo():
                    if self.kind.app:
                        self._wait_pipeline_ready(deadline)
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.1)
        self.stop()
        raise ReceiverUnavailable(f"no C-ECHO answer on port {self.port} within {START_TIMEOUT_S:.0f} s")

    def _wait_pipeline_ready(self, deadline: float) -> None:
        """The app loads its scripts in the background at start (a workstation that runs all
        day is warm when a study arrives): the clock starts once it says so in its log."""
        log_file = self.folder / "data" / "logs" / "intu-desktop.log"
        while time.monotonic() < deadline:
            try:
                if "pipeline ready" in log_file.read_text("utf-8", "replace"):
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise ReceiverUnavailable("no 'pipeline ready' line in its log")

    def _echo(self) -> bool:
        # Also the warm-up: every receiver answers one association before the clock runs.
        argv = [dcmtk("echoscu"), "-aet", CALLING_AE, "-aec", CALLED_AE, "-to", "5", "127.0.0.1", str(self.port)]
        return subprocess.run(argv, capture_output=True, timeout=30, env=_env(False), check=False).returncode == 0

    def _python_pids(self) -> list[int]:
        """The app's process and its multiprocessing children (receivers, resource tracker)."""
        assert self.proc is not None
        pids = [self.proc.pid]
        try:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                if any("multiprocessing" in part for part in child.cmdline()):
                    pids.append(child.pid)
        except psutil.Error:
            pass
        return pids

    def rss_mb(self) -> float:
        return sum(_proc_status_kib(pid, "VmRSS") for pid in self._python_pids()) / 1024

    def stop(self) -> None:
        proc = self.proc
        if proc is None or self.exit_code is not None:
            return
        self.peak_rss_mb = sum(_proc_status_kib(pid, "VmHWM") for pid in self._python_pids()) / 1024
        try:
            children = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            children = []
        proc.send_signal(signal.SIGTERM)
        try:
            self.exit_code = proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            self.exit_code = proc.wait()
        # Node workers the app started: they should be gone with it; end any that are not.
        for child in children:
            try:
                child.kill()
            except psutil.Error:
                pass

    # -- what the receiver wrote ------------------------------------------------------
    def stored_files(self) -> list[Path]:
        root = self.kind.store_dir(self.folder)
        return [p for p in root.rglob("*") if p.is_file() and ".rev-" not in p.name and
                (not self.kind.app or p.suffix == ".dcm")]

    def revisions(self) -> int:
        return sum(1 for _ in self.kind.store_dir(self.folder).rglob("*.rev-*"))

    def index_counts(self) -> dict[str, int]:
        """Rows, distinct SOP Instance UIDs, duplicates and pipeline progress from the app's index."""
        if not self.kind.app:
            return {}
        path = self.folder / "data" / "index.sqlite3"
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT sop_uid), coalesce(sum(duplicates), 0), "
                "coalesce(sum(revisions), 0), coalesce(sum(pipeline_status = 'pending'), 0), "
                "coalesce(sum(pipeline_status NOT IN ('pending', 'ok')), 0) FROM instances").fetchone()
        finally:
            conn.close()
        keys = ("rows", "distinct", "duplicates", "revisions", "pending", "failed")
        return dict(zip(keys, map(int, row)))

    def wait_pipeline(self, timeout: float = 900) -> bool:
        """Wait until no stored instance is still waiting for its pipeline run."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.index_counts().get("pending", 0) == 0:
                return True
            time.sleep(0.05)
        return False

    def ui_stalls(self) -> int:
        logs = self.folder / "data" / "logs"
        count = 0
        for path in logs.glob("intu-desktop.log*"):
            with open(path, encoding="utf-8", errors="replace") as fh:
                count += sum(1 for line in fh if "ui-stall" in line)
        return count

    def cleanup(self) -> None:
        """Free the disk: received copies of the 1 GB object add up."""
        shutil.rmtree(self.folder, ignore_errors=True)
