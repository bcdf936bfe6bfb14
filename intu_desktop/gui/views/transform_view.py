"""Transform results of the selected instance: input, validator verdict, output, problems,
console output and per-destination delivery state, with Retry and Reprocess."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from intu_desktop import events
from intu_desktop.events import Event
from intu_desktop.gui.formatting import local_time
from intu_desktop.gui.models.colors import status_color
from intu_desktop.gui.transform_data import TransformInfo, read_transform
from intu_desktop.gui.workers import Workers
from intu_desktop.index.db import Index

log = logging.getLogger(__name__)

DELIVERY_HEADERS = ("Destination", "Type", "State", "Attempts", "Last error", "Next attempt")


def _text_box(parent: QWidget, name: str, placeholder: str) -> QPlainTextEdit:
    box = QPlainTextEdit(parent)
    box.setObjectName(name)
    box.setReadOnly(True)
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    box.setPlaceholderText(placeholder)
    return box


def _titled(parent: QWidget, title: str, body: QWidget) -> QWidget:
    box = QWidget(parent)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(QLabel(f"<b>{title}</b>", box))
    layout.addWidget(body, 1)
    return box


class TransformView(QWidget):
    def __init__(
        self,
        index: Index,
        workers: Workers,
        pipeline: Any = None,
        delivery: Any = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._index = index
        self._workers = workers
        self._pipeline = pipeline
        self._delivery = delivery
        self._request = 0
        self.instance_id: int | None = None
        self.info: TransformInfo | None = None

        self.summary = QLabel("Select an instance to see its pipeline run.", self)
        self.summary.setObjectName("transformSummary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.reprocess_button = QPushButton("Reprocess", self)
        self.reprocess_button.setToolTip("Run the validator, transformer and deliveries again")
        self.reprocess_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.reprocess_button)

        self.input_tabs = QTabWidget(self)
        self.body_text = _text_box(self, "transformBody", "The message body the channel received")
        self.input_text = _text_box(self, "transformInput", "The whole message")
        self.input_tabs.addTab(self.body_text, "Body")
        self.input_tabs.addTab(self.input_text, "Message")
        self.output_text = _text_box(self, "transformOutput", "What the transformer produced")
        self.output_label = QLabel("<b>Output</b>", self)
        output_box = QWidget(self)
        output_layout = QVBoxLayout(output_box)
        output_layout.setContentsMargins(0, 0, 0, 0)
        output_layout.setSpacing(2)
        output_layout.addWidget(self.output_label)
        output_layout.addWidget(self.output_text, 1)
        upper = QSplitter(Qt.Orientation.Horizontal, self)
        upper.setObjectName("transformUpperSplitter")
        upper.addWidget(_titled(self, "Input message", self.input_tabs))
        upper.addWidget(output_box)

        self.problems = _text_box(
            self, "transformProblems", "Validator verdict, warnings and errors"
        )
        self.console = _text_box(self, "transformConsole", "console.log output of the scripts")
        self.deliveries = QTreeWidget(self)
        self.deliveries.setObjectName("deliveriesTree")
        self.deliveries.setHeaderLabels(list(DELIVERY_HEADERS))
        self.deliveries.setRootIsDecorated(False)
        self.deliveries.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.retry_button = QPushButton("Retry", self)
        self.retry_button.setToolTip("Send a dead-lettered delivery again")
        self.retry_button.setEnabled(False)
        deliveries_box = QWidget(self)
        deliveries_layout = QVBoxLayout(deliveries_box)
        deliveries_layout.setContentsMargins(0, 0, 0, 0)
        deliveries_layout.setSpacing(2)
        header = QHBoxLayout()
        header.addWidget(QLabel("<b>Deliveries</b>", deliveries_box), 1)
        header.addWidget(self.retry_button)
        deliveries_layout.addLayout(header)
        deliveries_layout.addWidget(self.deliveries, 1)
        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.setObjectName("transformLowerSplitter")
        lower.addWidget(_titled(self, "Validator, warnings and errors", self.problems))
        lower.addWidget(_titled(self, "Console", self.console))
        lower.addWidget(deliveries_box)

        body = QSplitter(Qt.Orientation.Vertical, self)
        body.setObjectName("transformSplitter")
        body.addWidget(upper)
        body.addWidget(lower)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(body, 1)

        self.reprocess_button.clicked.connect(self.reprocess)
        self.retry_button.clicked.connect(self.retry_selected)
        self.deliveries.currentItemChanged.connect(lambda *_: self._update_retry())

    # -- showing ----------------------------------------------------------------------------
    def show_instance(self, instance_id: int) -> None:
        self.instance_id = instance_id
        self.reload()

    def reload(self) -> None:
        if self.instance_id is None:
            return
        self._request += 1
        request, instance_id = self._request, self.instance_id

        def apply(info: TransformInfo) -> None:
            if request == self._request:
                self._show(info)

        self._workers.db(lambda: read_transform(self._index, instance_id), apply)

    def apply_events(self, batch: list[Event]) -> None:
        if self.instance_id is None:
            return
        for event in batch:
            if (
                event.kind in (events.PIPELINE_RUN, events.DELIVERY_UPDATED)
                and event.data.get("instance_id") == self.instance_id
            ):
                self.reload()
                return

    def _show(self, info: TransformInfo) -> None:
        self.info = info
        self.reprocess_button.setEnabled(hasattr(self._pipeline, "reprocess"))
        if not info.has_run:
            waiting = (
                "waiting for the pipeline"
                if info.pipeline_status == "pending"
                else info.pipeline_status
            )
            if self._pipeline is None:
                waiting = "the pipeline is not running in this session"
            self.summary.setText(f"No pipeline run yet ({waiting}).")
            for box in (
                self.body_text,
                self.input_text,
                self.output_text,
                self.problems,
                self.console,
            ):
                box.setPlainText("")
            self.deliveries.clear()
            self._update_retry()
            return
        timing = sum(v for k, v in info.timings.items() if k.endswith("_ms"))
        colour = status_color(info.status)
        status = (
            f"<span style='color:{colour.name()}'>{info.status}</span>" if colour else info.status
        )
        self.summary.setText(
            f"Run {info.run_id} on channel <b>{info.channel_id}</b>: {status} · "
            f"{local_time(info.finished_at)} · {timing:.0f} ms"
        )
        self.body_text.setPlainText(info.body_text)
        self.input_text.setPlainText(info.input_text)
        resource = (
            info.output_json.get("resourceType") if isinstance(info.output_json, dict) else None
        )
        kind = f" — {resource}" if resource else ""
        content_type = f" ({info.output_content_type})" if info.output_content_type else ""
        self.output_label.setText(f"<b>Output{kind}</b>{content_type}")
        self.output_text.setPlainText(info.output_text)
        self.problems.setPlainText(self._problems_text(info))
        self.console.setPlainText("\n".join(info.logs))
        self._fill_deliveries(info)

    @staticmethod
    def _problems_text(info: TransformInfo) -> str:
        lines = [f"Validator: {info.validator_text}"]
        if info.warnings:
            lines.append("")
            lines.append(f"Warnings ({len(info.warnings)}):")
            lines.extend(f"  - {w}" for w in info.warnings)
        if info.error:
            lines.append("")
            lines.append(f"Error: {info.error}")
        if info.stack:
            lines.append("")
            lines.append(info.stack)
        if not info.warnings and not info.error:
            lines.append("No warnings or errors.")
        return "\n".join(lines)

    def _fill_deliveries(self, info: TransformInfo) -> None:
        self.deliveries.clear()
        for d in info.deliveries:
            state = "dead letter" if d.status == "failed" else d.status
            nxt = local_time(d.next_attempt_at) if d.status == "pending" else ""
            item = QTreeWidgetItem(
                [d.destination, d.destination_type, state, str(d.attempts), d.last_error, nxt]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, d.id)
            item.setData(2, Qt.ItemDataRole.UserRole, d.status)
            colour = status_color(d.status)
            if colour is not None:
                item.setForeground(2, colour)
            item.setToolTip(4, d.last_error or d.last_response)
            self.deliveries.addTopLevelItem(item)
        for column in range(len(DELIVERY_HEADERS) - 1):
            self.deliveries.resizeColumnToContents(column)
        self._update_retry()

    # -- actions ------------------------------------------------------------------------------
    def reprocess(self) -> None:
        instance_id, pipeline = self.instance_id, self._pipeline
        if instance_id is None or not hasattr(pipeline, "reprocess"):
            return
        self.summary.setText("Reprocessing…")
        self._workers.control(
            lambda: pipeline.reprocess([instance_id]),
            None,
            lambda exc: self.summary.setText(f"Reprocess failed: {exc}"),
        )

    def retry_selected(self) -> None:
        item = self.deliveries.currentItem()
        delivery = self._delivery
        if item is None or not hasattr(delivery, "retry"):
            return
        delivery_id = int(item.data(0, Qt.ItemDataRole.UserRole))
        self.retry_button.setEnabled(False)
        self._workers.control(
            lambda: delivery.retry(delivery_id),
            lambda _r: self.reload(),
            lambda exc: self.summary.setText(f"Retry failed: {exc}"),
        )

    def _update_retry(self) -> None:
        item = self.deliveries.currentItem()
        dead = item is not None and item.data(2, Qt.ItemDataRole.UserRole) == "failed"
        self.retry_button.setEnabled(dead and hasattr(self._delivery, "retry"))
