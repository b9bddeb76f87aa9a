"""Change events: versions on the wire, `GET /v1/events` and the Python client's `watch`,
against the real daemon."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from credd_client import Client, CreddError, InvalidRequest
from credd_client.watch import Event, Watch
from tests.integration.test_oauth import login, run_daemon, start_server
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.oauth_server import OAuthServer

pytestmark = pytest.mark.integration

__all__ = ["run_daemon", "start_server"]  # the OAuth tests' fixtures, used here too

WAIT = 10.0


class Collected:
    """A `watch` running in a thread; its events in a queue."""

    def __init__(self, client: Client, watch: Watch) -> None:
        self.client = client
        self.watch = watch
        self.events: queue.Queue[Event] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for event in self.watch:
            self.events.put(event)

    def next(self, timeout: float = WAIT) -> Event:
        return self.events.get(timeout=timeout)

    def until(self, wanted: Event, timeout: float = WAIT) -> list[Event]:
        """Every event up to and with ``wanted``."""
        seen = []
        deadline = time.monotonic() + timeout
        while not seen or seen[-1] != wanted:
            seen.append(self.next(max(0.01, deadline - time.monotonic())))
        return seen

    def close(self) -> None:
        self.watch.close()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        self.client.close()


@pytest.fixture
def client(headless_daemon: DaemonProcess) -> Iterator[Client]:
    with Client(str(headless_daemon.socket)) as client:
        yield client


def watching(socket_path: Path | str, names: list[str] | None = None, holder: str | None = None):  # type: ignore[no-untyped-def]
    client = Client(str(socket_path))
    collected = Collected(client, client.watch(names, holder=holder))
    _wait_for_watchers(Path(socket_path), at_least=1)
    return collected


def _wait_for_watchers(socket_path: Path, at_least: int) -> list[dict[str, object]]:
    """The watchers `GET /v1/status` lists, once there are enough (a watch is connected)."""
    deadline = time.monotonic() + WAIT
    with Client(str(socket_path)) as client:
        while True:
            watchers = client.status().raw.get("watchers") or []
            if len(watchers) >= at_least or time.monotonic() > deadline:
                return list(watchers)
            time.sleep(0.02)


def test_get_and_list_return_a_version_bumped_by_every_change(
    headless_daemon: DaemonProcess, client: Client
) -> None:
    assert client.set_secret("a", "one").version == 1
    assert client.set_secret("a", "two").version == 2
    client.set_secret("b", "other")
    assert client.get("a").version == 2
    assert {c.name: c.version for c in client.list()} == {"a": 2, "b": 1}
    client.close()
    assert headless_daemon.stop() == 0
    restarted = DaemonProcess(headless_daemon.home, headless_daemon.socket, headless_daemon.env)
    with restarted, Client(str(headless_daemon.socket)) as again:
        assert again.get("a").version == 2  # durable
        assert again.set_secret("a", "three").version == 3


def test_a_watcher_sees_changes_deletions_and_locks_by_name_and_version(
    headless_daemon: DaemonProcess, client: Client
) -> None:
    watch = watching(headless_daemon.socket)
    try:
        client.set_secret("a", "one")
        client.set_secret("a", "two")
        client.delete("a")
        client.lock()
        client.unlock()
        assert watch.until(Event("unlocked")) == [
            Event("changed", "a", 1),
            Event("changed", "a", 2),
            Event("deleted", "a", 2),
            Event("locked"),
            Event("unlocked"),
        ]
    finally:
        watch.close()


def test_an_event_comes_only_once_its_change_is_durable(
    headless_daemon: DaemonProcess, client: Client
) -> None:
    watch = watching(headless_daemon.socket, ["durable"])
    try:
        client.set_secret("durable", "first")
        assert watch.next() == Event("changed", "durable", 1)
        writer = threading.Thread(target=_set_until_killed, args=(client, "durable", "second"))
        writer.start()
        event = watch.next()
        headless_daemon.kill()  # at once: nothing after the event gets a chance to run
        writer.join(WAIT)
    finally:
        watch.close()
    assert event == Event("changed", "durable", 2)
    restarted = DaemonProcess(headless_daemon.home, headless_daemon.socket, headless_daemon.env)
    with restarted, Client(str(headless_daemon.socket)) as again:
        stored = again.get("durable")
        assert (stored.secret, stored.version) == ("second", 2)


def _set_until_killed(client: Client, name: str, secret: str) -> None:
    """A write whose daemon may be killed before it answers: the event can come first (it
    waits only for the change to be durable), and the kill follows the event at once."""
    with contextlib.suppress(CreddError):
        client.set_secret(name, secret)


def test_the_watch_resumes_after_a_restart_and_catches_up_by_versions(
    headless_daemon: DaemonProcess, client: Client, short_tmp: Path
) -> None:
    client.set_secret("kept", "1")
    client.set_secret("moved", "1")
    client.set_secret("gone", "1")
    watch = watching(headless_daemon.socket, ["kept", "moved", "gone", "new"], holder="exec")
    _wait_for_watchers(headless_daemon.socket, 2)  # three open streams do not hold the stop
    started = time.monotonic()
    client.close()
    assert headless_daemon.stop() == 0
    assert time.monotonic() - started < 5.0
    # Meanwhile another daemon of the same store, on another socket, changes it.
    other = DaemonProcess(headless_daemon.home, short_tmp / "o" / "o.sock", headless_daemon.env)
    with other, Client(str(other.socket)) as elsewhere:
        elsewhere.set_secret("moved", "2")
        elsewhere.delete("gone")
        elsewhere.set_secret("new", "1")
    assert other.stop() == 0
    try:
        with DaemonProcess(headless_daemon.home, headless_daemon.socket, headless_daemon.env):
            caught_up = {watch.next(), watch.next(), watch.next()}
            assert caught_up == {
                Event("changed", "moved", 2),
                Event("deleted", "gone", 1),
                Event("changed", "new", 1),
            }
            with Client(str(headless_daemon.socket)) as again:
                again.set_secret("kept", "2")
                assert watch.next() == Event("changed", "kept", 2)  # live again
    finally:
        watch.close()


def test_a_views_stream_carries_no_name_outside_the_view(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], client: Client
) -> None:
    result = credd(headless_credd_env, "view", "add", "box", "--allow", "git:*")
    assert result.returncode == 0, result.stderr
    view_socket = Path(result.stdout.strip())
    watch = watching(view_socket)
    try:
        client.set_secret("private", "x")
        client.set_secret("git:https://example.com", "y")
        client.set_secret("docker:registry", "z")
        client.delete("private")
        client.set_secret("git:https://example.com/2", "y")
        assert watch.until(Event("changed", "git:https://example.com/2", 1)) == [
            Event("changed", "git:https://example.com", 1),
            Event("changed", "git:https://example.com/2", 1),
        ]
        with Client(str(view_socket)) as through_view:
            assert through_view.status().raw["watchers"] is None
            with pytest.raises(InvalidRequest):  # a name it does not hold is still checked
                list(through_view.watch(["bad\nname"]))
        watchers = _wait_for_watchers(headless_daemon.socket, 1)
        assert [w["view"] for w in watchers] == ["box"]
    finally:
        watch.close()


def _open_raw_stream(socket_path: Path, query: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    sock.connect(str(socket_path))
    sock.sendall(f"GET /v1/events{query} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    return sock


def test_heartbeats_and_status_show_who_holds_what(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    with _open_raw_stream(headless_daemon.socket, "?name=work&name=x%2Fy&holder=exec") as sock:
        opening = sock.recv(65536)
        while b": heartbeat" not in opening:
            opening += sock.recv(65536)
        assert opening.startswith(b"HTTP/1.1 200")
        assert b"text/event-stream" in opening
        assert b": heartbeat" in opening  # at once: the watcher knows it is connected
        started = time.monotonic()
        assert b": heartbeat" in sock.recv(65536)
        assert 3.0 < time.monotonic() - started < 8.0  # about every 5 s
        status = json.loads(credd(headless_credd_env, "status", "--json").stdout)
        [watcher] = status["watchers"]
        assert watcher["pid"] == os.getpid()
        assert (watcher["holder"], watcher["names"]) == ("exec", ["work", "x/y"])
        text = credd(headless_credd_env, "status").stdout
        assert f"work: exec pid {os.getpid()}" in text
        assert f"x/y: exec pid {os.getpid()}" in text


@pytest.mark.parametrize(
    ("query", "why"),
    [("?holder=EXEC%21", "holder"), ("?name=", "name"), ("?name=a%0Ab", "printable")],
)
def test_bad_watch_requests_are_refused_clearly(
    headless_daemon: DaemonProcess, query: str, why: str
) -> None:
    with _open_raw_stream(headless_daemon.socket, query) as sock:
        answer = sock.recv(65536)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            answer += sock.recv(65536)  # the head and the body may come apart
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.1 400", b"HTTP/1.1 422")), head
    assert why in body.decode()


def test_oauth_refreshes_against_a_real_server_arrive_as_refreshed_events(
    start_server: Callable[[int], OAuthServer],
    run_daemon: Callable[..., DaemonProcess],
    headless_credd_env: dict[str, str],
) -> None:
    """Three-second tokens at the project's OAuth server: each refresh is one `refreshed`
    event, and a get on it answers the new token at that version."""
    server = start_server(3)
    daemon = run_daemon()
    assert login(headless_credd_env, "oauth/x", server.issuer).returncode == 0
    watch = watching(daemon.socket, ["oauth/x"], holder="exec")
    tokens = []
    try:
        with Client(str(daemon.socket)) as client:
            versions = []
            while len(tokens) < 3:
                event = watch.next(timeout=30)
                if event.type != "refreshed":
                    continue  # a refresh's bookkeeping (started, scheduled) is `changed`
                got = client.get("oauth/x")
                assert got.version is not None
                assert got.version >= (event.version or 0)
                versions.append(event.version)
                if got.secret not in tokens:
                    tokens.append(got.secret)
        assert versions == sorted(set(versions))
    finally:
        watch.close()
