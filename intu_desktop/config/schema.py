"""Type checking of loaded YAML against intu's JSON schemas, with file:line for each error.

Only the *types* of known keys are checked here (plus the desktop extensions, declared
below). Enums are deliberately not enforced: intu accepts listener and destination types the
desktop app does not run, and those are shown as unsupported rather than rejected. The
semantic rules (required keys, ranges, AE titles, files) live in the channel and destination
parsers.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from intu_desktop.config.envvars import unresolved_variables
from intu_desktop.config.errors import ConfigError
from intu_desktop.config.yamlnode import YNode, is_bool, is_int

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}

# Keys intu Desktop understands beyond intu's schemas (types only).
_DICOM_LISTENER_EXTENSIONS: dict[str, Any] = {
    "accept_any_called_ae": {"type": "boolean"},
    "max_associations": {"type": "integer"},
    "acse_timeout_ms": {"type": "integer"},
    "dimse_timeout_ms": {"type": "integer"},
    "network_timeout_ms": {"type": "integer"},
    "max_pdu_length": {"type": "integer"},
    "max_instance_bytes": {"type": "integer"},
    "max_association_bytes": {"type": "integer"},
    "duplicate_policy": {"type": "string"},
    "calling_ae_hosts": {
        "type": "object",
        "additionalProperties": {"type": ["array", "string"], "items": {"type": "string"}},
    },
    "tcp_tuning": {"type": "boolean"},
}
_LOG_DESTINATION = {"type": "object", "description": "intu Desktop: write to the app log"}


@dataclass(frozen=True)
class Schemas:
    channel: dict[str, Any]
    profile: dict[str, Any]


def load_schemas() -> Schemas:
    """intu's channel and profile schemas as shipped in the package, with desktop extensions."""
    folder = resources.files("intu_desktop") / "resources" / "schemas"
    channel = json.loads((folder / "intu-channel.schema.json").read_text(encoding="utf-8"))
    profile = json.loads((folder / "intu-profile.schema.json").read_text(encoding="utf-8"))
    return Schemas(channel=_extend_channel(channel), profile=_extend_profile(profile))


def load_raw_schema(name: str) -> dict[str, Any]:
    """One of intu's schemas unchanged (`intu-channel` or `intu-profile`), e.g. for jsonschema."""
    folder = resources.files("intu_desktop") / "resources" / "schemas"
    schema: dict[str, Any] = json.loads((folder / f"{name}.schema.json").read_text("utf-8"))
    return schema


def _extend_channel(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    props = schema["properties"]
    props["listener"]["properties"]["dicom"]["properties"].update(_DICOM_LISTENER_EXTENSIONS)
    for script in ("validator", "transformer"):
        props[script]["properties"]["timeout_ms"] = {"type": "integer"}
    for option in props["destinations"]["items"]["oneOf"]:
        if option.get("type") == "object":
            option["properties"]["log"] = _LOG_DESTINATION
    _relax_tls(schema)
    return schema


def _extend_profile(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    schema["properties"]["destinations"]["additionalProperties"]["properties"]["log"] = (
        _LOG_DESTINATION
    )
    _relax_tls(schema)
    return schema


def _relax_tls(schema: dict[str, Any]) -> None:
    # `min_version: 1.2` unquoted is a YAML float; the parser accepts it and checks the value.
    schema["definitions"]["tls"]["properties"]["min_version"] = {"type": ["string", "number"]}


def check_types(node: YNode, schema: dict[str, Any], root: dict[str, Any]) -> list[ConfigError]:
    """Every type mismatch between `node` and `schema`; unknown keys are ignored."""
    errors: list[ConfigError] = []
    _check(node, schema, root, errors)
    return errors


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"]
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _matches(value: Any, type_name: str) -> bool:
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        return is_int(value)
    if type_name == "number":
        return (is_int(value) or isinstance(value, float)) and not is_bool(value)
    if type_name == "boolean":
        return is_bool(value)
    if type_name == "array":
        return isinstance(value, list)
    if type_name == "object":
        return isinstance(value, dict)
    if type_name == "null":
        return value is None
    return True


def _describe(value: Any) -> str:
    if is_bool(value):
        return f"the boolean {str(bool(value)).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    return f"{value!r}"


def _type_error(node: YNode, expected: list[str]) -> ConfigError:
    words = " or ".join(_TYPE_WORDS.get(t, t) for t in expected)
    message = f"expected {words}, got {_describe(node.value)}"
    if isinstance(node.value, str):
        unset = unresolved_variables(node.value)
        if unset:
            message += f" (environment variable {', '.join(unset)} is not set)"
    return node.error(message)


def _check(
    node: YNode, schema: dict[str, Any], root: dict[str, Any], out: list[ConfigError]
) -> None:
    schema = _resolve(schema, root)
    if node.value is None:
        return  # an empty value counts as absent; required keys are checked elsewhere
    if "oneOf" in schema:
        options = [_resolve(s, root) for s in schema["oneOf"]]
        for option in options:
            if _matches(node.value, option.get("type", "")):
                _check(node, option, root, out)
                return
        out.append(_type_error(node, [str(o.get("type")) for o in options]))
        return
    expected = schema.get("type")
    if expected is not None:
        names = expected if isinstance(expected, list) else [expected]
        if not any(_matches(node.value, t) for t in names):
            out.append(_type_error(node, names))
            return
    if isinstance(node.value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, child in node.entries():
            if key in props:
                _check(child, props[key], root, out)
            elif isinstance(extra, dict):
                _check(child, extra, root, out)
    elif isinstance(node.value, list) and isinstance(schema.get("items"), dict):
        for item in node.items():
            _check(item, schema["items"], root, out)
