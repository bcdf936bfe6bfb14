"""The settings form of one destination (fhir, http, dicom, file, log), wherever it lives:
inline in a channel's `destinations:` list or named in intu.yaml."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from intu_desktop.config import ConfigError
from intu_desktop.gui.editor.bindings import (
    DELETE,
    Binding,
    ChoiceBinding,
    FormHost,
    KeyPath,
    PathBinding,
    TextBinding,
    add_row,
    distribute,
    dotted,
    row_label,
)

# Types the desktop app delivers to; `log` is an intu Desktop extension.
FORM_TYPES: tuple[str, ...] = ("fhir", "http", "dicom", "file", "log")
DESKTOP_ONLY_TYPES = frozenset({"log"})


def type_label(dest_type: str) -> str:
    return f"{dest_type} (desktop only)" if dest_type in DESKTOP_ONLY_TYPES else dest_type


def default_definition(dest_type: str) -> dict[str, Any]:
    """A new destination's block: the key each type requires, empty for the user to fill."""
    blocks: dict[str, dict[str, Any]] = {
        "fhir": {"base_url": ""},
        "http": {"url": ""},
        "dicom": {"host": "", "port": 104},
        "file": {"directory": ""},
        "log": {"level": "info"},
    }
    block = blocks.get(dest_type, {})
    return {"type": dest_type, dest_type: block}


class DestinationFields(QWidget):
    """Bindings for `<base>.<type>.*`; rebuilt by the owner when the type changes."""

    def __init__(self, host: FormHost, base: KeyPath, dest_type: str) -> None:
        super().__init__()
        self.base = tuple(base)
        self.dest_type = dest_type
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        kind = QLabel(type_label(dest_type) or "(no type)")
        if dest_type in DESKTOP_ONLY_TYPES:
            kind.setToolTip("intu Desktop extension: the intu engine has no log destination.")
        form.addRow(row_label("Type", desktop_only=dest_type in DESKTOP_ONLY_TYPES), kind)
        self.bindings: list[Binding] = [add_row(form, b) for b in _fields(host, self.base, dest_type)]
        if dest_type not in FORM_TYPES:
            note = QLabel(f"intu Desktop does not deliver to “{dest_type}” destinations; "
                          "edit this one in the YAML tab.")
            note.setWordWrap(True)
            form.addRow(note)
        else:
            more = QLabel("Authentication, TLS, headers and retry are edited in the YAML tab.")
            more.setObjectName("fieldNote")
            form.addRow(more)

    def refresh(self) -> None:
        for binding in self.bindings:
            binding.refresh()

    def error_keys(self) -> list[str]:
        return [dotted(self.base)]

    def show_errors(self, errors: list[ConfigError]) -> None:
        distribute(errors, self.bindings)


def _fields(host: FormHost, base: KeyPath, dest_type: str) -> list[Binding]:
    block = (*base, dest_type)

    def text(key: str, label: str, **kw: Any) -> TextBinding:
        return TextBinding(host, (*block, key), label, **kw)

    timeout = text("timeout_ms", "Timeout (ms)", kind="int", optional=True, placeholder="30000")
    if dest_type == "fhir":
        return [
            text("base_url", "Base URL", placeholder="https://fhir.example.org/r4"),
            ChoiceBinding(host, (*block, "version"), "FHIR version",
                          [("R4 (default)", DELETE), ("R4", "R4"), ("STU3", "STU3")]),
            timeout,
        ]
    if dest_type == "http":
        methods = [("POST (default)", DELETE)] + [
            (m, m) for m in ("POST", "PUT", "PATCH", "GET", "DELETE")]
        return [
            text("url", "URL", placeholder="https://example.org/api/studies"),
            ChoiceBinding(host, (*block, "method"), "Method", methods),
            timeout,
        ]
    if dest_type == "dicom":
        return [
            text("host", "Host", placeholder="pacs.example.org"),
            text("port", "Port", kind="int", optional=True, placeholder="104"),
            text("ae_title", "Our AE title", optional=True, placeholder="INTU_SCU"),
            text("called_ae_title", "Their AE title", optional=True, placeholder="ANY-SCP"),
            timeout,
        ]
    if dest_type == "file":
        return [
            PathBinding(host, (*block, "directory"), "Folder", optional=False, directory=True,
                        relative=False),
            text("filename_pattern", "File name pattern", optional=True,
                 placeholder="{{channelId}}/{{messageId}}.json"),
        ]
    if dest_type == "log":
        return [ChoiceBinding(host, (*block, "level"), "Level",
                              [("info (default)", DELETE)]
                              + [(lv, lv) for lv in ("debug", "info", "warn", "error")])]
    return []
