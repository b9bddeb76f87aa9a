"""`python -m benchmarks.soak` (`make soak`): background refresh under faults, for a while.

One `oauth2` credential, logged in with the project's real authorization server
(oidc-provider, refresh token rotation on, reuse revokes the grant), its token endpoint
reached through a proxy (tests/support/token_proxy.py) that the soak switches to fail. For
SOAK_LIFETIMES access token lifetimes (default 30; 720 for a release: a month of hourly
tokens) of SOAK_LIFETIME seconds each (default 4), it runs `credd get` again and again while
it injects, at random (SOAK_SEED), one fault at a time, of these kinds (SOAK_FAULTS, a comma
separated list, picks some):

    503     a storm: the endpoint answers 503 for 0.5 to 2 lifetimes
    hang    the endpoint takes each request and answers nothing, for 0.5 to 2 lifetimes
    sigterm the daemon is stopped (SIGTERM) and started again
    sigkill the daemon is killed (SIGKILL) and started again
    window  (only when SOAK_FAULTS names it) a SIGKILL aimed at the window: once the server
            has answered a refresh, before the daemon has the answer; the grant is lost by
            design, and the soak shows it attributed and counted

and checks:

- every token `credd get` prints is valid at the server (introspection, right after);
- no `credd get` takes longer than the daemon's bound plus a process's start (GET_LIMIT);
- `credd get` exits only 0, or 1 with `refresh_failed`'s message;
- the grant is intact at the end (a last forced refresh works), and any grant lost on the
  way is explained: its refresh token was presented again after the server had answered it,
  and a SIGKILL fell between that answer and the next request (the daemon died before the
  rotated token was durably stored: it cannot know the server rotated, and after the token
  expires it tries the old one once; see daemon/credd/oauth/schedule.py). Such losses are
  counted, the soak logs in again and goes on; any other loss fails the run.

It prints one line of figures and exits 1 if any check failed (each failure on stderr);
SOAK_VERBOSE=1 also prints every get and fault as it happens.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.daemon import DaemonProcess
from tests.support.oauth_server import SERVER_DIR, OAuthServer, complete_login
from tests.support.token_proxy import TokenProxy, route_through

from credd.oauth.schedule import DEFAULT_WAIT
from credd_client import Client

from .environment import Environment, Sizes

NAME = "soak"
# A `credd get` is a whole process: its start, and an unlock after a restart, on a shared
# machine. The daemon's own wait is what `credd get` asks for (Prefer: wait=8, its timeout
# of 10 s less 2).
PROCESS_ALLOWANCE = 2.0
GET_LIMIT = DEFAULT_WAIT + PROCESS_ALLOWANCE
FAULT_CHANCE = 0.05  # per `credd get`, when no fault is on
KINDS = ("503", "hang", "sigterm", "sigkill")
AIMED = "window"
VERBOSE = os.environ.get("SOAK_VERBOSE") == "1"  # every get and fault on stderr
REFRESHED_MESSAGES = ("has expired and refreshing failed", "has expired and its refresh is")


@dataclass
class Figures:
    lifetimes: int
    lifetime: int
    gets: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    slowest: float = 0.0
    lost_in_window: int = 0
    lost_unexplained: int = 0
    late_checks: int = 0  # tokens that expired between the answer and the introspection
    failures: list[str] = field(default_factory=list)

    def line(self, refreshes: int) -> str:
        kinds = KINDS + ((AIMED,) if self.faults[AIMED] else ())
        faults = " ".join(f"{kind}={self.faults[kind]}" for kind in kinds)
        return (
            f"soak: lifetimes={self.lifetimes} ({self.lifetime} s) refreshes={refreshes} "
            f"faults: {faults} gets={sum(self.gets.values())} (ok={self.gets['ok']} "
            f"refresh_failed={self.gets['refresh_failed']}) "
            f"slowest_get={self.slowest:.2f} s (limit {GET_LIMIT:g} s) "
            f"grants_lost={self.lost_in_window + self.lost_unexplained} "
            f"(in the kill window: {self.lost_in_window}) failures={len(self.failures)}"
        )


class Soak:
    def __init__(
        self,
        env: Environment,
        lifetimes: int,
        lifetime: int,
        rng: random.Random,
        kinds: tuple[str, ...] = KINDS,
    ) -> None:
        self.world = env
        self.kinds = kinds
        self.rng = rng
        self.figures = Figures(lifetimes, lifetime)
        self.env = env.credd_env()
        self.home = Path(self.env["CREDD_HOME"])
        self.home.mkdir(mode=0o700, parents=True)
        # A hung refresh gives up after 5 s, so a SIGTERM (which lets refreshes in flight
        # finish) stops the daemon within DaemonProcess.stop's 10 s.
        (self.home / "config.toml").write_text("refresh_timeout = 5\n")
        node = shutil.which("node")
        if node is None or not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise SystemExit("the soak needs node and oidc-provider: run `make oauth-server`")
        self.server = OAuthServer(node, lifetime, grant_ttl=7 * 24 * 3600).__enter__()
        env.defer(_Closing(self.server))
        self.proxy = TokenProxy(self.server.issuer + "/token").__enter__()
        env.defer(_Closing(self.proxy))
        self.daemon = self._start()
        self.kills: list[float] = []
        self.exp: dict[str, float] = {}  # token -> its expiry at the server (Unix time)
        self.client_id = self.client_secret = ""

    # --- the daemon and the login ------------------------------------------------------------

    def _start(self) -> DaemonProcess:
        return self.world.daemon(self.env)  # stopped with the environment if still running

    def login(self) -> None:
        program = shutil.which("credd", path=self.env["PATH"])
        assert program is not None
        args = [program, "login", NAME, "--issuer", self.server.issuer, "--scope", "openid"]
        proc = subprocess.Popen(
            [*args, "--no-browser", "--timeout", "60"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith(("  http", "  or open http")):
                complete_login(line.split()[-1])
                break
        _, err = proc.communicate(timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"credd login failed: {err}")
        self.proxy.mode = "pass"
        route_through(self.env["CREDD_SOCKET"], NAME, self.proxy.url)
        with Client(self.env["CREDD_SOCKET"]) as client:
            credential = client.get(NAME, include=("client_secret",))
        self.client_id = credential.client_id or ""
        self.client_secret = credential.client_secret or ""

    # --- faults ----------------------------------------------------------------------------------

    def fault(self) -> float | None:
        """Inject one fault; for a timed one, when it ends (monotonic), else None."""
        kind = self.rng.choice(self.kinds)
        self.figures.faults[kind] += 1
        if VERBOSE:
            print(f"fault {kind}", file=sys.stderr)
        lifetime = self.figures.lifetime
        if kind in ("503", "hang"):
            self.proxy.mode = "503" if kind == "503" else "hang"
            return time.monotonic() + lifetime * self.rng.uniform(0.5, 2.0)
        if kind == "sigterm":
            code = self.daemon.stop()
            if code != 0:
                self.fail(f"credd serve exited with {code} on SIGTERM")
        elif kind == AIMED:
            self.kill_in_the_window()
        else:
            self.kills.append(time.monotonic())
            self.daemon.kill()
            # Requests the dead daemon had forwarded still get their answers.
            deadline = time.monotonic() + 30
            while self.proxy.forwarding and time.monotonic() < deadline:
                time.sleep(0.01)
        self.daemon = self._start()
        return None

    def kill_in_the_window(self) -> None:
        fired = threading.Event()
        daemon = self.daemon

        def kill() -> None:  # in the proxy's thread, the server's answer in hand
            self.proxy.on_answer = None
            self.kills.append(time.monotonic())
            daemon.kill()
            fired.set()

        self.proxy.on_answer = kill
        if not fired.wait(3 * self.figures.lifetime):  # no refresh came: an ordinary kill
            self.proxy.on_answer = None
            if not fired.is_set():
                self.kills.append(time.monotonic())
                daemon.kill()

    def end_fault(self) -> None:
        self.proxy.mode = "pass"
        self.proxy.release()

    # --- checks ----------------------------------------------------------------------------------

    def fail(self, what: str) -> None:
        self.figures.failures.append(what)
        print(f"soak: FAILED: {what}", file=sys.stderr, flush=True)

    def get(self) -> None:
        started = time.monotonic()
        ran = subprocess.run(
            ["credd", "get", NAME],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        took = time.monotonic() - started
        returned = time.time()
        if VERBOSE:
            print(f"  get {ran.returncode} {took:.2f}s {ran.stderr.strip()}", file=sys.stderr)
        self.figures.slowest = max(self.figures.slowest, took)
        if took > GET_LIMIT:
            self.fail(f"a `credd get` took {took:.2f} s (limit {GET_LIMIT:g} s)")
        if ran.returncode == 0:
            self.figures.gets["ok"] += 1
            self.check_token(ran.stdout.strip(), returned, took)
        elif ran.returncode == 1 and any(m in ran.stderr for m in REFRESHED_MESSAGES):
            self.figures.gets["refresh_failed"] += 1
        elif ran.returncode == 5:
            self.figures.gets["needs_login"] += 1
            self.grant_lost(ran.stderr.strip())
        else:
            self.figures.gets[f"exit {ran.returncode}"] += 1
            self.fail(f"`credd get` exited {ran.returncode}: {ran.stderr.strip()}")

    def check_token(self, token: str, returned: float, took: float) -> None:
        answer = self.server.introspect(token, self.client_id, self.client_secret)
        if answer.get("active") is True:
            self.exp[token] = float(answer["exp"])
            return
        # Expired between the answer and this check (the machine is shared): tolerated only
        # for a token the server confirmed earlier, whose expiry came after the get began.
        exp = self.exp.get(token)
        if exp is not None and exp >= returned - took:
            self.figures.late_checks += 1
            return
        self.fail("`credd get` printed a token the server does not take")

    def grant_lost(self, message: str) -> None:
        """Explained only by a SIGKILL between the server's answer and the next request."""
        answered: dict[str, float] = {}  # refresh token -> when the request the server took left
        reuse: tuple[float, float] | None = None
        for exchange in list(self.proxy.exchanges):
            if exchange.presented is None:
                continue
            if exchange.presented in answered:  # the last one is what cost this grant
                reuse = (answered[exchange.presented], exchange.sent)
            if exchange.status == 200:
                answered.setdefault(exchange.presented, exchange.sent)
        if reuse is not None and any(reuse[0] <= kill <= reuse[1] for kill in self.kills):
            self.figures.lost_in_window += 1
        else:
            self.figures.lost_unexplained += 1
            self.fail(f"the grant was lost with no SIGKILL to explain it: {message}")
        self.login()

    def final(self) -> None:
        self.end_fault()
        deadline = time.monotonic() + 60
        while True:  # an unknown outcome waits for expiry and a backoff step; then it works
            forced = subprocess.run(
                ["credd", "refresh", NAME],
                env=self.env,
                capture_output=True,
                text=True,
                check=False,
            )
            if forced.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        if forced.returncode != 0:
            self.fail(f"the grant is not intact at the end: {forced.stderr.strip()}")
        code = self.daemon.stop()
        if code != 0:
            self.fail(f"credd serve exited with {code} at the end")

    # --- the run ---------------------------------------------------------------------------------

    def run(self) -> None:
        self.login()
        end = time.monotonic() + self.figures.lifetimes * self.figures.lifetime
        fault_ends: float | None = None
        while time.monotonic() < end:
            if fault_ends is not None and time.monotonic() >= fault_ends:
                self.end_fault()
                fault_ends = None
            if fault_ends is None and self.rng.random() < FAULT_CHANCE:
                fault_ends = self.fault()
            self.get()
            time.sleep(self.rng.uniform(0.05, 0.3))
        self.final()

    def refreshes(self) -> int:
        return sum(1 for e in self.proxy.exchanges if e.status == 200 and e.presented)


