"""A real authorization server (oidc-provider, from npm) for the OAuth tests, and a browser.

    with OAuthServer(access_token_ttl=5) as server:   # `node tests/oauth_server/server.mjs`
        server.issuer                                 # http://127.0.0.1:<port>
        server.fault("503", count=3)                  # the next 3 token requests fail
        server.stats()["refresh_requests"]

`complete_login(url)` plays the browser: it follows the authorization (or device
verification) address, fills in the provider's development login and consent forms, and
follows the redirects, the last one to credd's loopback listener.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import httpx

SERVER_DIR = Path(__file__).resolve().parent.parent / "oauth_server"
_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_INPUT = re.compile(r"<input\b([^>]*)>", re.S | re.I)


class OAuthServer:
    def __init__(
        self, node: str, access_token_ttl: int = 5, grant_ttl: int = 3600, id_token_ttl: int = 3600
    ) -> None:
        self.node = node
        self.access_token_ttl = access_token_ttl
        self.grant_ttl = grant_ttl
        self.id_token_ttl = id_token_ttl
        self.proc: subprocess.Popen[str] | None = None
        self.issuer = ""
        self.log: list[str] = []

    def __enter__(self) -> OAuthServer:
        self.proc = subprocess.Popen(
            [self.node, str(SERVER_DIR / "server.mjs")],
            cwd=SERVER_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={
                "ACCESS_TOKEN_TTL": str(self.access_token_ttl),
                "GRANT_TTL": str(self.grant_ttl),
                "ID_TOKEN_TTL": str(self.id_token_ttl),
                "PATH": "/usr/bin:/bin",
            },
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # blocks until the server listens (or dies)
        if not first:
            code = self.proc.wait(10)
            raise RuntimeError(f"the OAuth server exited with {code} before it listened")
        self.issuer = json.loads(first)["issuer"]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def _control(self, method: str, path: str) -> dict[str, Any]:
        response = httpx.request(method, self.issuer + path, timeout=10)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def stats(self) -> dict[str, Any]:
        return self._control("GET", "/test/stats")

    def fault(self, mode: str, count: int, ms: int = 3000) -> None:
        """The next ``count`` token requests: "503", "hang" (never handled) or "delay" by ms."""
        self._control("POST", f"/test/fault?mode={mode}&count={count}&ms={ms}")

    def reset(self) -> None:
        self._control("POST", "/test/reset")

    def introspect(self, token: str, client_id: str, client_secret: str) -> dict[str, Any]:
        response = httpx.post(
            self.issuer + "/token/introspection",
            data={"token": token},
            auth=(client_id, client_secret),
            timeout=10,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def revoke(self, token: str, client_id: str, client_secret: str) -> None:
        """RFC 7009; for a refresh token, oidc-provider revokes the whole grant."""
        response = httpx.post(
            self.issuer + "/token/revocation",
            data={"token": token, "token_type_hint": "refresh_token"},
            auth=(client_id, client_secret),
            timeout=10,
        )
        response.raise_for_status()


def _fields(form_body: str) -> dict[str, str]:
    fields = {}
    for raw in _INPUT.findall(form_body):
        attrs = dict(_ATTR.findall(raw))
        if "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def complete_login(url: str, account: str = "alice", max_steps: int = 20) -> httpx.Response:
    """Follow ``url`` as a browser would, submitting every login and consent form.

    Returns the last response: credd's loopback page for a code flow, the provider's
    "success" page for the device flow.
    """
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        response = browser.get(url)
        for _ in range(max_steps):
            match = _FORM.search(response.text)
            if match is None or response.url.host != httpx.URL(url).host:
                return response
            attrs = dict(_ATTR.findall(match.group(1)))
            fields = _fields(match.group(2))
            if "login" in fields or 'name="login"' in match.group(2):
                fields.update(login=account, password="any")
            action = urljoin(str(response.url), html.unescape(attrs.get("action", "")))
            response = browser.post(action, data=fields)
        raise AssertionError(f"the login did not finish in {max_steps} steps")
