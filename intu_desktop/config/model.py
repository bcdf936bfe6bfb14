"""Plain data model of an intu project and its channels, as loaded and validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intu_desktop.config.errors import ConfigError

# Keys under `listener.dicom` that intu itself does not know; the editor marks them as
# desktop-only so a user knows the file relies on intu Desktop.
DESKTOP_EXTENSION_KEYS: tuple[str, ...] = (
    "accept_any_called_ae",
    "max_associations",
    "acse_timeout_ms",
    "dimse_timeout_ms",
    "network_timeout_ms",
    "max_pdu_length",
    "max_instance_bytes",
    "max_association_bytes",
    "duplicate_policy",
    "calling_ae_hosts",
    "tcp_tuning",
)

DUPLICATE_POLICIES: tuple[str, ...] = ("keep_history", "keep_first", "replace")
SCRIPT_RUNTIMES: tuple[str, ...] = ("node", "python")
# Destination types the desktop app can deliver to; others load fine and are shown as
# unsupported at run time. `log` is a desktop extension.
SUPPORTED_DESTINATION_TYPES: tuple[str, ...] = ("http", "fhir", "dicom", "file", "log")


@dataclass
class TlsConfig:
    cert_file: Path
    key_file: Path
    ca_file: Path | None = None
    client_auth: str = "none"  # "none" | "request" | "require"
    min_version: str = "1.2"  # "1.2" | "1.3"; TLS 1.0/1.1 are never offered


@dataclass
class ScriptConfig:
    runtime: str  # "node" | "python" (python is a desktop extension)
    entrypoint: Path  # absolute
    timeout_ms: int = 10000  # desktop extension


@dataclass
class RetryConfig:
    max_attempts: int = 5
    backoff: str = "exponential"  # "constant" | "linear" | "exponential"
    initial_delay_ms: int = 1000
    max_delay_ms: int = 60000
    jitter: bool = True


@dataclass
class DestinationConfig:
    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)  # the block under `<type>:`
    retry: RetryConfig = field(default_factory=RetryConfig)
    source: Path = Path()
    line: int = 0
    raw: dict[str, Any] = field(default_factory=dict)  # whole definition (queue, filter, ...)

    @property
    def supported(self) -> bool:
        return self.type in SUPPORTED_DESTINATION_TYPES


@dataclass
class DicomListenerConfig:
    port: int
    ae_title: str = "INTU_SCP"  # the spec's default
    calling_ae_titles: list[str] = field(default_factory=list)  # empty: any calling AE
    tls: TlsConfig | None = None  # None: TLS off
    # Desktop extensions (DESKTOP_EXTENSION_KEYS)
    accept_any_called_ae: bool = False
    max_associations: int = 16
    acse_timeout_ms: int = 30000
    dimse_timeout_ms: int = 60000
    network_timeout_ms: int = 60000
    max_pdu_length: int = 1048576  # what we advertise, and the cap on what we accept
    max_instance_bytes: int = 0  # 0: unlimited
    max_association_bytes: int = 0  # 0: unlimited
    duplicate_policy: str = "keep_history"
    calling_ae_hosts: dict[str, list[str]] = field(default_factory=dict)  # empty: any host
    tcp_tuning: bool = True


@dataclass
class ChannelConfig:
    id: str
    path: Path  # the channel.yaml
    folder: Path
    enabled: bool = True
    description: str = ""
    tags: list[str] = field(default_factory=list)
    group: str = ""
    listener_type: str = ""
    dicom: DicomListenerConfig | None = None
    validator: ScriptConfig | None = None
    transformer: ScriptConfig | None = None
    destinations: list[DestinationConfig] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)
    # False when the channel lists `profiles:` and the active profile is not among them;
    # intu does not load such a channel, we show it but do not run it.
    in_profile: bool = True
    # 1-based line of every key path in the file ("listener.dicom.port" -> 7), for editors
    # and for errors found after parsing (duplicate ids and ports).
    key_lines: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def runnable(self) -> bool:
        """An enabled, error-free dicom channel for the active profile."""
        return (
            self.enabled
            and self.in_profile
            and self.listener_type == "dicom"
            and self.dicom is not None
            and not self.errors
        )


@dataclass
class Project:
    root: Path | None
    intu_file: Path | None
    profile: str
    channels: list[ChannelConfig] = field(default_factory=list)
    destinations: dict[str, DestinationConfig] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def dicom_channels(self) -> list[ChannelConfig]:
        return [c for c in self.channels if c.runnable]
