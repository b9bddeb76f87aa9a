"""The API's paths as raw bytes, and the credential name read from one.

Below both the request guards (api/) and the view policy (views/), which read names from the
raw, still percent-encoded path before any router sees it.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from credd_client.errors import InvalidRequest

from .store.records import check_name

STATUS_PATH = b"/v1/status"
LIST_PATH = b"/v1/credentials"
CREDENTIALS_PREFIX = b"/v1/credentials/"
REFRESH_SUFFIX = b"/refresh"
RESTORE_PATH = b"/v1/restore"
IMPORT_PATH = b"/v1/import"
KUBE_PREFIX = b"/v1/kube/"
AWS_PREFIX = b"/v1/aws/"
AWS_LOGIN_SUFFIX = b"/login"
# The paths whose next segment is a credential name, read by the Guards from the raw path.
NAMED_PREFIXES = (CREDENTIALS_PREFIX, KUBE_PREFIX)


def name_from_raw(encoded: bytes) -> str:
    """The credential name of a percent-encoded path segment, checked."""
    try:
        name = unquote_to_bytes(encoded).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("a credential name must be UTF-8 once percent-decoded") from None
    return check_name(name)
