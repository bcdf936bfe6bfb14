"""`intu-desktop echo` and `intu-desktop send` (DESIGN §1): parse, run, print, exit code.

Exit codes: 0 everything succeeded, 1 a failure (the reason printed in words), 2 a usage
error (bad arguments, unreadable TLS files).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from intu_desktop.dicom.client_tls import ClientTls, TlsConfigError
from intu_desktop.dicom.scu import DEFAULT_AEC, DEFAULT_AET, SendResult, echo, send

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class _UsageError(Exception):
    pass


def run_echo(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = _parser("echo", "Check that a DICOM peer answers a C-ECHO.", default_timeout=10.0)
    try:
        args = _parse(parser, argv)
        tls = _tls_from(args)
    except _UsageError as exc:
        print(f"intu-desktop echo: {exc}", file=err)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: usage error (2) or --help (0)
        return _exit_code(exc)
    result = echo(args.host, args.port, aet=args.aet, aec=args.aec, tls=tls, timeout_s=args.timeout)
    target = _target(args.aec, args.host, args.port)
    if result.ok:
        print(
            f"C-ECHO to {target}: success (0x{result.status:04X}) in {result.rtt_ms:.1f} ms",
            file=out,
        )
        return EXIT_OK
    if result.status is not None:
        print(f"C-ECHO to {target}: failure ({result.reason})", file=err)
    else:
        print(f"C-ECHO to {target} failed: {result.reason}", file=err)
    return EXIT_FAILED


def run_send(argv: Sequence[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    parser = _parser(
        "send", "Send DICOM files (folders recursively) with C-STORE.", default_timeout=30.0
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR")
    try:
        args = _parse(parser, argv)
        tls = _tls_from(args)
    except _UsageError as exc:
        print(f"intu-desktop send: {exc}", file=err)
        return EXIT_USAGE
    except SystemExit as exc:
        return _exit_code(exc)

    def show(result: SendResult, done: int, total: int) -> None:
        print(_result_line(result), file=out, flush=True)

    started = time.perf_counter()
    results = send(
        args.host,
        args.port,
        args.paths,
        aet=args.aet,
        aec=args.aec,
        tls=tls,
        timeout_s=args.timeout,
        progress=show,
    )
    elapsed = time.perf_counter() - started
    print(_summary(results, _target(args.aec, args.host, args.port), elapsed), file=out)
    attempted = [r for r in results if not r.skipped]
    if not attempted:
        print("intu-desktop send: no DICOM files found", file=err)
        return EXIT_FAILED
    return EXIT_OK if all(r.ok for r in attempted) else EXIT_FAILED


def _parser(command: str, description: str, default_timeout: float) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"intu-desktop {command}", description=description)
    parser.add_argument("host", metavar="HOST")
    parser.add_argument("port", metavar="PORT", type=_port)
    parser.add_argument("--aet", default=DEFAULT_AET, help=f"our AE title (default {DEFAULT_AET})")
    parser.add_argument(
        "--aec", default=DEFAULT_AEC, help=f"the peer's AE title (default {DEFAULT_AEC})"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=default_timeout,
        metavar="SECONDS",
        help=f"connection, association and response time-out (default {default_timeout:g})",
    )
    tls = parser.add_argument_group("TLS (PS3.15 Annex B; any --tls-* option implies --tls)")
    tls.add_argument("--tls", action="store_true", help="connect over TLS 1.2 or newer")
    tls.add_argument(
        "--tls-ca",
        type=Path,
        metavar="FILE",
        help="CA certificates (PEM) to verify the peer with (default: system store)",
    )
    tls.add_argument(
        "--tls-cert", type=Path, metavar="FILE", help="our client certificate (PEM), for mutual TLS"
    )
    tls.add_argument("--tls-key", type=Path, metavar="FILE", help="the key of --tls-cert (PEM)")
    tls.add_argument(
        "--tls-no-verify",
        action="store_true",
        help="accept any server certificate (troubleshooting only)",
    )
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    return parser.parse_args(list(argv))


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1..65535, not {port}")
    return port


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("the time-out must be more than 0 seconds")
    return value


def _tls_from(args: argparse.Namespace) -> ClientTls | None:
    wanted = (
        args.tls
        or args.tls_no_verify
        or any(p is not None for p in (args.tls_ca, args.tls_cert, args.tls_key))
    )
    if not wanted:
        return None
    tls = ClientTls(args.tls_ca, args.tls_cert, args.tls_key, verify=not args.tls_no_verify)
    try:
        tls.context()  # unreadable files are a usage error, found before connecting
    except TlsConfigError as exc:
        raise _UsageError(str(exc)) from exc
    return tls


def _exit_code(exc: SystemExit) -> int:
    return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def _target(aec: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{aec}@{shown}:{port}"


def _result_line(result: SendResult) -> str:
    if result.skipped:
        return f"SKIP  {result.meaning}  {result.path}"
    if result.ok and result.status == 0:
        return f"OK    0x{result.status:04X}  {result.sop_instance_uid}  {result.path}"
    if result.ok:
        return f"WARN  {result.meaning}  {result.sop_instance_uid}  {result.path}"
    comment = f"  [{result.error_comment}]" if result.error_comment else ""
    return f"FAIL  {result.meaning}  {result.path}{comment}"


def _summary(results: Sequence[SendResult], target: str, elapsed_s: float) -> str:
    attempted = [r for r in results if not r.skipped]
    stored = [r for r in attempted if r.ok]
    failed = len(attempted) - len(stored)
    skipped = len(results) - len(attempted)
    size = sum(r.bytes for r in stored)
    return (
        f"Sent {len(stored)} of {len(attempted)} DICOM files ({_size(size)}) to {target} "
        f"in {elapsed_s:.2f} s; {failed} failed, {skipped} skipped"
    )


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            break
    return f"{value:.1f} {unit}"
