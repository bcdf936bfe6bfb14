"""Command line (DESIGN §1): argument parsing and the composition of each command."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from intu_desktop import __version__

log = logging.getLogger(__name__)

EXIT_OK, EXIT_CONFIG, EXIT_LISTENER = 0, 1, 2
SUBCOMMANDS = ("validate", "export", "echo", "send", "reprocess", "reindex", "retry")


def _add_project_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--project", type=Path, metavar="DIR", help="an intu project folder (intu.yaml)")
    group.add_argument("--channel", type=Path, action="append", metavar="FILE",
                       help="a channel.yaml file (repeatable)")
    p.add_argument("--profile", default="dev", help="profile overlay intu.<profile>.yaml (default: dev)")


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help="where received objects, the index and logs live (env INTU_DESKTOP_DATA_DIR)")


def load_configuration(args: argparse.Namespace, data_dir: Path | None = None) -> Any:
    from intu_desktop.app import default_config_dir, default_data_dir
    from intu_desktop.config import ensure_default_project, load_channel_files, load_project

    if args.channel:
        return load_channel_files(list(args.channel), profile=args.profile)
    project_dir = args.project
    if project_dir is None:
        project_dir = ensure_default_project(default_config_dir(), data_dir or default_data_dir())
    return load_project(Path(project_dir), profile=args.profile)


def _print_errors(project: Any) -> None:
    for err in project.errors:
        print(str(err), file=sys.stderr)


# -- intu-desktop (run) ---------------------------------------------------------------
def _run(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="intu-desktop", description="DICOM receiver running intu channels.")
    _add_project_args(p)
    _add_data_dir(p)
    p.add_argument("--headless", action="store_true", help="no window; log to stdout until SIGINT/SIGTERM")
    p.add_argument("--version", action="version", version=f"intu-desktop {__version__}")
    args = p.parse_args(argv)
    from intu_desktop.app import default_data_dir

    data_dir = (args.data_dir or default_data_dir()).resolve()
    project = load_configuration(args, data_dir)
    if project.errors:
        _print_errors(project)
        print(f"{len(project.errors)} configuration problem(s): nothing was started", file=sys.stderr)
        return EXIT_CONFIG
    if args.headless:
        return run_headless(project, data_dir)
    from intu_desktop.gui.launch import run_gui

    return run_gui(project, data_dir, args)


def run_headless(project: Any, data_dir: Path) -> int:
    from intu_desktop.app import Runtime, setup_logging

    setup_logging(data_dir, stdout=True)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # Each channel receives in a process of its own: the pipeline and deliveries never
    # hold the interpreter lock a C-STORE waits for (dicom/receiver_process.py).
    runtime = Runtime(project, data_dir, receiver_process=True)
    failures = runtime.start()
    if failures:
        for exc in failures:
            print(f"error: {exc}", file=sys.stderr)
        runtime.stop()
        return EXIT_LISTENER
    if not runtime.listeners:
        log.warning("no enabled dicom channel in the project: nothing to listen on")
    for ch in project.channels:
        if ch.enabled and ch.listener_type != "dicom":
            log.warning("channel %s: listener type %s is not supported by intu Desktop (shown, not run)",
                        ch.id, ch.listener_type)
    log.info("intu-desktop %s running headless; data in %s", __version__, data_dir)
    while not stop.wait(0.5):
        pass
    log.info("shutting down")
    runtime.stop()
    logging.shutdown()
    return EXIT_OK


# -- intu-desktop validate ------------------------------------------------------------------
def _validate(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="intu-desktop validate")
    _add_project_args(p)
    args = p.parse_args(argv)
    project = load_configuration(args)
    if project.errors:
        _print_errors(project)
        return EXIT_CONFIG
    dicom = len(project.dicom_channels)
    print(f"OK: {len(project.channels)} channel(s), {dicom} DICOM listener(s)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        cmd, rest = argv[0], argv[1:]
        if cmd == "validate":
            return _validate(rest)
        if cmd == "echo":
            from intu_desktop.dicom.scu import cli_echo

            return cli_echo(rest)
        if cmd == "send":
            from intu_desktop.dicom.scu import cli_send

            return cli_send(rest)
        from intu_desktop import commands

        return int(commands.dispatch(cmd, rest))
    return _run(argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
