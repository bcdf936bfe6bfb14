"""The association inspector: everything about one association, the hints that explain a
refusal, and the one-click fixes that stage a change in the channel editor.

Diagnosis is pure and cheap (string comparisons over one record), so it runs on the GUI
thread; nothing here touches the disk or the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Signal
from PySide6.QtWidgets import QLabel, QTextBrowser, QVBoxLayout, QWidget

from intu_desktop.dicom.diagnosis import Fix, Hint, explain
from intu_desktop.gui.troubleshoot.fix_stager import stage_fix
from intu_desktop.gui.troubleshoot.hints_panel import HintsPanel
from intu_desktop.gui.troubleshoot.inspector_html import inspector_html
from intu_desktop.gui.troubleshoot.timing_bar import TimingBar
from intu_desktop.index.associations import AssociationRecord

log = logging.getLogger(__name__)

_RECORD_FIELDS = {f.name for f in fields(AssociationRecord)}


def as_record(rec: dict[str, Any]) -> AssociationRecord:
    return AssociationRecord(**{k: v for k, v in rec.items() if k in _RECORD_FIELDS})


def channel_of(runtime: Any, channel_id: str) -> Any:
    """The channel as currently running (Apply replaces it), else as loaded."""
    listener = getattr(runtime, "listeners", {}).get(channel_id)
    if listener is not None:
        return listener.channel
    for channel in getattr(runtime.project, "channels", None) or []:
        if channel.id == channel_id:
            return channel
    return None


def hints_for(rec: dict[str, Any], channel: Any) -> list[Hint]:
    if channel is None or getattr(channel, "dicom", None) is None:
        return []
    return explain(as_record(rec), channel.dicom)


class AssociationInspector(QWidget):
    """Shows one association record (a dict as carried by association events)."""

    fix_staged = Signal(object)  # the editor page the fix was staged in

    def __init__(self, runtime: Any, open_editor: Callable[[], Any] | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("associationInspector")
        self.runtime = runtime
        self.open_editor = open_editor
        self.record: dict[str, Any] | None = None
        self.hints = HintsPanel(self)
        self.hints.fix_requested.connect(self.apply_fix)
        self.timing_caption = QLabel("Timing", self)
        self.timing = TimingBar(self)
        self.text = QTextBrowser(self)
        self.text.setObjectName("inspectorText")
        self.text.setOpenLinks(False)
        self.text.setPlaceholderText("Select an association to see what was proposed and answered.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.hints)
        layout.addWidget(self.timing_caption)
        layout.addWidget(self.timing)
        layout.addWidget(self.text, 1)
        self.show_record(None)

    # -- showing -------------------------------------------------------------------------
    def show_record(self, rec: dict[str, Any] | None) -> None:
        self.record = rec
        self.timing.set_record(rec)
        self.timing_caption.setVisible(rec is not None)
        self.timing.setVisible(rec is not None)
        if rec is None:
            self.text.clear()
            self.hints.set_hints([], refused=False)
            return
        channel = channel_of(self.runtime, str(rec.get("channel_id", "")))
        refused = rec.get("state") == "rejected" or (rec.get("state") == "aborted" and not rec.get("exchanges"))
        self.hints.set_hints(hints_for(rec, channel), refused=refused,
                             can_fix=self.open_editor is not None and channel is not None)
        scroll = self.text.verticalScrollBar().value()
        self.text.setHtml(inspector_html(rec))
        self.text.verticalScrollBar().setValue(scroll)

    def attach(self, view: Any) -> None:
        """Take the place of an AssociationsView's details pane and follow its selection."""
        old = view.details
        view.replaceWidget(view.indexOf(old), self)
        old.setParent(view)  # kept (the view still writes to it), never shown
        old.hide()
        model = view.model

        def current(index: QModelIndex, _previous: QModelIndex = QModelIndex()) -> None:
            self.show_record(model.record(index.row()) if index.isValid() else None)

        def changed(top: QModelIndex | QPersistentModelIndex, bottom: QModelIndex | QPersistentModelIndex,
                    *_roles: object) -> None:
            if self.record is None:
                return
            row = model.row_of(self.record["id"])
            if row is not None and top.row() <= row <= bottom.row():
                self.show_record(model.record(row))

        view.table.selectionModel().currentRowChanged.connect(current)
        model.dataChanged.connect(changed)

    # -- fixing --------------------------------------------------------------------------
    def apply_fix(self, fix: Fix) -> Any:
        """Stage `fix` for the shown association's channel; the editor shows the diff."""
        if self.record is None or self.open_editor is None:
            return None
        channel = channel_of(self.runtime, str(self.record.get("channel_id", "")))
        if channel is None:
            return None
        editor = self.open_editor()
        page = stage_fix(editor, channel.path, fix)
        log.info("staged a fix for channel %s: %s", channel.id, fix.description)
        if page is not None:
            self.fix_staged.emit(page)
        return page


__all__ = ["AssociationInspector", "as_record", "channel_of", "hints_for"]
