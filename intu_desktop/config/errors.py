"""The one error type configuration loading reports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConfigError:
    """A problem in a configuration file, located by file, 1-based line and dotted key path.

    Loading collects these instead of raising, so the user sees every problem at once.
    """

    file: Path
    line: int
    key_path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.key_path}: {self.message}"
