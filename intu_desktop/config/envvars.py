"""`.env` files and `${VAR}` expansion, the way the intu engine reads them.

A `.env` value never overrides a variable already in the environment, and `${VAR}` is
replaced only when VAR exists; otherwise the text stays as written (DESIGN §4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from intu_desktop.config.errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
_TYPED_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


def read_dotenv(path: Path) -> tuple[dict[str, str], list[ConfigError]]:
    """Parse KEY=VALUE lines; `#` comments, `export ` prefixes and quotes are understood."""
    values: dict[str, str] = {}
    errors: list[ConfigError] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return values, errors
    except (OSError, UnicodeDecodeError) as exc:
        return values, [ConfigError(path, 1, "(syntax)", f"cannot read file: {exc}")]
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ENV_LINE.match(stripped)
        if match is None:
            errors.append(ConfigError(path, number, "(syntax)", "expected KEY=VALUE"))
            continue
        values[match.group(1)] = _dotenv_value(match.group(2))
    return values, errors


def _dotenv_value(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        if text[0] == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        return inner
    # An unquoted value ends at a comment that follows whitespace.
    comment = re.search(r"\s#", text)
    return text[: comment.start()].rstrip() if comment else text


def environment(base: Mapping[str, str], dotenv: Mapping[str, str]) -> dict[str, str]:
    """`base` (normally os.environ) overlaid by .env values for keys not already set."""
    env = dict(base)
    for key, value in dotenv.items():
        env.setdefault(key, value)
    return env


def expand_text(text: str, env: Mapping[str, str]) -> str:
    # One pass: a value that itself contains `${...}` is not expanded again.
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), text)


def unresolved_variables(text: str) -> list[str]:
    return _VAR.findall(text)


def expand_tree(value: Any, env: Mapping[str, str]) -> Any:
    """Expand `${VAR}` in every string of a loaded YAML tree, in place where possible.

    A plain (unquoted) scalar is re-typed after expansion, as if the text had been written
    there: `port: ${DICOM_PORT}` becomes the integer 4104. Quoted scalars stay strings.
    """
    if isinstance(value, dict):
        for key in list(value.keys()):
            value[key] = expand_tree(value[key], env)
        return value
    if isinstance(value, list):
        for i, item in enumerate(value):
            value[i] = expand_tree(item, env)
        return value
    if isinstance(value, str) and "${" in value:
        expanded = expand_text(value, env)
        if expanded == value:
            return value
        if type(value) is str:  # plain style; quoted ones are ScalarString subclasses
            return _retype_plain(expanded)
        return expanded
    return value


def _retype_plain(text: str) -> Any:
    # A fresh resolver per call: ruamel's resolve() grows its internal lists on every call.
    tag = str(VersionedResolver().resolve(ScalarNode, text, (True, False)))
    if tag in _TYPED_TAGS and "\n" not in text:
        return YAML(typ="safe", pure=True).load(text)
    return text
