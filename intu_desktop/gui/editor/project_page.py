"""The page of the project's intu.yaml: its named destinations."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QVBoxLayout

from intu_desktop.gui.editor.checks import CheckResult, check_project
from intu_desktop.gui.editor.named_form import NamedDestinationsForm
from intu_desktop.gui.editor.page import DocumentPage


class ProjectPage(DocumentPage):
    def build_form(self, layout: QVBoxLayout) -> None:
        self.named_form = NamedDestinationsForm(self)
        layout.addWidget(self.named_form)
        self.parts.append(self.named_form)

    def check_job(self, text: str) -> Callable[[], CheckResult]:
        path = self.session.path
        return lambda: check_project(path, text)

    def display_name(self) -> str:
        return "intu.yaml"

    def on_checked(self, result: CheckResult) -> None:
        if result.extensions:
            self.extensions_label.setText(
                "<b>Desktop only:</b> " + ", ".join(result.extensions)
                + " (the intu engine has no log destination).")
        self.extensions_label.setVisible(bool(result.extensions))
