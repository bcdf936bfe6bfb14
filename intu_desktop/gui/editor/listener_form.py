"""The channel's header (id, description, enabled, tags, group) and its DICOM listener:
port, AE title, calling AE titles and TLS."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel

from intu_desktop.config.yamlnode import is_int
from intu_desktop.gui.editor.ae_list import CallingAeList
from intu_desktop.gui.editor.bindings import (
    DELETE,
    CheckBinding,
    ChoiceBinding,
    FormHost,
    FormPart,
    PathBinding,
    TextBinding,
    add_row,
    row_label,
)

DICOM = ("listener", "dicom")
TLS = (*DICOM, "tls")
PEM_FILTER = "PEM files (*.pem *.crt *.cer *.key);;All files (*)"


def header_section(host: FormHost) -> tuple[QGroupBox, list[FormPart]]:
    box = QGroupBox("Channel")
    form = QFormLayout(box)
    parts: list[FormPart] = [
        add_row(form, TextBinding(host, ("id",), "Id", note="Unique in the project; the "
                                  "channel's folder keeps its name.")),
        add_row(form, TextBinding(host, ("description",), "Description", optional=True)),
        add_row(form, CheckBinding(host, ("enabled",), "Enabled", default=True,
                                   text="Run this channel")),
        add_row(form, TextBinding(host, ("tags",), "Tags", kind="list", optional=True,
                                  placeholder="comma separated, e.g. radiology, ct")),
        add_row(form, TextBinding(host, ("group",), "Group", optional=True)),
    ]
    return box, parts


def _port_hint(value: Any) -> str | None:
    if is_int(value) and 0 < value < 1024:
        return f"Port {value} is below 1024: listening on it needs administrator rights."
    return None


def dicom_section(host: FormHost) -> tuple[QGroupBox, list[FormPart]]:
    box = QGroupBox("DICOM listener (C-STORE SCP)")
    form = QFormLayout(box)
    port = TextBinding(
        host, (*DICOM, "port"), "Port", kind="int", placeholder="4104",
        note="1–65535. Ports below 1024 need administrator rights; 4104 is the usual "
             "DICOM port without them, 2762 the usual one with TLS.",
        hint=_port_hint)
    ae_title = TextBinding(
        host, (*DICOM, "ae_title"), "AE title", placeholder="INTU_SCP",
        note="What senders must address as the called AE: at most 16 characters, no "
             "backslash or control characters, not only spaces (PS3.5 §6.2).")
    calling = CallingAeList(host, (*DICOM, "calling_ae_titles"))
    add_row(form, port)
    add_row(form, ae_title)
    form.addRow(row_label(calling.label), calling.container)
    return box, [port, ae_title, calling]


def tls_section(host: FormHost) -> tuple[QGroupBox, list[FormPart]]:
    box = QGroupBox("TLS (PS3.15 Annex B)")
    form = QFormLayout(box)
    parts: list[FormPart] = [
        add_row(form, ChoiceBinding(
            host, (*TLS, "enabled"), "TLS",
            [("automatic: on when a certificate and key are given", DELETE),
             ("on", True), ("off", False)])),
        add_row(form, PathBinding(host, (*TLS, "cert_file"), "Certificate",
                                  file_filter=PEM_FILTER, placeholder="PEM certificate")),
        add_row(form, PathBinding(host, (*TLS, "key_file"), "Private key",
                                  file_filter=PEM_FILTER,
                                  placeholder="PEM private key, without a passphrase")),
        add_row(form, PathBinding(host, (*TLS, "ca_file"), "CA certificates",
                                  file_filter=PEM_FILTER,
                                  placeholder="PEM bundle that signs client certificates")),
        add_row(form, ChoiceBinding(
            host, (*TLS, "client_auth"), "Client certificates",
            [("not asked for (default)", DELETE), ("none", "none"), ("request", "request"),
             ("require (mutual TLS)", "require")],
            note="“require” refuses senders without a certificate signed by the CA file.")),
        add_row(form, ChoiceBinding(
            host, (*TLS, "min_version"), "Minimum version",
            [("TLS 1.2 (default)", DELETE), ("TLS 1.2", "1.2"), ("TLS 1.3", "1.3")])),
    ]
    return box, parts


def not_dicom_text(listener_type: str) -> str:
    return (f"This channel's listener type is “{listener_type or 'not set'}”. intu Desktop "
            "runs only DICOM listeners; edit other listeners in the YAML tab.")


def not_dicom_notice(listener_type: str) -> QLabel:
    label = QLabel(not_dicom_text(listener_type))
    label.setWordWrap(True)
    return label
