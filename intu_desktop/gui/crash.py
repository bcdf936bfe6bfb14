"""Bugs go to the log with their traceback; Qt's own messages go to logging too (STYLE 5).

Errors of the environment (port in use, disk full) are shown in words by the views;
what arrives here is a bug, so it is logged with the full traceback.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from PySide6.QtCore import QtMsgType, qInstallMessageHandler

log = logging.getLogger("intu_desktop.crash")
qt_log = logging.getLogger("qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def qt_message_handler(mode: QtMsgType, context: Any, message: str) -> None:
    where = getattr(context, "category", "") or "qt"
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "[%s] %s", where, message)


def install_crash_logging(on_crash: Callable[[str], None] | None = None) -> Callable[[], None]:
    """Install the hooks; returns a function that restores the previous ones."""
    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def excepthook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous_hook(kind, value, tb)
            return
        log.critical("unexpected error (a bug): %s", kind.__name__, exc_info=(kind, value, tb))
        if on_crash is not None:
            try:
                on_crash(kind.__name__)
            except Exception:
                log.exception("crash notification failed")

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        error = args.exc_value if args.exc_value is not None else args.exc_type.__name__
        log.critical(
            "unexpected error in thread %s (a bug): %s",
            name,
            args.exc_type.__name__,
            exc_info=error if isinstance(error, BaseException) else True,
        )

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    previous_qt = qInstallMessageHandler(qt_message_handler)

    def uninstall() -> None:
        sys.excepthook = previous_hook
        threading.excepthook = previous_thread_hook
        qInstallMessageHandler(previous_qt)

    return uninstall
