"""Status bar: ports listening, received today, queue depths, free disk (warning under 5 GB)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from intu_desktop.gui.formatting import human_bytes

LOW_DISK_BYTES = 5 * 1024**3


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.listening = QLabel(self)
        self.received = QLabel(self)
        self.queues = QLabel(self)
        self.disk = QLabel(self)
        for label in (self.listening, self.received, self.queues, self.disk):
            self.addPermanentWidget(label)
        self.set_ports([])
        self.set_received_today(0)
        self.set_queues(None, None)
        self.disk.setText("Disk: …")

    def set_ports(self, ports: list[str]) -> None:
        if ports:
            self.listening.setText("Listening on port " + ", ".join(ports))
            self.listening.setStyleSheet("")
        else:
            self.listening.setText("Not listening")
            self.listening.setStyleSheet("color: #C62828")

    def set_received_today(self, count: int) -> None:
        self.received.setText(f"Received today: {count:,}")

    def set_queues(self, pipeline: int | None, delivery: int | None) -> None:
        p = "–" if pipeline is None else f"{pipeline:,}"
        d = "–" if delivery is None else f"{delivery:,}"
        self.queues.setText(f"Pipeline queue: {p} · Delivery queue: {d}")

    def set_disk(self, free: int, total: int) -> None:
        low = free < LOW_DISK_BYTES
        text = f"Store disk: {human_bytes(free)} free of {human_bytes(total)}"
        self.disk.setText(("⚠ " + text + " — under 5 GB") if low else text)
        self.disk.setStyleSheet("color: #C62828; font-weight: bold" if low else "")
        self.disk.setToolTip("Free space on the disk that holds the store")

    @property
    def disk_low(self) -> bool:
        return "under 5 GB" in self.disk.text()
