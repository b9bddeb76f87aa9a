"""Property: whatever method, raw path, headers and body a view's socket is sent, anything
outside its patterns is `forbidden` or `not_found`, nothing outside (and no credential but a
plain secret inside) changes, and no answer carries a canary planted outside the view.

Against a real daemon, a read-only and a write view, with a bounded number of examples.
Paths are made the way a path normaliser could be fooled: percent-encodings (of the slash
too, and doubled), dot segments, double slashes, case, Unicode look-alikes and forms.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import secrets
import socket
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credd_client import Client
from tests.adversarial.conftest import add_view
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration

EXAMPLES = 150
RUN = secrets.token_hex(4)
PATTERN = "git:https://example.com/*"
INSIDE = "git:https://example.com/team"
INSIDE_OAUTH = "git:https://example.com/oauth"
OUTSIDE = {
    "git:https://example.com.evil/x": f"OUTA{RUN}",
    "git:https://EXAMPLE.com/team": f"OUTB{RUN}",
    "git:https://example.com": f"OUTC{RUN}",
    "aws:prod": f"OUTD{RUN}",
    "git:https://example.com%2Fteam": f"OUTE{RUN}",
}
OUT_OAUTH = "oauth:corp"
CANARIES = [
    *OUTSIDE.values(),
    f"OUTACCESS{RUN}",
    f"OUTREFRESH{RUN}",
    f"OUTCLIENT{RUN}",
    f"INREFRESH{RUN}",
    f"INCLIENT{RUN}",
]
CREDENTIALS = "/v1/credentials/"
MAX_NAME = 256
# An endpoint nobody listens on: a refresh through the view fails at once, changing nothing.
DEAD_ENDPOINT = "https://127.0.0.1:9/token"


def oauth(access: str, refresh: str, client_secret: str) -> dict[str, Any]:
    return {
        "kind": "oauth2",
        "secret": access,
        "token_endpoint": DEAD_ENDPOINT,
        "client_id": "cli",
        "client_secret": client_secret,
        "refresh_token": refresh,
        "expires_at": "2031-01-01T00:00:00Z",
    }


# --- what is sent ----------------------------------------------------------------------------

NAMES = [INSIDE, INSIDE_OAUTH, *OUTSIDE, OUT_OAUTH, "git:https://example.com/new"]


def _spellings(name: str) -> st.SearchStrategy[str]:
    """Ways to write a name in a path: encoded whole, partly, twice, in another case or form."""
    return st.sampled_from(
        [
            quote(name, safe=""),
            quote(name, safe="/:"),
            quote(quote(name, safe=""), safe=""),
            name,
            quote(name, safe="").lower(),
            quote(name.upper(), safe=""),
            quote(unicodedata.normalize("NFKD", name.replace("e", "é")), safe=""),
            # full-width look-alikes of the slash and the dot
            quote(name.replace("/", "\uff0f").replace(".", "\uff0e"), safe=""),
            quote(name, safe="").replace("%2F", "%2f"),
            quote(name, safe="") + "%00",
            quote(name, safe="") + "%0A",
            quote(name, safe="") + "/",
            quote(name, safe="") + "/..",
            "." + quote(name, safe=""),
        ]
    )


PREFIXES = [
    "/v1/credentials/",
    "/v1//credentials/",
    "//v1/credentials/",
    "/v1/./credentials/",
    "/v1/credentials/./",
    "/v1/credentials//",
    "/V1/credentials/",
    "/v1/Credentials/",
    "/v1/credentials/%2e%2e/",
    "/v1/x/../credentials/",
    "/v1/credentials/../views/",
    "/v1/status/../credentials/",
    "/v1%2Fcredentials%2F",
]
SUFFIXES = ["", "/refresh", "/REFRESH", "/refresh/", "%2Frefresh", "?include=refresh_token"]
OTHER_PATHS = [
    "/v1/status",
    "/v1/credentials",
    "/v1/status/",
    "/v1/credentials?include=refresh_token",
    "/v1/lock",
    "/v1/unlock",
    "/v1/backup",
    "/v1/views",
    "/v1/views/other",
    "/v1/registration?issuer=https%3A%2F%2Fa",
    "/v1/import",
    "/openapi.json",
    "/",
    "*",
    "/v1/credentials/..%2F..%2Fv1%2Flock",
]


@st.composite
def raw_paths(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(OTHER_PATHS))
    name = draw(st.sampled_from(NAMES))
    return (
        draw(st.sampled_from(PREFIXES)) + draw(_spellings(name)) + draw(st.sampled_from(SUFFIXES))
    )


METHODS = st.sampled_from(
    ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "TRACE"]
)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "Prefer",
            "X-Forwarded-For",
            "X-Original-URL",
            "X-HTTP-Method-Override",
            "Accept",
            "Cookie",
        ]
    ),
    st.sampled_from(["wait=0", "127.0.0.1", "/v1/lock", "DELETE", "*/*", "wait=99", "a=b"]),
    max_size=3,
)
BODIES = st.one_of(
    st.just(b""),
    st.sampled_from(
        [
            json.dumps({"secret": "via-view"}).encode(),
            json.dumps({"kind": "secret", "secret": "via-view", "labels": {"a": "b"}}).encode(),
            json.dumps(oauth("a", "r", "c") | {"token_endpoint": "http://127.0.0.1:9/t"}).encode(),
            json.dumps(oauth("a", "r", "c")).encode(),
            json.dumps({"secret": "x", "origin": None}).encode(),
            json.dumps({"secret": "x", "allowed_programs": ["/bin/sh"]}).encode(),
            b'{"secret": "x", "kind": "oauth2"}',
            b"not json",
        ]
    ),
)


def send(
    path: Path, method: str, target: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes]:
    """One raw request (nothing normalised on the way); (status, whole answer)."""
    lines = [f"{method} {target} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(20)
        sock.connect(str(path))
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall("\r\n".join(lines).encode("utf-8") + b"\r\n\r\n" + body)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    answer = b"".join(chunks)
    parts = answer.split(b" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), answer


# --- what must hold --------------------------------------------------------------------------


def outside_name(method: str, target: str) -> str | None:
    """The valid credential name a request plainly addresses, when it is outside the view's
    pattern (a request with a query, or none, or an invalid name: None). A method in lower
    case is not HTTP: the server's parser answers 400 before any policy."""
    if not method.isupper() or not target.startswith(CREDENTIALS) or "?" in target:
        return None
    rest = target[len(CREDENTIALS) :]
    if method == "POST" and rest.endswith("/refresh"):
        rest = rest[: -len("/refresh")]
    try:
        name = unquote(rest, errors="strict")
    except UnicodeDecodeError:
        return None
    if not 1 <= len(name) <= MAX_NAME or not name.isprintable():
        return None
    return None if fnmatch.fnmatchcase(name, PATTERN) else name


