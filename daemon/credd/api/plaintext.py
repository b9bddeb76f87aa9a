"""`Accept: text/plain` on `GET /v1/credentials/{name}`: the secret alone, as the body.

A caller that wants only the secret (`credd get NAME`, the helpers) then needs no JSON
decoder. Only a successful answer is plain text; every error is still the JSON envelope.
The fast path and the route both answer through here, so the two cannot differ.
"""

from __future__ import annotations

from fastapi.responses import Response

from credd_client.errors import InvalidRequest

from ..store.records import Credential

TEXT_PLAIN = "text/plain"
# What the OpenAPI document says the route answers besides the JSON credential.
OPENAPI_TEXT_ANSWER = {
    "description": "The credential with its secret; with `Accept: text/plain` (and not "
    "application/json), the secret alone: UTF-8, no newline added",
    "content": {TEXT_PLAIN: {"schema": {"type": "string"}}},
}


def wants_plain_secret(accept: str | None) -> bool:
    """Whether an Accept header names text/plain and not application/json.

    Deliberately plain: no quality values weighed. A client asks for one of the two.
    """
    if not accept:
        return False
    types = {item.split(";", 1)[0].strip().lower() for item in accept.split(",")}
    return TEXT_PLAIN in types and "application/json" not in types


def plain_secret(credential: Credential) -> Response:
    secret = credential.served_secret
    if secret is None:
        command = "aws" if credential.aws is not None else "kube"
        raise InvalidRequest(
            f"{credential.name!r} is a {credential.kind} credential whose secret credd serves "
            f"only to the tool that uses it: `credd {command} NAME` answers it"
        )
    return Response(secret, media_type=TEXT_PLAIN)
