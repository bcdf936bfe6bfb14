"""Validator and transformer: runtime, entry point (relative to the channel folder), and a
button that opens the script in the system's editor."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QPushButton

from intu_desktop.gui.editor.bindings import (
    DELETE,
    ChoiceBinding,
    FormHost,
    FormPart,
    PathBinding,
    TextBinding,
    add_row,
)

SCRIPT_FILTER = "Scripts (*.ts *.js *.mjs *.py);;All files (*)"
RUNTIME_CHOICES = [
    ("not set: node, or python for a .py file", DELETE),
    ("node", "node"),
    ("python (desktop only)", "python"),
]


def script_section(host: FormHost, name: str) -> tuple[QGroupBox, list[FormPart]]:
    """`name` is "validator" or "transformer"."""
    box = QGroupBox(name.capitalize())
    form = QFormLayout(box)
    runtime = ChoiceBinding(
        host, (name, "runtime"), "Runtime", RUNTIME_CHOICES,
        note="“python” is an intu Desktop extension; the intu engine runs node scripts only.")
    entry = PathBinding(
        host, (name, "entrypoint"), "Entry point", file_filter=SCRIPT_FILTER, open_button=True,
        placeholder=f"{name}.ts, relative to the channel folder")
    timeout = TextBinding(host, (name, "timeout_ms"), "Timeout (ms)", kind="int", optional=True,
                          placeholder="10000")
    add_row(form, runtime)
    add_row(form, entry)
    add_row(form, timeout, desktop_only=True)
    remove = QPushButton(f"Remove {name}")
    remove.setObjectName(f"remove_{name}")
    remove.clicked.connect(lambda: host.change((name,), DELETE, f"remove {name}"))
    form.addRow("", remove)
    return box, [runtime, entry, timeout]
