"""A `keyring` backend that stores and reads through credd: `keyring get`, pip, twine, ...

Select it explicitly (it is never picked by surprise):

    export PYTHON_KEYRING_BACKEND=credd_client.keyring_backend.CreddKeyring

or ``default-keyring = credd_client.keyring_backend.CreddKeyring`` under ``[backend]`` in
``keyringrc.cfg``. Its priority is below keyring's ``fail`` backend (0) and ``null`` backend
(-1): keyring's automatic choice and its chainer (which chains backends above 0) never pick
it. The daemon never uses it for its own key either: it instantiates the OS backends by class.

This module alone imports `keyring`; the `credd_client` package never imports it.
An item (service, username) is the credential ``keyring:<username>@<service>`` with the
label ``service``; see `credd_client.names`.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential
from keyring.errors import KeyringError, PasswordDeleteError, PasswordSetError

from .client import Client
from .errors import CreddError, NotFound
from .names import KEYRING_PREFIX, keyring_name

PRIORITY = -2.0
SERVICE_LABEL = "service"


class CreddKeyring(KeyringBackend):
    """Passwords kept by the credd daemon of this user."""

    priority = PRIORITY  # keyring reads it on the class

    def get_password(self, service: str, username: str) -> str | None:
        try:
            with Client() as client:
                return client.get(keyring_name(service, username)).secret
        except NotFound:
            return None
        except CreddError as exc:
            raise KeyringError(f"credd: {exc.message}") from None

    def set_password(self, service: str, username: str, password: str) -> None:
        body = {
            "kind": "secret",
            "secret": password,
            "username": username,
            "labels": {SERVICE_LABEL: service},
        }
        try:
            with Client() as client:
                client.put(keyring_name(service, username), body)
        except CreddError as exc:
            raise PasswordSetError(f"credd: {exc.message}") from None

    def delete_password(self, service: str, username: str) -> None:
        try:
            with Client() as client:
                client.delete(keyring_name(service, username))
        except NotFound:
            raise PasswordDeleteError(
                f"credd holds no password for {username!r} at {service!r}"
            ) from None
        except CreddError as exc:
            raise PasswordDeleteError(f"credd: {exc.message}") from None

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        """The credential for ``service``; with no username, the most recently updated one."""
        try:
            with Client() as client:
                if username is not None:
                    found = client.get(keyring_name(service, username))
                else:
                    candidates = [
                        c
                        for c in client.list()
                        if c.name.startswith(KEYRING_PREFIX)
                        and c.labels.get(SERVICE_LABEL) == service
                        and c.name == keyring_name(service, c.username)
                    ]
                    if not candidates:
                        return None
                    latest = max(candidates, key=lambda c: c.updated_at or "")
                    found = client.get(latest.name)
        except NotFound:
            return None
        except CreddError as exc:
            raise KeyringError(f"credd: {exc.message}") from None
        if found.secret is None:
            return None
        return SimpleCredential(found.username or username or "", found.secret)
