"""OpenAPI postprocessing: every operation documents the error answers it can give.

The error answers are the same everywhere (the exception handler in livescore/api.py, DRF's
throttles and authentication), so they are added here once instead of on every view: a
client generated from the schema alone then knows every status it may see.
"""

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "what went wrong, for people"},
        "code": {"type": "string", "description": "a stable code, e.g. unavailable"},
    },
    "required": ["detail"],
}
# Validation errors name the fields at fault: {"field": ["message", ...], ...}.
VALIDATION_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "description": "fields at fault with their messages, or `detail`",
}


def _error(description: str, schema_ref: str = "Error") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


COMMON = {
    "400": _error(
        "invalid input: a field, an unknown query parameter or a broken rule; nothing changed",
        "ValidationError",
    ),
    "401": _error("credentials were sent but are not valid, or are required"),
    "403": _error("signed in, but not allowed to do this"),
    "429": {
        **_error("rate limit exceeded; wait `Retry-After` seconds"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    "503": {
        **_error("a store is briefly unavailable (code `unavailable`); retry after `Retry-After`"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
NOT_FOUND = _error("no such object, or a page past the last one")


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("ValidationError", VALIDATION_SCHEMA)
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, response in COMMON.items():
                responses.setdefault(status, response)
            params = {p.get("name") for p in operation.get("parameters", [])}
            if "{" in path or "page" in params:
                responses.setdefault("404", NOT_FOUND)
    return result
