"""`listener.dicom` of a channel: the spec's keys, TLS, and the desktop extensions."""

from __future__ import annotations

from pathlib import Path

from intu_desktop.config.errors import ConfigError
from intu_desktop.config.model import DUPLICATE_POLICIES, DicomListenerConfig, TlsConfig
from intu_desktop.config.values import (
    ae_title_problem,
    check_ae_title,
    check_choice,
    check_range,
    read_bool,
    read_str,
    resolve_path,
)
from intu_desktop.config.yamlnode import YNode, is_bool

CLIENT_AUTH = ("none", "request", "require")
TLS_VERSIONS = ("1.2", "1.3")  # PS3.15 Annex B profiles; TLS 1.0/1.1 are not offered
# A PDU length below DCMTK's minimum (4096) makes no sense; the field is 32 bits (PS3.8 §9.3.1).
MIN_PDU = 4096
MAX_PDU = 0xFFFFFFFF


def parse_dicom_listener(listener: YNode, errors: list[ConfigError]) -> DicomListenerConfig | None:
    node = listener.child("dicom")
    if node is None:
        errors.append(
            listener.missing("dicom", "a dicom listener needs a `dicom:` block with `port`")
        )
        return None
    if not node.is_map():
        return None
    defaults = DicomListenerConfig(port=0)
    port_node = node.child("port")
    if port_node is None:
        errors.append(node.missing("port"))
    ae_node = node.child("ae_title")
    return DicomListenerConfig(
        port=check_range(port_node, errors, 0, 1, 65535),
        ae_title=check_ae_title(ae_node, errors) or defaults.ae_title,
        calling_ae_titles=_calling_ae_titles(node.child("calling_ae_titles"), errors),
        tls=parse_tls(node.child("tls"), errors),
        accept_any_called_ae=read_bool(node.child("accept_any_called_ae"), False),
        max_associations=check_range(
            node.child("max_associations"), errors, defaults.max_associations, 1
        ),
        acse_timeout_ms=check_range(
            node.child("acse_timeout_ms"), errors, defaults.acse_timeout_ms, 1
        ),
        dimse_timeout_ms=check_range(
            node.child("dimse_timeout_ms"), errors, defaults.dimse_timeout_ms, 1
        ),
        network_timeout_ms=check_range(
            node.child("network_timeout_ms"), errors, defaults.network_timeout_ms, 1
        ),
        max_pdu_length=check_range(
            node.child("max_pdu_length"), errors, defaults.max_pdu_length, MIN_PDU, MAX_PDU
        ),
        max_instance_bytes=check_range(node.child("max_instance_bytes"), errors, 0, 0),
        max_association_bytes=check_range(node.child("max_association_bytes"), errors, 0, 0),
        duplicate_policy=check_choice(
            node.child("duplicate_policy"), errors, defaults.duplicate_policy, DUPLICATE_POLICIES
        ),
        calling_ae_hosts=_calling_ae_hosts(node.child("calling_ae_hosts"), errors),
        tcp_tuning=read_bool(node.child("tcp_tuning"), True),
    )


def _calling_ae_titles(node: YNode | None, errors: list[ConfigError]) -> list[str]:
    titles: list[str] = []
    for item in node.items() if node is not None else ():
        title = check_ae_title(item, errors)
        if title is not None and title not in titles:
            titles.append(title)
    return titles


def _calling_ae_hosts(node: YNode | None, errors: list[ConfigError]) -> dict[str, list[str]]:
    hosts: dict[str, list[str]] = {}
    for title, entry in node.entries() if node is not None else ():
        problem = ae_title_problem(title)
        if problem is not None:
            errors.append(entry.error(problem))
            continue
        if isinstance(entry.value, str):
            addresses = [entry.value]
        elif isinstance(entry.value, list):
            addresses = [v for v in entry.value if isinstance(v, str)]
        else:
            addresses = []  # null, or a type error already reported
        if not addresses or any(not a.strip() for a in addresses):
            errors.append(
                entry.error("list at least one host address (an empty one is not allowed)")
            )
            continue
        hosts[title.strip(" ")] = [a.strip() for a in addresses]
    return hosts


def parse_tls(node: YNode | None, errors: list[ConfigError]) -> TlsConfig | None:
    """TLS is on with `enabled: true`, or with both `cert_file` and `key_file` unless
    `enabled: false` (DESIGN §4). Returns None when TLS is off or unusable (error recorded)."""
    if node is None or not node.is_map():
        return None
    enabled_node = node.child("enabled")
    enabled = bool(enabled_node.value) if enabled_node and is_bool(enabled_node.value) else None
    cert_node, key_node = node.child("cert_file"), node.child("key_file")
    if enabled is False:
        return None
    if enabled is None and cert_node is None and key_node is None:
        return None
    # On, or half-configured: a lone cert_file or key_file is a mistake, not a reason to
    # silently accept plain-text connections.
    cert = _existing_file(node, "cert_file", errors, required=True)
    key = _existing_file(node, "key_file", errors, required=True)
    ca = _existing_file(node, "ca_file", errors, required=False)
    client_auth_node = node.child("client_auth")
    client_auth = check_choice(client_auth_node, errors, "none", CLIENT_AUTH)
    if client_auth_node is not None and client_auth != "none" and node.child("ca_file") is None:
        errors.append(
            client_auth_node.error(
                f"client_auth {client_auth!r} needs ca_file to verify client certificates"
            )
        )
    min_version = _min_version(node.child("min_version"), errors)
    if cert is None or key is None:
        return None
    return TlsConfig(cert, key, ca, client_auth=client_auth, min_version=min_version)


def _existing_file(
    tls: YNode, key: str, errors: list[ConfigError], *, required: bool
) -> Path | None:
    node = tls.child(key)
    if node is None:
        if required:
            errors.append(tls.missing(key, f"TLS is on but `{key}` is missing"))
        return None
    text = read_str(node)
    if not text:
        if isinstance(node.value, str):
            errors.append(node.error("must not be empty"))
        return None
    path = resolve_path(text, node.file)
    if not path.is_file():
        errors.append(node.error(f"file not found: {path}"))
        return None
    return path


def _min_version(node: YNode | None, errors: list[ConfigError]) -> str:
    if node is None:
        return "1.2"
    value = node.value
    if isinstance(value, str):
        text = value
    elif isinstance(value, (int, float)) and not is_bool(value):
        text = str(float(value))  # unquoted `1.2` is a YAML float
    else:
        return "1.2"  # type error already reported
    if text not in TLS_VERSIONS:
        errors.append(node.error(f"must be one of {', '.join(TLS_VERSIONS)}; got {value!r}"))
        return "1.2"
    return text
