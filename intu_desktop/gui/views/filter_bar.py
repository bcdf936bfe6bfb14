"""The instances filter: free text, modality, calling AE, received period, study dates; grouping."""

from __future__ import annotations

import re
import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from intu_desktop.gui.formatting import start_of_today
from intu_desktop.gui.models.instance_query import InstanceFilter

ANY = "Any"
PERIODS = (("Any time", None), ("Today", 0), ("Last 7 days", 7), ("Last 30 days", 30))
_DATE = re.compile(r"^\s*(\d{8})?\s*(-)?\s*(\d{8})?\s*$")


def parse_study_dates(text: str) -> tuple[str, str] | None:
    """'20240101' (one day), '20240101-20240131', '20240101-' or '-20240131'; None if invalid."""
    if not text.strip():
        return ("", "")
    m = _DATE.match(text)
    if not m or not (m.group(1) or m.group(3)):
        return None
    first, dash, last = m.group(1) or "", m.group(2), m.group(3) or ""
    if not dash:
        return (first, first)
    return (first, last)


def period_start(days: int | None, now: float | None = None) -> float | None:
    if days is None:
        return None
    today = start_of_today(now)
    return today - days * 86400 if days else today


class FilterBar(QWidget):
    filter_changed = Signal(object)  # InstanceFilter
    grouping_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLineEdit(self)
        self.text.setObjectName("filterText")
        self.text.setPlaceholderText("Search patient, ID, description, accession, UID…")
        self.text.setClearButtonEnabled(True)
        self.modality = QComboBox(self)
        self.modality.setObjectName("filterModality")
        self.modality.addItem(ANY)
        self.calling_ae = QComboBox(self)
        self.calling_ae.setObjectName("filterCallingAe")
        self.calling_ae.addItem(ANY)
        self.period = QComboBox(self)
        self.period.setObjectName("filterPeriod")
        for label, _days in PERIODS:
            self.period.addItem(label)
        self.study_dates = QLineEdit(self)
        self.study_dates.setObjectName("filterStudyDates")
        self.study_dates.setPlaceholderText("Study date: YYYYMMDD-YYYYMMDD")
        self.study_dates.setMaximumWidth(220)
        self.group = QCheckBox("Group by study", self)
        self.group.setObjectName("groupByStudy")
        self.count = QLabel(self)
        self.count.setObjectName("instanceCount")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 3)
        layout.addWidget(QLabel("Modality", self))
        layout.addWidget(self.modality)
        layout.addWidget(QLabel("Calling AE", self))
        layout.addWidget(self.calling_ae)
        layout.addWidget(QLabel("Received", self))
        layout.addWidget(self.period)
        layout.addWidget(self.study_dates, 1)
        layout.addWidget(self.group)
        layout.addWidget(self.count)
        # Typing waits for a pause, so each keystroke does not re-query 200,000 rows.
        self._debounce = QTimer(self)
        self._debounce.setObjectName("filter-debounce")
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(250)
        self._debounce.timeout.connect(self._emit)
        self.text.textChanged.connect(lambda _t: self._debounce.start())
        self.study_dates.textChanged.connect(lambda _t: self._debounce.start())
        self.modality.currentIndexChanged.connect(lambda _i: self._emit())
        self.calling_ae.currentIndexChanged.connect(lambda _i: self._emit())
        self.period.currentIndexChanged.connect(lambda _i: self._emit())
        self.group.toggled.connect(self.grouping_changed)

    def current(self) -> InstanceFilter:
        dates = parse_study_dates(self.study_dates.text()) or ("", "")
        days = PERIODS[max(0, self.period.currentIndex())][1]
        return InstanceFilter(
            text=self.text.text().strip(),
            modality="" if self.modality.currentText() == ANY else self.modality.currentText(),
            calling_ae=""
            if self.calling_ae.currentText() == ANY
            else self.calling_ae.currentText(),
            received_since=period_start(days, time.time()),
            study_date_from=dates[0],
            study_date_to=dates[1],
        )

    def set_choices(self, modalities: list[str], calling_aes: list[str]) -> None:
        _refill(self.modality, modalities)
        _refill(self.calling_ae, calling_aes)

    def set_count(self, shown: int) -> None:
        self.count.setText(f"{shown:,} instance{'s' if shown != 1 else ''}")

    def stop(self) -> None:
        self._debounce.stop()

    def _emit(self) -> None:
        valid = parse_study_dates(self.study_dates.text()) is not None
        self.study_dates.setStyleSheet("" if valid else "color: #C62828")
        self.filter_changed.emit(self.current())


def _refill(combo: QComboBox, values: list[str]) -> None:
    existing = [combo.itemText(i) for i in range(1, combo.count())]
    if existing == values:
        return
    current = combo.currentText()
    combo.blockSignals(True)
    combo.clear()
    combo.addItem(ANY)
    combo.addItems(values)
    found = combo.findText(current)
    combo.setCurrentIndex(max(found, 0))
    combo.blockSignals(False)
