"""What the API defines, read from the OpenAPI document the daemon serves: the one description
that the clients in other languages are checked against.

    document = openapi_document()
    schema_fields(document, "CredentialOut")   # {"name", "kind", "secret", ...}
    nested_schemas(document, "StatusOut")      # {"StatusOut", "StoreStatus", ...}
    error_codes(document)                      # {"not_found", "locked", ...}

A client's coverage test extracts the JSON field names and error codes its source declares
and asserts they include these, so a field added to the API without the clients fails a test.
"""

from __future__ import annotations

from typing import Any

from credd.api.routes import create_app
from credd_client import errors

Document = dict[str, Any]


def openapi_document() -> Document:
    """The document `GET /openapi.json` serves (building it needs no store: routes only)."""
    return create_app(None).openapi()  # type: ignore[arg-type]


def _schemas(document: Document) -> dict[str, Any]:
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


def schema_fields(document: Document, name: str) -> set[str]:
    """The JSON property names of one component schema."""
    return set(_schemas(document)[name].get("properties", {}))


def nested_schemas(document: Document, name: str) -> set[str]:
    """``name`` and every component schema reachable from its properties."""
    found: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        pending.extend(_references(_schemas(document)[current]))
    return found


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        refs = []
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            refs.append(ref.rsplit("/", 1)[1])
        for value in node.values():
            refs.extend(_references(value))
        return refs
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []


def error_codes(document: Document) -> set[str]:
    """Every wire error code: the ``ErrorDetail.code`` enum where the document declares one,
    and in any case every code of the shared exception tree."""
    declared = _schemas(document)["ErrorDetail"]["properties"]["code"].get("enum", [])
    tree = {cls.code for cls in _all_subclasses(errors.CreddError)}
    # Raised by the clients themselves, never sent by the daemon.
    return set(declared) | tree - {"daemon_unavailable", "daemon_timeout", "protocol_error"}


def _all_subclasses(cls: type[errors.CreddError]) -> set[type[errors.CreddError]]:
    found: set[type[errors.CreddError]] = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _all_subclasses(sub)
    return found
