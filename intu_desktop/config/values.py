"""Typed reads of YAML values and the value rules shared by channel and destination parsing.

Type mismatches are reported once by `schema.check_types`; the readers here simply fall back
to the default for a value of the wrong type, so no error is reported twice.
"""

from __future__ import annotations

import os
from pathlib import Path

from intu_desktop.config.errors import ConfigError
from intu_desktop.config.yamlnode import YNode, is_bool, is_int

AE_TITLE_MAX = 16


def read_str(node: YNode | None, default: str = "") -> str:
    return str(node.value) if node is not None and isinstance(node.value, str) else default


def read_int(node: YNode | None, default: int) -> int:
    return int(node.value) if node is not None and is_int(node.value) else default


def read_bool(node: YNode | None, default: bool) -> bool:
    return bool(node.value) if node is not None and is_bool(node.value) else default


def read_str_list(node: YNode | None) -> list[str]:
    if node is None or not isinstance(node.value, list):
        return []
    return [str(v) for v in node.value if isinstance(v, str)]


def ae_title_problem(value: str) -> str | None:
    """Why `value` is not a valid AE title, or None.

    PS3.5 §6.2 (VR AE): at most 16 characters of the default repertoire, excluding the
    backslash and control characters; leading and trailing spaces are not significant, and
    a value of only spaces shall not be used.
    """
    significant = value.strip(" ")
    if not significant:
        return "AE title must not be empty or only spaces (PS3.5 §6.2)"
    if len(significant) > AE_TITLE_MAX:
        return f"AE title {significant!r} is longer than {AE_TITLE_MAX} characters (PS3.5 §6.2)"
    if "\\" in significant:
        return f"AE title {significant!r} must not contain a backslash (PS3.5 §6.2)"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in significant):
        return "AE title must not contain control characters (PS3.5 §6.2)"
    if any(ord(c) > 0x7E for c in significant):
        return (
            f"AE title {significant!r} must use only ASCII characters "
            "(default character repertoire, PS3.5 §6.2)"
        )
    return None


def check_ae_title(node: YNode | None, errors: list[ConfigError]) -> str | None:
    """The AE title with insignificant spaces removed, or None (error recorded) when invalid."""
    if node is None or not isinstance(node.value, str):
        return None
    problem = ae_title_problem(node.value)
    if problem is not None:
        errors.append(node.error(problem))
        return None
    return node.value.strip(" ")


def check_range(
    node: YNode | None,
    errors: list[ConfigError],
    default: int,
    minimum: int,
    maximum: int | None = None,
) -> int:
    value = read_int(node, default)
    if node is None or not is_int(node.value):
        return value
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        errors.append(node.error(f"must be {bound}, got {value}"))
        return default
    return value


def check_choice(
    node: YNode | None, errors: list[ConfigError], default: str, choices: tuple[str, ...]
) -> str:
    if node is None or not isinstance(node.value, str):
        return default
    if node.value not in choices:
        errors.append(node.error(f"must be one of {', '.join(choices)}; got {node.value!r}"))
        return default
    return str(node.value)


def resolve_path(text: str, declared_in: Path) -> Path:
    """A path from a config file: `~` expanded, relative paths taken from the file's folder."""
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = declared_in.parent / path
    # abspath, not resolve(): keep the user's symlinks as written.
    return Path(os.path.abspath(path))
