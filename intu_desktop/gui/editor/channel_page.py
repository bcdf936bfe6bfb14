"""The page of one channel.yaml: the DICOM channel form, Apply, and first saves of new or
cloned channels."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from intu_desktop.config import ChannelConfig, ConfigError, check_channel_text
from intu_desktop.gui.editor.advanced_form import advanced_section
from intu_desktop.gui.editor.background import Background
from intu_desktop.gui.editor.bindings import FormPart
from intu_desktop.gui.editor.checks import CheckResult, check_channel
from intu_desktop.gui.editor.destinations_form import DestinationsSection
from intu_desktop.gui.editor.listener_form import (
    dicom_section,
    header_section,
    not_dicom_notice,
    not_dicom_text,
    tls_section,
)
from intu_desktop.gui.editor.page import DocumentPage
from intu_desktop.gui.editor.scripts_form import script_section
from intu_desktop.gui.editor.session import EditSession, ExternalChangeError
from intu_desktop.gui.editor.template import (
    CHANNEL_FILE,
    ChannelSummary,
    folder_name,
    summary_from_raw,
)

ApplyChannel = Callable[[ChannelConfig], tuple[bool, str]]
# Files of a cloned channel's folder that are not copied: dependencies and build output.
_CLONE_SKIP = shutil.ignore_patterns(CHANNEL_FILE, "node_modules", "dist", "build", "__pycache__",
                                     ".*")


class ChannelPage(DocumentPage):
    applied = Signal(bool, str)  # the result of Apply: ok, what happened in words

    def __init__(self, session: EditSession, checker: Background, applier: Background, *,
                 profile: str, apply_channel: ApplyChannel | None,
                 others: Callable[[ChannelPage], list[ChannelSummary]], named: Callable[[], list[str]],
                 new_folder: Path | None = None, clone_from: Path | None = None,
                 parent: QWidget | None = None) -> None:
        self.profile = profile
        self.apply_channel = apply_channel
        self.applier = applier
        self.others = others
        self.named = named
        # A new channel is saved into `<new_folder>/<id>/channel.yaml` on its first save.
        self.new_folder = new_folder
        self.clone_from = clone_from
        self.previous_path = session.path  # before the last save (a new channel's moves)
        self.last_apply: tuple[bool, str] | None = None
        self.applying = False
        self._sections: dict[str, QWidget] = {}
        super().__init__(session, checker, parent)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("applyButton")
        self.apply_button.setToolTip("Save, then restart this channel's listener with these "
                                     "settings; other channels keep running")
        self.apply_button.setVisible(apply_channel is not None)
        self.apply_button.clicked.connect(self.apply)
        self.button_row.addWidget(self.apply_button)
        self._update_status()

    # -- form --------------------------------------------------------------------------
    def build_form(self, layout: QVBoxLayout) -> None:
        sections: list[tuple[str, tuple[QWidget, list[FormPart]]]] = [
            ("header", header_section(self)),
            ("dicom", dicom_section(self)),
            ("tls", tls_section(self)),
            ("validator", script_section(self, "validator")),
            ("transformer", script_section(self, "transformer")),
        ]
        self.destinations = DestinationsSection(self, self.named)
        sections.append(("destinations", (self.destinations.box, [self.destinations])))
        sections.append(("advanced", advanced_section(self)))
        self._not_dicom = not_dicom_notice("")
        layout.addWidget(self._not_dicom)
        for name, (widget, parts) in sections:
            layout.addWidget(widget)
            self._sections[name] = widget
            self.parts.extend(parts)

    def _after_change(self, recheck: bool = True) -> None:
        listener_type = self.session.get(("listener", "type"))
        dicom = listener_type == "dicom" or not self.session.parsed
        for name in ("dicom", "tls", "advanced"):
            if name in self._sections:
                self._sections[name].setVisible(dicom)
        self._not_dicom.setVisible(not dicom)
        if not dicom:
            self._not_dicom.setText(not_dicom_text(str(listener_type or "")))
        super()._after_change(recheck)

    def display_name(self) -> str:
        value = self.session.get(("id",))
        return str(value) if isinstance(value, str) and value.strip() else self.session.path.parent.name

    def summary(self) -> ChannelSummary:
        return summary_from_raw(self.session.path, self.session.data())

    # -- checks ------------------------------------------------------------------------
    def check_job(self, text: str) -> Callable[[], CheckResult]:
        path = self.session.path
        validate_as = (self.clone_from / CHANNEL_FILE
                       if self.clone_from is not None and self.session.is_new else None)
        others = self.others(self)
        profile = self.profile
        new_target = self._new_target() if self.session.is_new else None

        def job() -> CheckResult:
            result = check_channel(path, text, profile=profile, validate_as=validate_as,
                                   others=others)
            if new_target is not None and new_target.exists():
                line = result.channel.key_lines.get("id", 1) if result.channel else 1
                result.errors.append(ConfigError(
                    path, line, "id", f"a channel folder named {new_target.parent.name} "
                                      "already exists; choose another id"))
            return result

        return job

    def on_checked(self, result: CheckResult) -> None:
        if result.extensions:
            self.extensions_label.setText(
                "<b>Desktop only:</b> this channel uses intu Desktop extensions ("
                + ", ".join(result.extensions)
                + "). The intu engine would reject them; they are marked "
                  "<span style='color:#8a5a00'>[desktop only]</span> below.")
        self.extensions_label.setVisible(bool(result.extensions))

    # -- first save of a new channel ---------------------------------------------------
    def _new_target(self) -> Path:
        folder = self.new_folder if self.new_folder is not None else self.session.path.parent.parent
        channel_id = self.session.get(("id",))
        name = folder_name(channel_id) if isinstance(channel_id, str) else self.session.path.parent.name
        return folder / name / CHANNEL_FILE

    def write_file(self) -> None:
        self.previous_path = self.session.path
        if not self.session.is_new:
            self.session.save()
            return
        target = self._new_target()
        if target.exists():
            raise ExternalChangeError(f"{target} already exists")
        if self.clone_from is not None and self.clone_from.is_dir():
            # The clone's scripts come along, so its relative entry points still resolve.
            shutil.copytree(self.clone_from, target.parent, ignore=_CLONE_SKIP, dirs_exist_ok=True)
        self.session.save(target)
        self.clone_from = None

    # -- Apply -------------------------------------------------------------------------
    def can_apply(self) -> bool:
        return (self.apply_channel is not None and not self.applying and self.session.parsed
                and self.checked and not self.errors)

    def _update_status(self) -> None:
        super()._update_status()
        if hasattr(self, "apply_button"):
            self.apply_button.setEnabled(self.can_apply())

    def apply(self) -> None:
        """Save when needed, then restart the listener on the worker thread."""
        if not self.can_apply():
            return
        if self.session.is_dirty() and not self.save():
            return
        apply_channel = self.apply_channel
        assert apply_channel is not None
        path, text, profile = self.session.path, self.session.text(), self.profile

        def job() -> tuple[bool, str]:
            channel = check_channel_text(path, text, profile)
            if channel.errors:
                return False, f"not applied: {channel.errors[0]}"
            return apply_channel(channel)

        self.applying = True
        self.result_banner.show_message("info", f"Applying {self.display_name()}…")
        self._update_status()
        if not self.applier.run(job, self._applied):
            self.applying = False

    def _applied(self, result: Any, error: BaseException | None) -> None:
        self.applying = False
        if error is not None:
            ok, text = False, f"{type(error).__name__}: {error}"
        else:
            ok, text = result
        if ok:
            self.result_banner.show_message("ok", f"Applied: {text}",
                                            [("Close", self.result_banner.dismiss)])
        else:
            self.result_banner.show_message("error", f"Could not apply: {text}",
                                            [("Close", self.result_banner.dismiss)])
        self.last_apply = (ok, text)
        self._update_status()
        self.state_changed.emit()
        self.applied.emit(ok, text)
