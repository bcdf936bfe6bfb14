"""`intu-desktop echo` and `send` against real DCMTK peers (storescp, dcmqrscp) over loopback.

Note: pynetdicom installs its own `storescp`/`echoscu` scripts, which may come first on
PATH; the peers here must be DCMTK's, so they are looked up by their --version banner.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil
import pytest
import trustme
from pydicom import dcmread
from pydicom.data import get_testdata_file

from intu_desktop.dicom.client_tls import ClientTls
from intu_desktop.dicom.scu import SendResult, cli_echo, cli_send, echo, send

SAMPLES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "JPEG2000.dcm",
    "MR_small_RLE.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
]


@functools.cache
def _dcmtk(program: str) -> str | None:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / program
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        with open(candidate, "rb") as head:
            if head.read(2) == b"#!":  # a script (pyenv shim, pynetdicom app): not DCMTK
                continue
        try:
            banner = subprocess.run(
                [str(candidate), "--version"],
                check=False,
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        if "$dcmtk:" in banner:
            return str(candidate)
    return None


def _require(program: str) -> str:
    path = _dcmtk(program)
    if path is None:
        pytest.skip(f"DCMTK {program} not installed")
    return path


def _sample(name: str) -> Path:
    return Path(str(get_testdata_file(name)))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Peer:
    port: int
    aet: str
    out_dir: Path
    log: Path


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the process listens on `port` (read from the OS: no probe association)."""
    deadline = time.monotonic() + 15
    handle = psutil.Process(proc.pid)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"peer exited with {proc.returncode}: {log.read_text()}")
        listening = any(
            c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
            for c in handle.net_connections(kind="tcp")
        )
        if listening:
            return
        time.sleep(0.02)
    raise RuntimeError(f"peer did not listen on {port}: {log.read_text()}")


class StartPeer(Protocol):
    def __call__(self, program: str, args: list[str], aet: str, name: str = ...) -> Peer: ...