def snapshot(main: Client) -> dict[str, Any]:
    """What must not change: every credential outside the view, whole, and the inside oauth2
    one's grant (its refresh may record a failure, nothing else)."""
    seen = {}
    for name in [*OUTSIDE, OUT_OAUTH, INSIDE_OAUTH]:
        credential = main.get(name, include=("refresh_token", "client_secret"))
        fields = credential.to_json()
        if name == INSIDE_OAUTH:
            fields = {
                k: fields.get(k)
                for k in (
                    "kind",
                    "secret",
                    "token_endpoint",
                    "client_id",
                    "client_secret",
                    "refresh_token",
                )
            }
        else:
            fields.pop("status", None)
        seen[name] = fields
    seen["names"] = sorted(c.name for c in main.list())
    return seen


@pytest.mark.parametrize("write", [False, True], ids=["read-only", "write"])
def test_nothing_outside_a_view_is_reached_whatever_is_sent(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], write: bool
) -> None:
    env = headless_credd_env
    with Client(env["CREDD_SOCKET"]) as main:
        check_the_view(env, main, write)


def check_the_view(env: dict[str, str], main: Client, write: bool) -> None:
    main.put(INSIDE, {"secret": "inside"})
    main.put(INSIDE_OAUTH, oauth("in-access", f"INREFRESH{RUN}", f"INCLIENT{RUN}"))
    for name, value in OUTSIDE.items():
        main.put(name, {"secret": value})
    main.put(OUT_OAUTH, oauth(f"OUTACCESS{RUN}", f"OUTREFRESH{RUN}", f"OUTCLIENT{RUN}"))
    view = add_view(env, "prop", "--allow", PATTERN, *(["--write"] * write))
    before = snapshot(main)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(method=METHODS, target=raw_paths(), headers=HEADERS, body=BODIES)
    def check(method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        status, answer = send(view, method, target, headers, body)
        text = answer.decode("utf-8", "replace")
        for canary in CANARIES:
            assert canary not in text, f"{method} {target}: a canary crossed the view"
        assert status in (200, 204, 400, 403, 404, 405, 422), f"{method} {target}: {status}"
        outside = outside_name(method, target)
        if outside is not None:
            assert status in (403, 404), f"{method} {target} ({outside!r}): {status}"
        payload = answer.split(b"\r\n\r\n", 1)[1]
        if status < 300 and payload:
            document = json.loads(payload)
            listed = document.get("credentials")
            named = [document] if "name" in document else listed if isinstance(listed, list) else []
            for credential in named:
                assert credential["name"].startswith("git:https://example.com/"), target
        after = snapshot(main)
        for key in before.keys() - {"names"}:
            assert after[key] == before[key], f"{method} {target} changed {key}"
        # Names come and go inside the view only, and only through a write view.
        changed = set(after["names"]) ^ set(before["names"])
        assert all(n.startswith("git:https://example.com/") for n in changed), changed
        if not write:
            assert changed == set(), changed

    check()
