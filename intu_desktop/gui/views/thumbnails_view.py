"""Thumbnail grid of the selected series or study, and the live strip of the latest arrivals."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QSize, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QListView, QVBoxLayout, QWidget

from intu_desktop import events
from intu_desktop.events import Event
from intu_desktop.gui.models.thumbnail_list import ID_ROLE, ThumbItem, ThumbnailListModel
from intu_desktop.gui.thumbnail_provider import ThumbnailProvider
from intu_desktop.gui.thumbnail_queries import group_items, latest_items
from intu_desktop.gui.workers import Workers
from intu_desktop.index.db import Index

STRIP_SIZE = 24
STRIP_REFRESH_MS = 1000
# While a modality sends faster than the strip can show, it updates less often: each
# update renders the new thumbnails, and a burst should leave the CPU to the receiver.
STRIP_BURST_REFRESH_MS = 3000


def _icon_list(
    parent: QWidget, provider: ThumbnailProvider, model: ThumbnailListModel, *, strip: bool
) -> QListView:
    view = QListView(parent)
    view.setModel(model)
    view.setViewMode(QListView.ViewMode.IconMode)
    view.setIconSize(QSize(provider.size, provider.size))
    view.setGridSize(QSize(provider.size + 24, provider.size + 30))
    view.setUniformItemSizes(True)
    view.setMovement(QListView.Movement.Static)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    view.setSelectionMode(QListView.SelectionMode.SingleSelection)
    if strip:
        view.setFlow(QListView.Flow.LeftToRight)
        view.setWrapping(False)
        view.setFixedHeight(provider.size + 52)
    return view


class ThumbnailGrid(QWidget):
    instance_activated = Signal(int)

    def __init__(
        self,
        index: Index,
        workers: Workers,
        provider: ThumbnailProvider,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._index = index
        self._workers = workers
        self._instance_id: int | None = None
        self._study_uid: str | None = None
        self._request = 0
        self.model = ThumbnailListModel(provider, self)
        self.scope = QComboBox(self)
        self.scope.setObjectName("thumbnailScope")
        self.scope.addItem("Series", "series")
        self.scope.addItem("Study", "study")
        self.title = QLabel("Select an instance or a study", self)
        self.view = _icon_list(self, provider, self.model, strip=False)
        self.view.setObjectName("thumbnailGrid")
        top = QHBoxLayout()
        top.addWidget(QLabel("Show", self))
        top.addWidget(self.scope)
        top.addWidget(self.title, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self.scope.currentIndexChanged.connect(lambda _i: self._reload())
        self.view.clicked.connect(self._clicked)

    def show_instance(self, instance_id: int) -> None:
        if instance_id == self._instance_id:
            return
        self._instance_id, self._study_uid = instance_id, None
        self._reload()

    def show_study(self, study_uid: str) -> None:
        self._instance_id, self._study_uid = None, study_uid
        self._reload()

    def _reload(self) -> None:
        self._request += 1
        request, instance_id, study_uid = self._request, self._instance_id, self._study_uid
        scope = str(self.scope.currentData() or "series")

        def apply(result: tuple[str, list[ThumbItem]]) -> None:
            if request != self._request:
                return  # the selection moved on meanwhile
            title, items = result
            self.title.setText(title)
            self.model.set_items(items)
            if instance_id is not None:
                for row, item in enumerate(items):
                    if item.instance_id == instance_id:
                        self.view.setCurrentIndex(self.model.index(row, 0))
                        break

        self._workers.db(lambda: group_items(self._index, instance_id, study_uid, scope), apply)

    def _clicked(self, index: QModelIndex) -> None:
        value = index.data(ID_ROLE)
        if value is not None:
            self._instance_id = int(value)
            self.instance_activated.emit(int(value))


class LiveStrip(QWidget):
    """The latest arrivals, newest on the left."""

    instance_activated = Signal(int)

    def __init__(
        self,
        index: Index,
        workers: Workers,
        provider: ThumbnailProvider,
        parent: QWidget | None = None,
        size: int = STRIP_SIZE,
    ) -> None:
        super().__init__(parent)
        self._index = index
        self._workers = workers
        self._size = size
        self._busy = False
        self._again = False
        self.model = ThumbnailListModel(provider, self, limit=size)
        self.view = _icon_list(self, provider, self.model, strip=True)
        self.view.setObjectName("liveStrip")
        label = QLabel("<b>Latest arrivals</b>", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 2)
        layout.setSpacing(0)
        layout.addWidget(label)
        layout.addWidget(self.view)
        self._timer = QTimer(self)
        self._timer.setObjectName("live-strip-refresh")
        self._timer.setSingleShot(True)
        self._timer.setInterval(STRIP_REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.view.clicked.connect(self._clicked)
        self.refresh()

    def apply_events(self, batch: list[Event]) -> None:
        if any(e.kind == events.INSTANCE_STORED for e in batch) and not self._timer.isActive():
            self._timer.start()

    def refresh(self) -> None:
        if self._busy:
            self._again = True
            return
        self._busy, self._again = True, False

        def apply(items: list[ThumbItem]) -> None:
            self._busy = False
            before = {item.instance_id for item in self.model.items()}
            arrived = sum(1 for item in items if item.instance_id not in before)
            self._timer.setInterval(
                STRIP_BURST_REFRESH_MS if arrived >= self._size // 2 else STRIP_REFRESH_MS
            )
            self.model.set_items(items)
            if self._again:
                self.refresh()

        def failed(_error: BaseException) -> None:
            self._busy = False

        self._workers.db(lambda: latest_items(self._index, self._size), apply, failed)

    def stop(self) -> None:
        self._timer.stop()

    def _clicked(self, index: QModelIndex) -> None:
        value = index.data(ID_ROLE)
        if value is not None:
            self.instance_activated.emit(int(value))