@pytest.fixture
def start_peer(tmp_path: Path) -> Iterator[StartPeer]:
    """Start a DCMTK program listening on a free port; every process is ended at teardown."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(program: str, args: list[str], aet: str, name: str = "peer") -> Peer:
        binary = _require(program)
        port = _free_port()
        out_dir = tmp_path / f"{name}-out"
        out_dir.mkdir()
        log = tmp_path / f"{name}.log"
        argv = [binary, *[a.format(port=port, out=out_dir) for a in args], str(port)]
        with open(log, "wb") as log_file:
            proc = subprocess.Popen(
                argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        procs.append(proc)
        _wait_listening(proc, port, log)
        return Peer(port, aet, out_dir, log)

    yield start
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _storescp(start_peer: StartPeer, *extra: str, name: str = "storescp") -> Peer:
    return start_peer(
        "storescp", ["--aetitle", "STORESCP", "-od", "{out}", *extra], "STORESCP", name
    )


# --- echo ---------------------------------------------------------------------------------


def test_echo_succeeds_and_prints_rtt(
    start_peer: StartPeer, capsys: pytest.CaptureFixture[str]
) -> None:
    peer = _storescp(start_peer)
    code = cli_echo(["127.0.0.1", str(peer.port), "--aec", "STORESCP"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert re.search(
        rf"C-ECHO to STORESCP@127\.0\.0\.1:{peer.port}: success \(0x0000\) in \d+\.\d ms", out
    ), out


def test_echo_wrong_called_ae_is_rejected_in_words(
    start_peer: StartPeer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # DCMTK's storescp answers any called AE; dcmqrscp checks it against its AE table.
    db = tmp_path / "db"
    db.mkdir()
    config = tmp_path / "dcmqrscp.cfg"
    config.write_text(
        "NetworkTCPPort = 104\nMaxPDUSize = 16384\nMaxAssociations = 4\n"
        "HostTable BEGIN\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\nQRSCP {db} RW (10, 1024mb) ANY\nAETable END\n"
    )
    # No reverse DNS lookup of the caller (slow or hanging on machines without a resolver)
    # and no fork per association: the answer must not depend on the host's name service.
    peer = start_peer(
        "dcmqrscp", ["--disable-host-lookup", "--single-process", "-c", str(config)], "QRSCP"
    )

    code = cli_echo(["127.0.0.1", str(peer.port), "--aec", "WRONG", "--timeout", "30"])
    err = capsys.readouterr().err
    assert code == 1
    assert "called AE title not recognized" in err
    assert "rejected (permanent)" in err

    result = echo("127.0.0.1", peer.port, aec="QRSCP")
    assert result.ok and result.status == 0 and result.rtt_ms is not None


def test_echo_connection_refused(capsys: pytest.CaptureFixture[str]) -> None:
    port = _free_port()  # nobody listens there any more
    code = cli_echo(["127.0.0.1", str(port), "--timeout", "5"])
    assert code == 1
    assert "connection refused" in capsys.readouterr().err


def test_echo_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli_echo(["127.0.0.1"]) == 2
    assert cli_echo(["127.0.0.1", "not-a-port"]) == 2
    assert cli_echo(["127.0.0.1", "104", "--tls-ca", str(tmp_path / "missing.pem")]) == 2
    assert "TLS CA file not found" in capsys.readouterr().err


# --- send ---------------------------------------------------------------------------------


def _sample_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "to-send"
    (folder / "nested").mkdir(parents=True)
    for index, name in enumerate(SAMPLES):
        target = folder / ("nested" if index % 2 else "") / name
        shutil.copy(_sample(name), target)
    (folder / "notes.txt").write_text("not DICOM\n")
    return folder


def test_send_sample_files_arrive(
    start_peer: StartPeer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    peer = _storescp(start_peer, "+xa")  # accept compressed syntaxes too
    folder = _sample_folder(tmp_path)

    code = cli_send(["127.0.0.1", str(peer.port), str(folder), "--aec", "STORESCP"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    ok_lines = [line for line in lines if line.startswith("OK    0x0000")]
    assert len(ok_lines) == len(SAMPLES), out
    assert any(line.startswith("SKIP  not a DICOM file") for line in lines), out
    assert f"Sent {len(SAMPLES)} of {len(SAMPLES)} DICOM files" in lines[-1]
    assert "0 failed, 1 skipped" in lines[-1]

    # storescp names files <modality>.<SOP Instance UID>; MR_small and MR_small_RLE share one.
    sent = {str(dcmread(_sample(n), stop_before_pixels=True).SOPInstanceUID) for n in SAMPLES}
    received = {p.name.split(".", 1)[1] for p in peer.out_dir.iterdir()}
    assert received == sent
    # Streamed from the file: the pixel data arrives byte for byte (J2K kept compressed).
    j2k = dcmread(_sample("JPEG2000.dcm"))
    arrived = dcmread(next(peer.out_dir.glob(f"*.{j2k.SOPInstanceUID}")))
    assert arrived.file_meta.TransferSyntaxUID == j2k.file_meta.TransferSyntaxUID
    assert arrived.PixelData == j2k.PixelData


def test_send_converts_for_a_peer_that_takes_only_implicit_vr(
    start_peer: StartPeer, tmp_path: Path
) -> None:
    peer = _storescp(start_peer, "+xi")  # Implicit VR Little Endian only
    ct = _sample("CT_small.dcm")
    j2k = _sample("JPEG2000.dcm")
    progress: list[tuple[int, int]] = []

    results = send(
        "127.0.0.1",
        peer.port,
        [ct, j2k],
        aec="STORESCP",
        progress=lambda result, done, total: progress.append((done, total)),
    )
    by_name = {r.path.name: r for r in results}
    assert by_name["CT_small.dcm"].ok and by_name["CT_small.dcm"].status == 0
    failed = by_name["JPEG2000.dcm"]
    assert not failed.ok and failed.status is None
    assert "does not accept Secondary Capture Image Storage in JPEG 2000" in failed.meaning
    assert "transfer syntaxes not supported" in failed.meaning
    assert sorted(progress) == [(1, 2), (2, 2)]
    arrived = dcmread(next(peer.out_dir.iterdir()))
    assert arrived.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2"


def test_send_reassociates_after_the_peer_aborts(start_peer: StartPeer, tmp_path: Path) -> None:
    # DCMTK aborts every association after receiving a C-STORE request.
    peer = _storescp(start_peer, "--abort-after")
    files = [_sample(n) for n in ("CT_small.dcm", "MR_small.dcm")]

    results: list[SendResult] = send("127.0.0.1", peer.port, files, aec="STORESCP")
    assert [r.ok for r in results] == [False, False]
    for result in results:
        # Each file got its own (new) association, and each ended the same way.
        assert result.meaning == "association aborted by the peer (service-user)", result


def test_send_reports_refused_connection_per_file(tmp_path: Path) -> None:
    port = _free_port()
    ct = _sample("CT_small.dcm")
    results = send("127.0.0.1", port, [ct, tmp_path / "missing.dcm"], timeout_s=5)
    by_name = {r.path.name: r for r in results}
    assert by_name["CT_small.dcm"].meaning == "connection refused"
    assert by_name["missing.dcm"].meaning == "no such file or directory"
    assert not any(r.ok for r in results)


# --- TLS ----------------------------------------------------------------------------------


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("intu-desktop.test")
    stranger = trustme.CA()
    files = {
        "ca": (ca.cert_pem, "ca.pem"),
        "server_cert": (server.cert_chain_pems[0], "server.pem"),
        "server_key": (server.private_key_pem, "server.key"),
        "client_cert": (client.cert_chain_pems[0], "client.pem"),
        "client_key": (client.private_key_pem, "client.key"),
        "stranger_ca": (stranger.cert_pem, "stranger.pem"),
    }
    paths = {}
    for key, (blob, name) in files.items():
        paths[key] = tmp_path / name
        blob.write_to_path(str(paths[key]))
    return paths


def _tls_storescp(start_peer: StartPeer, pki: dict[str, Path], *peer_auth: str) -> Peer:
    return _storescp(
        start_peer,
        "+tls",
        str(pki["server_key"]),
        str(pki["server_cert"]),
        "-pw",  # unencrypted key: never prompt
        *peer_auth,
        name="tls",
    )


def test_tls_echo(
    start_peer: StartPeer, pki: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    peer = _tls_storescp(start_peer, pki, "-ic")  # no client certificate asked
    args = ["127.0.0.1", str(peer.port), "--aec", "STORESCP", "--tls-ca", str(pki["ca"])]
    assert cli_echo(args) == 0, capsys.readouterr()
    assert "success (0x0000)" in capsys.readouterr().out

    # A server certificate from a CA we do not trust fails the handshake, in words.
    untrusted = echo(
        "127.0.0.1", peer.port, aec="STORESCP", tls=ClientTls(ca_file=pki["stranger_ca"])
    )
    assert not untrusted.ok
    assert untrusted.reason.startswith("TLS handshake failed: certificate verify failed")


def test_mutual_tls_echo(start_peer: StartPeer, pki: dict[str, Path]) -> None:
    peer = _tls_storescp(start_peer, pki, "+cf", str(pki["ca"]))  # client certificate required
    with_cert = ClientTls(pki["ca"], pki["client_cert"], pki["client_key"])
    assert echo("127.0.0.1", peer.port, aec="STORESCP", tls=with_cert).ok

    without_cert = echo("127.0.0.1", peer.port, aec="STORESCP", tls=ClientTls(pki["ca"]))
    assert not without_cert.ok
    assert "TLS" in without_cert.reason


def test_send_streams_large_files_in_bounded_memory(start_peer: StartPeer, tmp_path: Path) -> None:
    peer = _storescp(start_peer, "--ignore")  # receive, do not store
    big = tmp_path / "big.dcm"
    ds = dcmread(_sample("CT_small.dcm"))
    ds.NumberOfFrames, ds.Rows, ds.Columns = 400, 512, 512
    ds.PixelData = bytes(400 * 512 * 512 * 2)  # 200 MB
    ds.save_as(big)
    del ds

    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            done.wait(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        results = send("127.0.0.1", peer.port, [big], aec="STORESCP")
    finally:
        done.set()
        sampler.join()
    assert results[0].ok, results[0]
    assert results[0].bytes == big.stat().st_size
    # pynetdicom alone queues the file as fast as it reads it; we bound that queue.
    assert peak - baseline < 64 * 1024 * 1024


def test_echo_and_send_to_our_own_listener(start_runtime, tmp_path) -> None:
    """Our listener advertises a 1 MB maximum PDU: the send buffer bound must cope after negotiation."""
    from dicomtools import free_port, sample, write_channel

    from intu_desktop.dicom.scu import echo, send

    port = free_port()
    rt = start_runtime(write_channel(tmp_path / "ch", port=port), with_pipeline=False)
    assert echo("127.0.0.1", port, aet="CT_SCANNER_1", aec="INTU_SCP").ok
    results = send("127.0.0.1", port, [sample("CT_small.dcm"), sample("MR_small.dcm")],
                   aet="CT_SCANNER_1", aec="INTU_SCP")
    assert [r.ok for r in results] == [True, True]
    assert rt.index.query("SELECT COUNT(*) FROM instances")[0][0] == 2
