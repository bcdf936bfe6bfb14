"""The default project created on first start, so the app receives images out of the box."""

from __future__ import annotations

import json
import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

DEFAULT_PROJECT_DIR = "default-project"
_EXPORTS_PLACEHOLDER = "__EXPORTS_DIR__"


def ensure_default_project(config_dir: Path, data_dir: Path) -> Path:
    """Create `<config_dir>/default-project` from the packaged template unless its intu.yaml
    exists; return the project folder. Files already there are never overwritten."""
    project = Path(config_dir) / DEFAULT_PROJECT_DIR
    if (project / "intu.yaml").is_file():
        return project
    # A JSON string is a valid YAML double-quoted scalar: safe for any path (Windows
    # backslashes, colons, spaces, non-ASCII).
    exports = json.dumps(str(Path(os.path.abspath(data_dir)) / "exports"), ensure_ascii=False)
    template = resources.files("intu_desktop") / "resources" / "default_project"
    files = sorted(_template_files(template, Path()), key=lambda f: f[1] == Path("intu.yaml"))
    # intu.yaml is written last: if we are interrupted, the next start completes the project.
    for source, relative in files:
        target = project / relative
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8").replace(_EXPORTS_PLACEHOLDER, exports)
        _write_new(target, text)
    return project


def _template_files(folder: Traversable, relative: Path) -> list[tuple[Traversable, Path]]:
    found: list[tuple[Traversable, Path]] = []
    for entry in folder.iterdir():
        if entry.name.startswith("__pycache__"):
            continue
        if entry.is_dir():
            found.extend(_template_files(entry, relative / entry.name))
        else:
            found.append((entry, relative / entry.name))
    return found


def _write_new(target: Path, text: str) -> None:
    temp = target.with_name(f".{target.name}.tmp")
    with open(temp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, target)
