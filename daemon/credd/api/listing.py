"""`GET /v1/credentials`, answered here for the fast path, the route and a view alike.

Every credential's metadata; with `?fields=name,kind` only those fields of each (a partial
response, as Google's APIs call it), each present, null where the credential has none. What
`credd list` prints of 10,000 credentials is then a third of the bytes to send and to decode.
A field that is never listed (a secret) or unknown is `invalid_request`.

The main socket's answers join each credential's JSON kept with the store's state
(store/encoded.py), for the full form and a few field sets; a view's, which holds only the
matching names, are rendered each time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import parse_qsl

from credd_client.errors import InvalidRequest

from ..store.encoded import EncodedForms
from ..store.records import Credential
from .models import SECRET_INCLUDES, CredentialOut, render_credential

# What a list item may carry: every field of a credential but its secret values.
LISTED_FIELDS = frozenset(CredentialOut.model_fields) - SECRET_INCLUDES - {"secret"}
_LISTED = "(" + "|".join(sorted(LISTED_FIELDS)) + ")"
# What the OpenAPI document says of `fields`; `parse_fields` checks the same, and names what
# is wrong.
FIELDS_PATTERN = f"^ *{_LISTED} *(, *{_LISTED} *)*$"
FIELDS_DESCRIPTION = (
    "comma-separated fields: each listed credential carries only these (null where it has "
    "none); any field but the secret ones"
)


def fields_from_query(query: bytes) -> tuple[str, ...] | None:
    """The fields a list's query string asks for; None for all. `invalid_request` for any
    other parameter (a view's list takes this query and no other)."""
    if not query:
        return None
    try:
        pairs = parse_qsl(query.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("a malformed query string") from None
    if len(pairs) != 1 or pairs[0][0] != "fields":
        raise InvalidRequest("a list takes one query parameter, fields")
    return parse_fields(pairs[0][1])


def parse_fields(text: str) -> tuple[str, ...]:
    fields = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [field for field in fields if field not in LISTED_FIELDS]
    if not fields or unknown:
        raise InvalidRequest(
            f"fields takes names of listed fields ({', '.join(sorted(LISTED_FIELDS))})"
            + (f"; not {', '.join(unknown)}" if unknown else "")
        )
    return fields


def listed_body(
    credentials: Iterable[Credential],
    fields: tuple[str, ...] | None,
    cache: EncodedForms | None = None,
) -> bytes:
    """The answer's JSON; each credential's part reused from ``cache`` when given."""

    def encode(credential: Credential) -> bytes:
        rendered = render_credential(credential, with_secret=False)
        item = rendered if fields is None else {field: rendered.get(field) for field in fields}
        return _compact_json(item)

    if cache is None:
        parts = [encode(credential) for credential in credentials]
    else:
        form = "listed" if fields is None else "listed:" + ",".join(fields)
        parts = cache.encode_all(form, credentials, encode)
    return b'{"credentials":[' + b",".join(parts) + b"]}"


def _compact_json(item: dict[str, object]) -> bytes:
    """What `JSONResponse` makes of a value (its very `json.dumps` call)."""
    return json.dumps(
        item, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")
