"""Checks a transformer's output against the FHIR R4 model and reports readable warnings.

fhir.resources 8 ships R4 as ``fhir.resources.R4B`` (R4B only adds resources, the R4 ones are
unchanged). The check never raises and never quotes element values, which may hold PHI: a
warning names the element path and what is wrong with it, for example
``ImagingStudy.series[0].instance[0].numberOfFrames: not an element of R4 ImagingStudy``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_WARNINGS = 50


def check_fhir(body: str) -> list[str]:
    """Warnings about body as a FHIR R4 resource; an empty list means it is valid."""
    try:
        return _check(body)
    except Exception as exc:  # a checker bug must never fail the pipeline
        log.exception("FHIR check failed")
        return [f"FHIR check could not run: {type(exc).__name__}"]


def warm_up() -> None:
    """Import the R4 models and build ImagingStudy's validator ahead of the first message.

    Both happen lazily on first use (about half a second of CPU under the GIL): done by
    the pipeline at start, in the background, they no longer slow the first study's receive.
    """
    check_fhir('{"resourceType": "ImagingStudy", "status": "available", "subject": {"reference": "Patient/x"}}')


def _check(body: str) -> list[str]:
    try:
        data = json.loads(body)
    except (TypeError, ValueError) as exc:
        return [f"not valid JSON: {_json_error(exc)}"]
    if not isinstance(data, dict):
        return ["not a FHIR resource: expected a JSON object"]
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return ["not a FHIR resource: resourceType is missing"]

    from fhir.resources.R4B import get_fhir_model_class  # import costs ~0.3 s: only when used
    from pydantic import ValidationError

    try:
        model = get_fhir_model_class(resource_type)
    except (ValueError, KeyError, AttributeError, ImportError):
        return [f"resourceType: {resource_type} is not an R4 resource"]
    try:
        model.model_validate(data)
    except ValidationError as exc:
        warnings = [_describe(resource_type, data, err) for err in exc.errors()]
        if len(warnings) > _MAX_WARNINGS:
            warnings = warnings[:_MAX_WARNINGS] + [f"... {len(warnings) - _MAX_WARNINGS} more"]
        return warnings
    return []


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return type(exc).__name__


def _describe(resource_type: str, data: dict[str, Any], error: Any) -> str:
    loc = [
        part for part in error.get("loc", ()) if isinstance(part, int) or _IDENTIFIER.match(part)
    ]
    path = resource_type
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        problem = f"not an element of R4 {_innermost_resource_type(data, loc) or resource_type}"
    elif kind == "missing":
        problem = "required element missing"
    elif kind == "string_pattern_mismatch":
        # FHIR primitives forbid empty strings; a DICOM attribute that was absent often ends
        # up as "" in a transformer's output.
        value = error.get("input")
        if isinstance(value, str) and not value.strip():
            problem = "empty value (FHIR does not allow empty strings)"
        else:
            problem = "value does not have the format R4 requires for this element"
    else:
        problem = str(error.get("msg", "invalid"))
        problem = problem.removeprefix("Value error, ")
        problem = " ".join(problem.split())  # some messages span lines
    return f"{path}: {problem}"


def _innermost_resource_type(data: Any, loc: list[Any]) -> str | None:
    """In a Bundle or a contained resource, the type of the resource the element belongs to."""
    found = None
    node = data
    for part in loc[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("resourceType"), str):
            found = node["resourceType"]
    return found
