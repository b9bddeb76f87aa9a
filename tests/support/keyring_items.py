"""Look inside the test Secret Service with `secret-tool`, independently of credd."""

from __future__ import annotations

import os
import subprocess

from tests.support.requirements import require_program
from tests.support.secret_service import SecretService


def lookup(service: SecretService, service_name: str, account: str) -> str | None:
    """The secret keyring stores for (service, username), or None when there is no item."""
    program = require_program("secret-tool")
    result = subprocess.run(
        [program, "lookup", "service", service_name, "username", account],
        env={**os.environ, **service.env},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return result.stdout if result.returncode == 0 and result.stdout else None
