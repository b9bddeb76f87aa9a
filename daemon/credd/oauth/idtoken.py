"""An OpenID Connect ID token's expiry, read without verifying it. Sans I/O.

credd is the client here: the token's audience (a Kubernetes API server) verifies the
signature. credd only needs `exp`, to refresh before the token stops working.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` claim of a JWS compact token; None when it has none or is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None
