"""intu channel and project configuration: loading, model, validation, round-trip editing.

No Qt here; the GUI's channel editor builds on `YamlDocument`.
"""

from __future__ import annotations

from intu_desktop.config.default_project import ensure_default_project
from intu_desktop.config.document import YamlDocument
from intu_desktop.config.errors import ConfigError
from intu_desktop.config.extensions import desktop_extensions_used
from intu_desktop.config.model import (
    DESKTOP_EXTENSION_KEYS,
    ChannelConfig,
    DestinationConfig,
    DicomListenerConfig,
    Project,
    RetryConfig,
    ScriptConfig,
    TlsConfig,
)
from intu_desktop.config.project import check_channel_text, load_channel_files, load_project

__all__ = [
    "DESKTOP_EXTENSION_KEYS",
    "ChannelConfig",
    "ConfigError",
    "DestinationConfig",
    "DicomListenerConfig",
    "Project",
    "RetryConfig",
    "ScriptConfig",
    "TlsConfig",
    "YamlDocument",
    "check_channel_text",
    "desktop_extensions_used",
    "ensure_default_project",
    "load_channel_files",
    "load_project",
]