class _Closing:
    """A context manager that closes an object already entered (for Environment.defer)."""

    def __init__(self, thing: OAuthServer | TokenProxy) -> None:
        self.thing = thing

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        self.thing.__exit__(None, None, None)


def main() -> int:
    lifetimes = int(os.environ.get("SOAK_LIFETIMES", "30"))
    lifetime = int(os.environ.get("SOAK_LIFETIME", "4"))
    seed = int(os.environ.get("SOAK_SEED", str(random.randrange(1 << 32))))
    kinds = tuple(os.environ.get("SOAK_FAULTS", ",".join(KINDS)).split(","))
    if not kinds or not set(kinds) <= {*KINDS, AIMED}:
        raise SystemExit(f"SOAK_FAULTS: a comma separated list of {', '.join(KINDS)}, {AIMED}")
    print(
        f"soak: {lifetimes} lifetimes of {lifetime} s (about {lifetimes * lifetime / 60:.0f} "
        f"min), SOAK_SEED={seed}",
        file=sys.stderr,
        flush=True,
    )
    with Environment(Sizes.quick()) as env:
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = env.env["DBUS_SESSION_BUS_ADDRESS"]
        soak = Soak(env, lifetimes, lifetime, random.Random(seed), kinds)
        try:
            soak.run()
        finally:
            print(soak.figures.line(soak.refreshes()), flush=True)
    return 1 if soak.figures.failures else 0


if __name__ == "__main__":
    sys.exit(main())
