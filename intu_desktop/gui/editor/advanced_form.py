"""Advanced listener settings. All are intu Desktop extensions (DESKTOP_EXTENSION_KEYS), so
every row is marked; an empty field removes the key and the default applies."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel

from intu_desktop.config.model import DUPLICATE_POLICIES, DicomListenerConfig
from intu_desktop.gui.editor.bindings import (
    DELETE,
    CheckBinding,
    ChoiceBinding,
    FormHost,
    FormPart,
    TextBinding,
    add_row,
)

DICOM = ("listener", "dicom")
_DEFAULTS = DicomListenerConfig(port=0)
_POLICY_WORDS = {
    "keep_history": "keep every version (newest is current)",
    "keep_first": "keep the first, answer success to repeats",
    "replace": "replace with the newest",
}


def advanced_section(host: FormHost) -> tuple[QGroupBox, list[FormPart]]:
    box = QGroupBox("Advanced (desktop only)")
    box.setToolTip("intu Desktop extensions: the intu engine would reject these keys.")
    form = QFormLayout(box)
    intro = QLabel("These settings exist only in intu Desktop. Leave a field empty to use "
                   "the default and keep the file valid for the intu engine.")
    intro.setWordWrap(True)
    form.addRow(intro)

    def number(key: str, label: str, note: str = "") -> TextBinding:
        default = getattr(_DEFAULTS, key)
        return TextBinding(host, (*DICOM, key), label, kind="int", optional=True,
                           placeholder=f"default {default}", note=note)

    parts: list[FormPart] = [
        number("acse_timeout_ms", "Association timeout (ms)",
               "How long a connection may wait before requesting an association (ARTIM)."),
        number("dimse_timeout_ms", "Message timeout (ms)"),
        number("network_timeout_ms", "Network timeout (ms)"),
        number("max_associations", "Maximum associations",
               "More at once are refused with “local limit exceeded” (PS3.8 §9.3.4)."),
        number("max_pdu_length", "Maximum PDU length (bytes)"),
        number("max_instance_bytes", "Maximum instance size (bytes)", "0: unlimited."),
        number("max_association_bytes", "Maximum bytes per association", "0: unlimited."),
        ChoiceBinding(host, (*DICOM, "duplicate_policy"), "Same SOP instance again",
                      [(f"default: {_POLICY_WORDS[_DEFAULTS.duplicate_policy]}", DELETE)]
                      + [(_POLICY_WORDS.get(p, p), p) for p in DUPLICATE_POLICIES]),
        CheckBinding(host, (*DICOM, "accept_any_called_ae"), "Any called AE", default=False,
                     text="Accept any called AE title (for troubleshooting)"),
        CheckBinding(host, (*DICOM, "tcp_tuning"), "TCP tuning", default=True,
                     text="Counter senders' Nagle delays (TCP_NODELAY, quick ACKs)"),
    ]
    for part in parts:
        add_row(form, part, desktop_only=True)  # type: ignore[arg-type]
    hosts = QLabel("Calling AE host restrictions (calling_ae_hosts) are edited in the YAML tab.")
    hosts.setWordWrap(True)
    form.addRow(hosts)
    return box, parts
