"""How the pipeline reads what validator and transformer scripts return (DESIGN §3).

Two script contracts are supported, and the node/python workers pick the function to call:

- the spec's: ``export default function transform(msg)`` returning
  ``{success: true, body, contentType}`` or ``{success: false, error}``;
- the intu engine's: ``export function transform(msg, ctx)`` returning a message (``null`` /
  ``undefined`` = filter the message out), and ``export function validate(msg)`` that throws
  when the message is invalid.

Call transformers with ``TRANSFORM_FUNCTION`` (the default export when it is a function, else
the named ``transform``) and validators with ``VALIDATE_FUNCTION`` (the named ``validate``, else
the default export). The functions here are pure: no I/O, no exceptions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

TRANSFORM_FUNCTION = "auto:transform"
VALIDATE_FUNCTION = "auto:validate"

# The incoming message's content type describes DICOM, never a script's text output.
_SOURCE_CONTENT_TYPES = frozenset({"dicom", "application/dicom"})


@dataclass(frozen=True)
class TransformOutcome:
    """``ok`` with ``body`` None and ``filtered`` True means the script dropped the message."""

    ok: bool
    body: str | None = None
    content_type: str | None = None
    error: str | None = None
    message: dict[str, Any] | None = None  # the outgoing message in intu's shape
    filtered: bool = False


@dataclass(frozen=True)
class ValidateOutcome:
    valid: bool
    errors: list[str] = field(default_factory=list)


def interpret_transform(value: Any, original_msg: dict[str, Any]) -> TransformOutcome:
    """Turn a transformer's return value (JSON-decoded) into a TransformOutcome."""
    if value is None:
        return TransformOutcome(ok=True, filtered=True)
    if isinstance(value, dict) and isinstance(value.get("success"), bool):
        return _spec_result(value, original_msg)
    if isinstance(value, dict):
        return _intu_message(value, original_msg)
    if isinstance(value, str):
        return _outcome(value, None, original_msg, {})
    if isinstance(value, list):
        return _outcome(_to_text(value), "application/json", original_msg, {})
    return TransformOutcome(
        ok=False,
        error=f"transformer returned {_kind(value)}; expected a message or {{success, body}}",
    )


def interpret_validate(value: Any, error: str | None) -> ValidateOutcome:
    """A validator refuses by throwing (error given), returning false, or returning
    ``{valid: false}`` / ``{success: false}`` with ``error`` or ``errors``."""
    if error is not None:
        return ValidateOutcome(valid=False, errors=[error])
    if value is False:
        return ValidateOutcome(valid=False, errors=["validator returned false"])
    if isinstance(value, dict) and (value.get("valid") is False or value.get("success") is False):
        errors = _error_list(value)
        return ValidateOutcome(
            valid=False, errors=errors or ["validator reported the message invalid"]
        )
    return ValidateOutcome(valid=True)


# -- transform helpers ----------------------------------------------------------------------
def _spec_result(value: dict[str, Any], original_msg: dict[str, Any]) -> TransformOutcome:
    if not value["success"]:
        errors = _error_list(value)
        return TransformOutcome(ok=False, error="; ".join(errors) or "transformer reported failure")
    body = value.get("body")
    if body is None:
        return TransformOutcome(ok=False, error="transformer returned success without a body")
    content_type = value.get("contentType") if isinstance(value.get("contentType"), str) else None
    return _outcome(body, content_type, original_msg, {})


def _intu_message(value: dict[str, Any], original_msg: dict[str, Any]) -> TransformOutcome:
    if "body" not in value:
        # A bare object (for example a FHIR resource) is the new body.
        return _outcome(value, None, original_msg, {})
    body = value["body"]
    if body is None:
        return TransformOutcome(ok=True, filtered=True)
    content_type = value.get("contentType") if isinstance(value.get("contentType"), str) else None
    return _outcome(body, content_type, original_msg, value)


def _outcome(
    body: Any, content_type: str | None, original_msg: dict[str, Any], returned: dict[str, Any]
) -> TransformOutcome:
    text = body if isinstance(body, str) else _to_text(body)
    if content_type is None or content_type.lower() in _SOURCE_CONTENT_TYPES:
        content_type = _guess_content_type(body, text)
    message = {**original_msg, **returned, "body": text, "contentType": content_type}
    return TransformOutcome(ok=True, body=text, content_type=content_type, message=message)


def _to_text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _guess_content_type(body: Any, text: str) -> str:
    parsed = body
    if isinstance(body, str):
        try:
            parsed = json.loads(text)
        except ValueError:
            return "text/plain"
    if isinstance(parsed, dict) and isinstance(parsed.get("resourceType"), str):
        return "application/fhir+json"
    return "application/json"


def _error_list(value: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    raw = value.get("errors")
    if isinstance(raw, list):
        errors.extend(_error_text(item) for item in raw)
    elif raw is not None:
        errors.append(_error_text(raw))
    if value.get("error") is not None:
        errors.append(_error_text(value["error"]))
    return [e for e in errors if e]


def _error_text(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("message"), str):
        return item["message"]
    return _to_text(item)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return "a number"
    return f"a {type(value).__name__}"
