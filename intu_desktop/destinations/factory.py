"""Builds a Destination from its configuration (one class per type)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from intu_desktop.config.model import SUPPORTED_DESTINATION_TYPES, DestinationConfig
from intu_desktop.destinations.base import Destination
from intu_desktop.destinations.dicom import DicomDestination
from intu_desktop.destinations.fhir import FhirDestination
from intu_desktop.destinations.file import FileDestination
from intu_desktop.destinations.http import HttpDestination
from intu_desktop.destinations.log import LogDestination
from intu_desktop.destinations.settings import SettingsError

_BUILDERS: dict[str, Callable[[str, dict[str, Any], Path], Destination]] = {
    "http": HttpDestination,
    "fhir": FhirDestination,
    "dicom": DicomDestination,
    "file": FileDestination,
    "log": LogDestination,
}


def build_destination(config: DestinationConfig, base_dir: Path) -> Destination:
    """Raises SettingsError when the type is not supported or a setting cannot be used.

    base_dir: relative paths in the settings (directories, TLS files) are relative to it.
    """
    builder = _BUILDERS.get(config.type)
    if builder is None:
        supported = ", ".join(SUPPORTED_DESTINATION_TYPES)
        raise SettingsError(f"destination type {config.type!r} is not supported by intu Desktop ({supported})")
    return builder(config.name, dict(config.options or {}), base_dir)
