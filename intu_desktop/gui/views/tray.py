"""System tray: state icon, notifications for rejected associations and failed deliveries,
and the way back to the window when it is closed to the tray."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from intu_desktop import events
from intu_desktop.events import Event
from intu_desktop.gui.icons import state_icon

# At most this many notifications per batch, so a storm of rejections is one balloon, not fifty.
_MAX_PER_BATCH = 1


class Tray:
    def __init__(
        self, window: QWidget, show_window: Callable[[], None], quit_app: Callable[[], None]
    ) -> None:
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self.icon: QSystemTrayIcon | None = None
        self.state = "idle"
        if not self.available:
            return
        self.icon = QSystemTrayIcon(state_icon("idle"), window)
        menu = QMenu(window)
        show = QAction("Show intu Desktop", menu)
        show.triggered.connect(show_window)
        quit_action = QAction("Quit (stop receiving)", menu)
        quit_action.triggered.connect(quit_app)
        menu.addAction(show)
        menu.addSeparator()
        menu.addAction(quit_action)
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(
            lambda reason: (
                show_window() if reason == QSystemTrayIcon.ActivationReason.Trigger else None
            )
        )
        self.icon.setToolTip("intu Desktop")
        self.icon.show()

    def set_state(self, state: str, tooltip: str) -> None:
        self.state = state
        if self.icon is not None:
            self.icon.setIcon(state_icon(state))
            self.icon.setToolTip(f"intu Desktop — {tooltip}")

    def notify(self, title: str, text: str, warning: bool = True) -> None:
        if self.icon is not None and QSystemTrayIcon.supportsMessages():
            kind = (
                QSystemTrayIcon.MessageIcon.Warning
                if warning
                else QSystemTrayIcon.MessageIcon.Information
            )
            self.icon.showMessage(title, text, kind, 8000)

    def apply_events(self, batch: list[Event]) -> list[tuple[str, str]]:
        """Notify about rejections and dead letters; returns what was (or would be) shown."""
        notes: list[tuple[str, str]] = []
        for event in batch:
            if event.kind == events.ASSOCIATION_REJECTED:
                d = event.data
                who = f"{d.get('calling_ae', '?')} from {d.get('peer_host', '?')}"
                notes.append(("Association rejected", f"{who}: {d.get('reason', '')}"))
            elif event.kind == events.DELIVERY_UPDATED and event.data.get("status") == "failed":
                d = event.data
                why = d.get("error") or d.get("last_error") or "dead letter"
                notes.append(("Delivery failed", f"{d.get('destination', 'a destination')}: {why}"))
        for title, text in notes[:_MAX_PER_BATCH]:
            more = f" (+{len(notes) - 1} more)" if len(notes) > 1 else ""
            self.notify(title + more, text)
        return notes

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()
